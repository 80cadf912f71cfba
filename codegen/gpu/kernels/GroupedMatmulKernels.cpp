//===- GroupedMatmulKernels.cpp - What the grouped-matmul kernels share ---===//

#include "GroupedMatmulKernels.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace moec::moe;
using namespace moec::grouped_matmul;

/// The gpu.module that holds every kernel of a model (docs/gpu-codegen.md).
static constexpr StringLiteral kKernelModuleName = "moec_kernels";

void MatmulConfig::printName(llvm::raw_ostream &os) const {
  os << elementType << "_k" << K << "_n" << N;
  if (rowsPerToken)
    os << "_gather" << *rowsPerToken;
  if (hasBias)
    os << "_bias";
  if (activation) {
    os << "_" << stringifyActivation(*activation);
    if (*activation == Activation::swiglu_clamped)
      os << llvm::formatv("_alpha{0}_limit{1}", alpha, limit);
    if (*activation == Activation::silu_clamped)
      os << llvm::formatv("_limit{0}", limit);
  }
  if (gated)
    os << "_gated";
}

ArgumentTypes::ArgumentTypes(const MatmulConfig &config) {
  MLIRContext *context = config.elementType.getContext();
  int64_t dynamic = ShapedType::kDynamic;
  Type i32 = IntegerType::get(context, 32);
  input = MemRefType::get({dynamic, config.K}, config.elementType);
  weights = MemRefType::get({dynamic, config.K, config.N}, config.elementType);
  offsets = MemRefType::get({dynamic}, i32);
  sortedIds = MemRefType::get({dynamic}, i32);
  bias = MemRefType::get({dynamic, config.N}, config.elementType);
  result = MemRefType::get({dynamic, config.outColumns()}, config.elementType);
}

SmallVector<Type> moec::grouped_matmul::kernelArgumentTypes(const MatmulConfig &config,
                                                            ArrayRef<Type> own) {
  ArgumentTypes types(config);
  SmallVector<Type> result(own);
  result.push_back(types.offsets);
  if (config.rowsPerToken)
    result.push_back(types.sortedIds);
  if (config.hasBias)
    result.push_back(types.bias);
  result.push_back(types.result);
  return result;
}

MatmulConfig moec::grouped_matmul::getMatmulConfig(GroupedMatmulOp op) {
  auto weightsType = cast<RankedTensorType>(op.getWeights().getType());
  ExpertAttr expert = op.getExpertAttr();
  MatmulConfig config;
  config.elementType = getElementTypeOrSelf(op.getResult());
  config.K = weightsType.getDimSize(1);
  config.N = weightsType.getDimSize(2);
  if (op.getSortedIds())
    config.rowsPerToken = op.getRowsPerToken().value_or(1);
  config.hasBias = static_cast<bool>(op.getBias());
  if (expert)
    config.activation = expert.getActivation();
  config.gated = expert && expert.getGated();
  config.alpha = expert ? expert.getAlpha().convertToDouble() : 0.0;
  config.limit = expert ? expert.getLimit().convertToDouble() : 0.0;
  return config;
}

std::string moec::grouped_matmul::kernelSymbolName(StringRef name) {
  std::string result = name.str();
  for (char &c : result)
    if (!llvm::isAlnum(c) && c != '_')
      c = '_';
  return result;
}

gpu::GPUModuleOp moec::grouped_matmul::getOrCreateKernelModule(PatternRewriter &rewriter,
                                                               ModuleOp module) {
  if (auto existing = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModuleName))
    return existing;
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToEnd(module.getBody());
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), rewriter.getUnitAttr());
  return gpu::GPUModuleOp::create(rewriter, module.getLoc(), kKernelModuleName);
}

gpu::GPUFuncOp moec::grouped_matmul::getOrCreateKernel(
    OpBuilder &builder, gpu::GPUModuleOp kernels, StringRef name, ArrayRef<Type> argumentTypes,
    ArrayRef<Type> workgroupBuffers, int64_t threads, Location loc,
    function_ref<void(ImplicitLocOpBuilder &, gpu::GPUFuncOp)> emit) {
  if (auto existing = kernels.lookupSymbol<gpu::GPUFuncOp>(name))
    return existing;
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(kernels.getBody());
  auto kernel = gpu::GPUFuncOp::create(
      builder, loc, name, builder.getFunctionType(argumentTypes, {}), workgroupBuffers);
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), builder.getUnitAttr());
  kernel.setKnownBlockSizeAttr(builder.getDenseI32ArrayAttr({static_cast<int32_t>(threads), 1, 1}));
  ImplicitLocOpBuilder b(loc, builder);
  b.setInsertionPointToStart(&kernel.getBody().front());
  emit(b, kernel);
  return kernel;
}

Value moec::grouped_matmul::toKernelBuffer(ImplicitLocOpBuilder &b, Value tensor,
                                           MemRefType kernelType) {
  auto type = cast<RankedTensorType>(tensor.getType());
  Value memref = bufferization::ToBufferOp::create(
      b, MemRefType::get(type.getShape(), type.getElementType()), tensor, /*read_only=*/true);
  return b.createOrFold<memref::CastOp>(kernelType, memref);
}

Value moec::grouped_matmul::launchOnRows(ImplicitLocOpBuilder &b, GroupedMatmulOp op,
                                         gpu::GPUFuncOp kernel, SmallVector<Value> arguments,
                                         const ArgumentTypes &types, int64_t outColumns,
                                         int64_t blockRows, int64_t blockColumns, int64_t threads,
                                         int64_t dynamicSharedBytes) {
  arguments.push_back(toKernelBuffer(b, op.getExpertOffsets(), types.offsets));
  if (Value sortedIds = op.getSortedIds())
    arguments.push_back(toKernelBuffer(b, sortedIds, types.sortedIds));
  if (Value bias = op.getBias())
    arguments.push_back(toKernelBuffer(b, bias, types.bias));
  auto resultType = cast<RankedTensorType>(op.getResult().getType());
  Value rows =
      b.createOrFold<tensor::DimOp>(op.getSortedIds() ? op.getSortedIds() : op.getInput(), 0);
  SmallVector<Value> dynamicSizes;
  if (resultType.isDynamicDim(0))
    dynamicSizes.push_back(rows);
  Value resultBuffer = memref::AllocOp::create(
      b, MemRefType::get(resultType.getShape(), resultType.getElementType()), dynamicSizes);
  arguments.push_back(b.createOrFold<memref::CastOp>(types.result, resultBuffer));

  Value zero = arith::ConstantIndexOp::create(b, 0);
  Value one = arith::ConstantIndexOp::create(b, 1);
  auto ifRows =
      scf::IfOp::create(b, arith::CmpIOp::create(b, arith::CmpIPredicate::sgt, rows, zero),
                        /*withElseRegion=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifRows.thenBlock());
    Value rowBlocks =
        arith::CeilDivUIOp::create(b, rows, arith::ConstantIndexOp::create(b, blockRows));
    Value columnBlocks =
        arith::ConstantIndexOp::create(b, llvm::divideCeil(outColumns, blockColumns));
    Value sharedBytes;
    if (dynamicSharedBytes > 0)
      sharedBytes = arith::ConstantIntOp::create(b, b.getI32Type(), dynamicSharedBytes);
    gpu::LaunchFuncOp::create(b, kernel, gpu::KernelDim3{rowBlocks, columnBlocks, one},
                              gpu::KernelDim3{arith::ConstantIndexOp::create(b, threads), one, one},
                              sharedBytes, arguments);
  }
  return bufferization::ToTensorOp::create(b, resultType, resultBuffer, /*restrict=*/true,
                                           /*writable=*/true);
}
