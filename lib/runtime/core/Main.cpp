//===- Main.cpp - main() of an executable that moec emits -----------------===//
//
// The command line of docs/executables.md: --info, --input, --output-dir,
// --bench, --threads, --help. Bad usage and bad inputs (including input values
// that fail a run-time check) exit with code 2, a compiled model that breaks its
// contract with 1.
//
//===----------------------------------------------------------------------===//

#include "cuda/CudaDriver.h"
#include "cuda/CudaRuntime.h"
#include "Checks.h"
#include "HostMemoryPool.h"
#include "Model.h"
#include "Npy.h"
#include "cpu/ThreadPool.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

using namespace moec::rt;

// In a sharded program's MPI runtime (libmoec_runtime_comm.a) only.
extern "C" void moec_rt_comm_abort(int code) __attribute__((weak));

namespace {
constexpr int kExitUserError = 2;
constexpr int kExitModelBroken = 1;

const char *programName = "model";

struct Options {
  bool help = false;
  bool info = false;
  std::vector<std::string> inputs;
  std::optional<std::string> outputDir;
  int64_t benchRuns = 0;
  int64_t threads = 0;
};

[[noreturn]] void die(int code, const std::string &message) {
  std::fprintf(stderr, "%s: error: %s\n", programName, message.c_str());
  // One rank of a sharded program failing alone would leave the others waiting in an
  // exchange: the whole job ends.
  if (moec_rt_comm_abort)
    moec_rt_comm_abort(code);
  std::exit(code);
}

void printUsage() {
  std::printf("Usage: %s [options]\n"
              "Runs a model compiled by moec.\n\n"
              "  --info                  print the target and the inputs and outputs\n"
              "                          (names, dtypes, shapes with dim_param names)\n"
              "  --input NAME=FILE.npy   an input; give one per model input. A model\n"
              "                          with one input also takes --input FILE.npy\n"
              "  --output-dir DIR        write DIR/<output name>.npy for every output\n"
              "                          (created if missing; characters other than\n"
              "                          letters, digits, '-', '_' and '.' become '_')\n"
              "  --bench N               one warm-up run (on a GPU, then the capture of\n"
              "                          a CUDA graph for the timed runs to replay, when\n"
              "                          the model allows it), then N timed runs; the last\n"
              "                          line printed is {\"runs\": N, \"min_ms\": ...,\n"
              "                          \"median_ms\": ..., \"max_ms\": ...,\n"
              "                          \"host_allocations\": ...}\n"
              "  --threads N             threads to run on (default: one per CPU;\n"
              "                          1 runs everything on the calling thread)\n"
              "  --help, -h              print this help\n",
              programName);
}

int64_t parsePositive(const std::string &flag, const std::string &text) {
  char *end = nullptr;
  errno = 0;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || value < 1 || value > INT_MAX)
    die(kExitUserError, flag + " needs a positive integer, got '" + text + "'");
  return value;
}

Options parseOptions(int argc, char **argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    // Both "--flag value" and "--flag=value".
    size_t equals = arg.find('=');
    bool inlineValue = arg.rfind("--", 0) == 0 && equals != std::string::npos;
    if (inlineValue) {
      value = arg.substr(equals + 1);
      arg.resize(equals);
    }
    auto takeValue = [&] {
      if (inlineValue)
        return value;
      if (i + 1 >= argc)
        die(kExitUserError, arg + " needs a value (see --help)");
      return std::string(argv[++i]);
    };
    bool flagOnly = arg == "--help" || arg == "--info";
    if (flagOnly && inlineValue)
      die(kExitUserError, arg + " takes no value");
    if (arg == "--help" || arg == "-h")
      options.help = true;
    else if (arg == "--info")
      options.info = true;
    else if (arg == "--input")
      options.inputs.push_back(takeValue());
    else if (arg == "--output-dir")
      options.outputDir = takeValue();
    else if (arg == "--bench")
      options.benchRuns = parsePositive(arg, takeValue());
    else if (arg == "--threads")
      options.threads = parsePositive(arg, takeValue());
    else
      die(kExitUserError, "unknown argument '" + std::string(argv[i]) + "' (see --help)");
  }
  if (options.outputDir && options.outputDir->empty())
    die(kExitUserError, "--output-dir needs a directory name");
  return options;
}

void printInfo(const ModelInfo &info) {
  std::printf("target: %s\n", info.target.c_str());
  for (const auto &[title, list] :
       {std::make_pair("inputs", &info.inputs), std::make_pair("outputs", &info.outputs)}) {
    std::printf("%s:\n", title);
    for (const TensorSpec &spec : *list)
      std::printf("  %s: %s %s\n", spec.name.c_str(), std::string(dtypeName(spec.dtype)).c_str(),
                  spec.shapeString().c_str());
  }
}

