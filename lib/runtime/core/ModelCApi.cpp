//===- ModelCApi.cpp - The C API of a model compiled with --emit=lib ------===//

#include "cuda/CudaDriver.h"
#include "Model.h"
#include "Npy.h"
#include "cpu/ThreadPool.h"

#include "moec-runtime/model_abi.h"
#include "moec-runtime/moec_model.h"

#include <cstring>
#include <dlfcn.h>
#include <mutex>

using namespace moec::rt;

struct moec_model {
  Model model;
  // moec_model_run is not known to be reentrant: one run at a time.
  std::mutex runMutex;
};

namespace {
thread_local std::string lastError;

moec_status fail(moec_status status, std::string message) {
  lastError = std::move(message);
  return status;
}

// The directory of the shared object (or executable) that holds the model.
std::string modelDirectory() {
  Dl_info info;
  if (!dladdr(static_cast<const void *>(moec_model_info), &info) || !info.dli_fname)
    return ".";
  std::string path = info.dli_fname;
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

const TensorSpec *spec(const moec_model *model, moec_io io, size_t index) {
  if (!model)
    return nullptr;
  const ModelInfo &info = model->model.info();
  const auto &list = io == MOEC_INPUT ? info.inputs : info.outputs;
  return index < list.size() ? &list[index] : nullptr;
}

const Dim *dim(const moec_model *model, moec_io io, size_t index, int64_t dim) {
  const TensorSpec *tensor = spec(model, io, index);
  if (!tensor || dim < 0 || size_t(dim) >= tensor->dims.size())
    return nullptr;
  return &tensor->dims[dim];
}
} // namespace

extern "C" {

const char *moec_last_error(void) { return lastError.c_str(); }

const char *moec_dtype_name(int dtype) {
  if (dtype < 0 || dtype >= kNumDTypes)
    return nullptr;
  return dtypeName(static_cast<DType>(dtype)).data();
}

moec_status moec_model_create(int num_threads, moec_model **model) {
  if (!model)
    return fail(MOEC_ERROR_INVALID_ARGUMENT, "moec_model_create: model is null");
  *model = nullptr;
  auto created = std::make_unique<moec_model>();
  if (std::string error = created->model.load(); !error.empty())
    return fail(MOEC_ERROR_INTERNAL, "malformed moec_model_info: " + error);
  if (std::string error = Model::mapWeights(modelDirectory()); !error.empty())
    return fail(MOEC_ERROR_WEIGHTS, error);
  if (created->model.info().isGpuTarget()) {
    cuda::setTargetName(created->model.info().target);
    if (std::string error = cuda::initialize(); !error.empty())
      return fail(MOEC_ERROR_DEVICE, error);
  }
  if (num_threads > 0)
    setThreadCount(num_threads);
  *model = created.release();
  return MOEC_OK;
}

void moec_model_destroy(moec_model *model) {
  delete model;
  // Buffers kept for the next run; a model still alive takes fresh ones again.
  hostMemoryPool().releaseCached();
}

const char *moec_model_target(const moec_model *model) {
  return model ? model->model.info().target.c_str() : nullptr;
}

size_t moec_model_count(const moec_model *model, moec_io io) {
  if (!model)
    return 0;
  const ModelInfo &info = model->model.info();
  return io == MOEC_INPUT ? info.inputs.size() : info.outputs.size();
}

const char *moec_model_name(const moec_model *model, moec_io io, size_t index) {
  const TensorSpec *tensor = spec(model, io, index);
  return tensor ? tensor->name.c_str() : nullptr;
}

int moec_model_dtype(const moec_model *model, moec_io io, size_t index) {
  const TensorSpec *tensor = spec(model, io, index);
  return tensor ? int(tensor->dtype) : -1;
}

int64_t moec_model_rank(const moec_model *model, moec_io io, size_t index) {
  const TensorSpec *tensor = spec(model, io, index);
  return tensor ? int64_t(tensor->dims.size()) : -1;
}

int64_t moec_model_dim(const moec_model *model, moec_io io, size_t index, int64_t d) {
  const Dim *found = dim(model, io, index, d);
  return found ? found->size : -1;
}

const char *moec_model_dim_name(const moec_model *model, moec_io io, size_t index, int64_t d) {
  const Dim *found = dim(model, io, index, d);
  return found && found->size == Dim::kDynamic ? found->name.c_str() : nullptr;
}

moec_status moec_model_execute(moec_model *model, const moec_tensor *inputs, size_t num_inputs,
                               moec_tensor *outputs, size_t num_outputs) {
  if (!model || (num_inputs && !inputs) || (num_outputs && !outputs))
    return fail(MOEC_ERROR_INVALID_ARGUMENT, "moec_model_execute: null argument");
  const ModelInfo &info = model->model.info();
  if (num_outputs != info.outputs.size())
    return fail(MOEC_ERROR_INVALID_ARGUMENT,
                "the model has " + std::to_string(info.outputs.size()) + " outputs, got room for " +
                    std::to_string(num_outputs));
  std::vector<Tensor> lent(num_inputs);
  for (size_t i = 0; i < num_inputs; ++i) {
    const moec_tensor &input = inputs[i];
    if (input.dtype < 0 || input.dtype >= kNumDTypes || input.rank < 0 ||
        (input.rank > 0 && !input.shape))
      return fail(MOEC_ERROR_INVALID_ARGUMENT,
                  "input " + std::to_string(i) + ": bad dtype, rank or shape");
    lent[i].dtype = static_cast<DType>(input.dtype);
    lent[i].shape.assign(input.shape, input.shape + input.rank);
    lent[i].data = input.data;
    if (numElements(lent[i].shape) < 0)
      return fail(MOEC_ERROR_INVALID_ARGUMENT,
                  "input " + std::to_string(i) + ": bad shape " + shapeString(lent[i].shape));
    if (!input.data && lent[i].byteSize() != 0)
      return fail(MOEC_ERROR_INVALID_ARGUMENT, "input " + std::to_string(i) + ": data is null");
  }
  if (std::string error = model->model.checkInputs(lent); !error.empty())
    return fail(MOEC_ERROR_INVALID_ARGUMENT, error);

  std::vector<Tensor> results;
  std::string error;
  {
    std::lock_guard<std::mutex> lock(model->runMutex);
    error = model->model.run(lent, results);
  }
  if (!error.empty())
    return fail(MOEC_ERROR_INTERNAL, error);
  std::vector<Buffer> shapes(num_outputs);
  for (size_t i = 0; i < num_outputs; ++i) {
    // One word more than the rank: a scalar's shape must not be null either.
    shapes[i] = allocateBuffer(sizeof(int64_t) * (results[i].shape.size() + 1));
    if (!shapes[i])
      return fail(MOEC_ERROR_INTERNAL, "out of memory for the output shapes");
  }
  for (size_t i = 0; i < num_outputs; ++i) {
    Tensor &result = results[i];
    moec_tensor &output = outputs[i];
    output.dtype = int32_t(result.dtype);
    output.rank = int64_t(result.shape.size());
    output.shape = static_cast<int64_t *>(shapes[i].release());
    std::copy(result.shape.begin(), result.shape.end(), output.shape);
    output.data = result.storage.release();
  }
  return MOEC_OK;
}

void moec_tensor_release(moec_tensor *tensor) {
  if (!tensor)
    return;
  hostMemoryPool().deallocate(tensor->shape);
  hostMemoryPool().deallocate(tensor->data);
  std::memset(tensor, 0, sizeof(*tensor));
}

} // extern "C"