std::string executableDirectory() {
  char path[PATH_MAX];
  ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0)
    return ".";
  std::string text(path, size_t(length));
  return text.substr(0, text.rfind('/'));
}

Tensor readInput(const TensorSpec &spec, const std::string &path) {
  std::vector<uint8_t> bytes;
  NpyArray array;
  std::string error = readFile(path, bytes);
  if (error.empty())
    error = parseNpy(bytes.data(), bytes.size(), array);
  if (!error.empty())
    die(kExitUserError, "input '" + spec.name + "' from '" + path + "': " + error);
  Tensor tensor;
  tensor.dtype = array.dtype;
  tensor.shape = array.shape;
  tensor.storage = allocateBuffer(array.dataSize);
  if (!tensor.storage)
    die(kExitUserError, "input '" + spec.name + "': out of memory");
  tensor.data = tensor.storage.get();
  if (array.dataSize != 0)
    std::memcpy(tensor.data, array.data, array.dataSize);
  return tensor;
}

// Matches --input arguments to the model's inputs, reads and checks them.
std::vector<Tensor> readInputs(const ModelInfo &info, const std::vector<std::string> &arguments) {
  std::vector<std::string> paths(info.inputs.size());
  for (const std::string &argument : arguments) {
    size_t equals = argument.find('=');
    if (equals == std::string::npos) {
      if (info.inputs.size() != 1)
        die(kExitUserError, "'--input " + argument + "' names no input, and the model has " +
                                std::to_string(info.inputs.size()) +
                                " inputs (use --input NAME=FILE.npy)");
      if (!paths[0].empty())
        die(kExitUserError, "input '" + info.inputs[0].name + "' is given twice");
      paths[0] = argument;
      continue;
    }
    std::string name = argument.substr(0, equals);
    auto it = std::find_if(info.inputs.begin(), info.inputs.end(),
                           [&](const TensorSpec &spec) { return spec.name == name; });
    if (it == info.inputs.end())
      die(kExitUserError, "the model has no input named '" + name + "' (see --info)");
    std::string &path = paths[it - info.inputs.begin()];
    if (!path.empty())
      die(kExitUserError, "input '" + name + "' is given twice");
    path = argument.substr(equals + 1);
    if (path.empty())
      die(kExitUserError, "input '" + name + "' has an empty file name");
  }
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < info.inputs.size(); ++i) {
    const TensorSpec &spec = info.inputs[i];
    if (paths[i].empty())
      die(kExitUserError, "missing input '" + spec.name + "' (" +
                              std::string(dtypeName(spec.dtype)) + " " + spec.shapeString() +
                              "; use --input " + spec.name + "=FILE.npy)");
    inputs.push_back(readInput(spec, paths[i]));
  }
  return inputs;
}

// The output's file name: characters that may be unsafe in file names become
// '_', and so does a leading '.'; a clash with an earlier output appends
// "_<position>".
std::string outputFileName(const std::string &name, size_t position, std::set<std::string> &taken) {
  std::string safe = name;
  for (char &c : safe)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.'))
      c = '_';
  if (safe.empty() || safe[0] == '.')
    safe.insert(0, "_");
  if (!taken.insert(safe).second) {
    safe += "_" + std::to_string(position);
    taken.insert(safe);
  }
  return safe + ".npy";
}

void makeDirectories(const std::string &path) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (mkdir(prefix.c_str(), 0777) != 0 && errno != EEXIST)
      die(kExitUserError, "cannot create '" + prefix + "': " + std::strerror(errno));
    if (slash == std::string::npos)
      break;
  }
  struct stat status;
  if (stat(path.c_str(), &status) != 0 || !S_ISDIR(status.st_mode))
    die(kExitUserError, "'" + path + "' is not a directory");
}

void writeOutputs(const ModelInfo &info, const std::vector<Tensor> &outputs,
                  const std::string &directory) {
  makeDirectories(directory);
  std::set<std::string> taken;
  std::vector<std::string> written;
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::string path = directory + "/" + outputFileName(info.outputs[i].name, i, taken);
    if (std::string error = writeNpyFile(path, outputs[i].dtype, outputs[i].shape, outputs[i].data);
        !error.empty()) {
      // All outputs or none: a partial set would pass for a run's result.
      for (const std::string &earlier : written)
        std::remove(earlier.c_str());
      die(kExitUserError, error);
    }
    written.push_back(path);
  }
}

std::vector<Tensor> runOnce(const Model &model, const std::vector<Tensor> &inputs) {
  std::vector<Tensor> outputs;
  if (std::string error = model.run(inputs, outputs); !error.empty())
    die(kExitModelBroken, "the compiled model broke its contract: " + error);
  return outputs;
}

// Milliseconds that `run` takes: by the steady clock on the host, by CUDA
// events on the GPU runtime's stream on a GPU target.
double timeRun(const ModelInfo &info, const std::function<void()> &run) {
  if (info.isGpuTarget())
    return cuda::timeOnStream(run);
  auto start = std::chrono::steady_clock::now();
  run();
  auto end = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(end - start).count();
}

// One warm-up run, then `runs` timed ones; prints the JSON line, with the number
// of host buffers the timed runs took from the system rather than from the pool.
// Returns the outputs of the last run. On a GPU the warm-up is followed by the capture of a
// CUDA graph, when the model allows it, which the timed runs replay.
std::vector<Tensor> bench(const Model &model, const std::vector<Tensor> &inputs, int64_t runs) {
  std::vector<Tensor> outputs = runOnce(model, inputs);
  model.prepareRepeatedRuns(inputs);
  std::vector<double> milliseconds;
  size_t systemAllocationsBefore = hostMemoryPool().systemAllocations();
  for (int64_t i = 0; i < runs; ++i) {
    // Released first, as a caller that is done with them would: the run reuses them.
    outputs.clear();
    milliseconds.push_back(timeRun(model.info(), [&] { outputs = runOnce(model, inputs); }));
  }
  size_t hostAllocations = hostMemoryPool().systemAllocations() - systemAllocationsBefore;
  std::sort(milliseconds.begin(), milliseconds.end());
  size_t middle = milliseconds.size() / 2;
  double median = milliseconds.size() % 2 ? milliseconds[middle]
                                          : (milliseconds[middle - 1] + milliseconds[middle]) / 2;
  std::printf("{\"runs\": %lld, \"min_ms\": %.6f, \"median_ms\": %.6f, \"max_ms\": %.6f, "
              "\"host_allocations\": %zu}\n",
              static_cast<long long>(runs), milliseconds.front(), median, milliseconds.back(),
              hostAllocations);
  return outputs;
}
} // namespace

int main(int argc, char **argv) {
  if (argc > 0 && argv[0] && *argv[0]) {
    const char *slash = std::strrchr(argv[0], '/');
    programName = slash ? slash + 1 : argv[0];
  }
  Options options = parseOptions(argc, argv);
  if (options.help) {
    printUsage();
    return 0;
  }
  Model model;
  if (std::string error = model.load(); !error.empty())
    die(kExitModelBroken, "malformed moec_model_info: " + error);
  if (options.info) {
    printInfo(model.info());
    return 0;
  }
  if (options.threads)
    setThreadCount(int(options.threads));
  // A failed run-time check is bad input: the outputs, written after the run, never are.
  setCheckFailureHandler([](const std::string &message) { die(kExitUserError, message); });
  if (model.info().isGpuTarget()) {
    cuda::setTargetName(model.info().target);
    cuda::setFatalErrorHandler([](const std::string &message) { die(kExitUserError, message); });
    // Before reading any input: a machine that cannot run the model says so
    // first.
    if (std::string error = cuda::initialize(); !error.empty())
      die(kExitUserError, error);
  }
  if (std::string error = Model::mapWeights(executableDirectory()); !error.empty())
    die(kExitUserError, error);

  std::vector<Tensor> inputs = readInputs(model.info(), options.inputs);
  if (std::string error = model.checkInputs(inputs); !error.empty())
    die(kExitUserError, error);
  std::vector<Tensor> outputs =
      options.benchRuns ? bench(model, inputs, options.benchRuns) : runOnce(model, inputs);
  if (options.outputDir) {
    // The ranks of a sharded program each run their own tokens: rank 0 writes to DIR, rank
    // R to DIR/rank<R> (docs/sharding.md).
    int64_t rank = Model::shardRank();
    writeOutputs(model.info(), outputs,
                 rank > 0 ? *options.outputDir + "/rank" + std::to_string(rank)
                          : *options.outputDir);
  } else if (!options.benchRuns) {
    for (size_t i = 0; i < outputs.size(); ++i)
      std::printf("%s: %s %s\n", model.info().outputs[i].name.c_str(),
                  std::string(dtypeName(outputs[i].dtype)).c_str(),
                  shapeString(outputs[i].shape).c_str());
  }
  return 0;
}
