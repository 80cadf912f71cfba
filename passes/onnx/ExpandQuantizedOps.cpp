//===- ExpandQuantizedOps.cpp - Quantized weights dequantized at run time -===//
//
// MatMulNBits, GatherBlockQuantized and QMoE (onnxruntime's contrib ops, as its
// ContribOperators.md and CPU kernels define them) and DequantizeLinear, rewritten into
// default-domain nodes that unpack and dequantize the packed weights when the program runs:
// the weights file keeps them packed. Each expansion first checks the forms it supports (one
// diagnostic naming the node for any other), then a pattern rewrites it (NodeExpansion.h).
//
//===----------------------------------------------------------------------===//

#include "moec/Passes/ONNX/Passes.h"

#include "NodeExpansion.h"

#include "moec/Dialect/ONNX/QMoEInputs.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/TypeUtilities.h"

#include "llvm/ADT/StringSwitch.h"

#include <functional>

namespace moec {
#define GEN_PASS_DEF_EXPANDQUANTIZEDOPS
#include "passes/onnx/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec;
using namespace moec::expansion;

namespace {

//===----------------------------------------------------------------------===//
// Integers to floats
//===----------------------------------------------------------------------===//

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Whether `value` is a tensor of ONNX's int4 or uint4, packed two a byte.
bool isFourBit(Value value) {
  RankedTensorType type = getRanked(value);
  return type && type.getElementType().isInteger(4);
}

/// Fails unless input `index`, when present, is a ranked tensor of static shape: the
/// quantized weights, scales and zero points are initializers.
LogicalResult checkStatic(onnx::NodeOp node, unsigned index) {
  Value input = node.getOptionalInput(index);
  if (!input)
    return success();
  RankedTensorType type = getRanked(input);
  if (type && type.hasStaticShape())
    return success();
  return fail(node, "input " + Twine(index) + " must have a static shape");
}

/// Fails when input `index` is a 4-bit tensor other than an initializer: only the bytes of
/// an initializer can be reread.
LogicalResult checkFourBitInitializer(onnx::NodeOp node, unsigned index) {
  Value input = node.getOptionalInput(index);
  if (!input || !isFourBit(input))
    return success();
  auto constant = input.getDefiningOp<onnx::ConstantOp>();
  if (constant && isa<DenseResourceElementsAttr, DenseElementsAttr>(constant.getValue()))
    return success();
  return fail(node, "input " + Twine(index) + " has 4-bit elements but is not an initializer");
}

/// The bytes of 4-bit initializer `value` as `[ceil(n / 2)]` uint8, two values a byte, the
/// first in the low bits (ONNX's packing).
Value rereadAsBytes(NodeBuilder &builder, Value value) {
  auto constant = value.getDefiningOp<onnx::ConstantOp>();
  auto type = cast<RankedTensorType>(value.getType());
  auto byteType =
      RankedTensorType::get({ceilDiv(type.getNumElements(), 2)},
                            IntegerType::get(value.getContext(), 8, IntegerType::Unsigned));
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
    return builder.constant(DenseResourceElementsAttr::get(byteType, resource.getRawHandle()));
  SmallVector<uint8_t> bytes(byteType.getNumElements(), 0);
  int64_t index = 0;
  for (const APInt &element : cast<DenseElementsAttr>(constant.getValue()).getValues<APInt>()) {
    bytes[index / 2] |= static_cast<uint8_t>((element.getZExtValue() & 0xF) << (4 * (index % 2)));
    ++index;
  }
  return builder.constant(DenseElementsAttr::get(byteType, ArrayRef<uint8_t>(bytes)));
}

/// The `bits`-bit fields of the uint8 `bytes`, a tensor of rank `rank`, as floats of
/// `like`'s element type: along the last dim, 8 / bits fields per byte, the lowest bits
/// first. Each field is the byte divided by its place and taken modulo 2^bits, in integers,
/// then cast: one elementwise chain, which the host pipeline fuses into one loop.
Value unpackFields(NodeBuilder &builder, Value bytes, int64_t rank, int64_t bits, Value like) {
  if (bits == 8)
    return builder.create("CastLike", {bytes, like});
  auto byteType = IntegerType::get(like.getContext(), 8, IntegerType::Unsigned);
  SmallVector<uint8_t> places;
  for (int64_t field = 0; field < 8 / bits; ++field)
    places.push_back(static_cast<uint8_t>(1 << (field * bits)));
  Value place = builder.constant(DenseElementsAttr::get(
      RankedTensorType::get({static_cast<int64_t>(places.size())}, byteType),
      ArrayRef<uint8_t>(places)));
  Value radix = builder.constant(DenseElementsAttr::get(
      RankedTensorType::get({}, byteType), static_cast<uint8_t>(1 << bits)));
  Value fields = builder.create(
      "Mod", {builder.create("Div", {builder.unsqueeze(bytes, {-1}), place}), radix});
  SmallVector<int64_t> shape(rank - 1, 0);
  shape.push_back(-1);
  return builder.reshape(builder.create("CastLike", {fields, like}), shape);
}

/// 4-bit values `codes` (floats in [0, 16)) read as two's complement.
Value signExtendFourBit(NodeBuilder &builder, Value codes, Type type) {
  Value negative = builder.create("Floor", builder.create("Div", {codes, builder.scalar(8, type)}));
  return builder.create("Sub",
                        {codes, builder.create("Mul", {negative, builder.scalar(16, type)})});
}

/// The integers of `value` as floats of `like`'s element type, in `value`'s shape; a 4-bit
/// initializer's are unpacked from its bytes.
Value toFloats(NodeBuilder &builder, Value value, Value like) {
  if (!isFourBit(value))
    return builder.create("CastLike", {value, like});
  auto type = cast<RankedTensorType>(value.getType());
  Type floatType = getElementTypeOrSelf(like);
  Value codes = unpackFields(builder, rereadAsBytes(builder, value), 1, 4, like);
  if (type.getNumElements() % 2 != 0)
    codes = builder.slice(codes, 0, 0, type.getNumElements());
  if (!type.getElementType().isUnsignedInteger())
    codes = signExtendFourBit(builder, codes, floatType);
  return builder.reshape(codes, type.getShape());
}

/// `value`, of shape `shape` (the dims after `axis` static), with each element along `axis`
/// repeated `block` times and the first `size` along it kept: a block's scale or zero point
/// for each of its values.
Value repeatBlocks(NodeBuilder &builder, Value value, ArrayRef<int64_t> shape, int64_t axis,
                   int64_t block, int64_t size) {
  SmallVector<int64_t> repeat(shape.size() + 1, 1);
  repeat[axis + 1] = block;
  Value repeated =
      builder.create("Expand", {builder.unsqueeze(value, {axis + 1}), builder.ints(repeat)});
  SmallVector<int64_t> merged(axis, 0);
  merged.push_back(-1);
  merged.append(shape.begin() + axis + 1, shape.end());
  Value result = builder.reshape(repeated, merged);
  if (shape[axis] * block != size)
    result = builder.slice(result, axis, 0, size);
  return result;
}

/// (codes - zeroPoint) · scale, or codes · scale without a zero point.
Value dequantize(NodeBuilder &builder, Value codes, Value zeroPoint, Value scale) {
  if (zeroPoint)
    codes = builder.create("Sub", {codes, zeroPoint});
  return builder.create("Mul", {codes, scale});
}

/// Fails unless input `index` is a tensor of floats.
LogicalResult checkFloats(onnx::NodeOp node, unsigned index) {
  if (isa<FloatType>(getElementTypeOrSelf(node.getInputs()[index])))
    return success();
  return fail(node, "input " + Twine(index) + " must be a tensor of floats");
}

/// Fails unless input `index` is a static tensor of `count` elements (named `what`).
LogicalResult checkElementCount(onnx::NodeOp node, unsigned index, int64_t count, StringRef what) {
  if (failed(checkStatic(node, index)))
    return failure();
  if (getRanked(node.getInputs()[index]).getNumElements() == count)
    return success();
  return fail(node, what + " (input " + Twine(index) + ") must have " + Twine(count) + " elements");
}

/// Fails unless `bits` is 2, 4 or 8, the widths onnxruntime packs.
LogicalResult checkBits(onnx::NodeOp node, int64_t bits) {
  if (bits == 2 || bits == 4 || bits == 8)
    return success();
  return fail(node, Twine(bits) + "-bit weights are not supported (2, 4 or 8)");
}

//===----------------------------------------------------------------------===//
// MatMulNBits
//===----------------------------------------------------------------------===//

/// MatMulNBits(A, B, scales, zero_points?, g_idx?, bias?): A × Wᵀ + bias, where W [N, K]
/// is B's blocks of `block_size` values along K (B [N, ceil(K / block_size), block_size ·
/// bits / 8] uint8), each (q - zero point) · scale of its block; zero points as uint8
/// packed like B ([N, ceil(blocks · bits / 8)]), or floats, or 2^(bits - 1).
struct NBitsShape {
  int64_t k, n, bits, block, blocks;
  explicit NBitsShape(onnx::NodeOp node)
      : k(node.getIntAttr("K", 0)), n(node.getIntAttr("N", 0)), bits(node.getIntAttr("bits", 4)),
        block(node.getIntAttr("block_size", 0)), blocks(block > 0 ? ceilDiv(k, block) : 0) {}
};

LogicalResult checkMatMulNBits(onnx::NodeOp node) {
  NBitsShape shape(node);
  if (failed(checkBits(node, shape.bits)) || failed(checkIntAttr(node, "weight_prepacked", 0)) ||
      failed(checkRank(node, 0, 1)) || failed(checkFloats(node, 0)))
    return failure();
  if (shape.k <= 0 || shape.n <= 0 || shape.block < 16 || (shape.block & (shape.block - 1)))
    return fail(node, "K, N and block_size (a power of two from 16) must be given");
  if (node.hasInput(4))
    return fail(node, "input 4 (g_idx) is not supported");
  int64_t packedBlocks = ceilDiv(shape.blocks * shape.bits, 8);
  Value zeroPoints = node.getOptionalInput(3);
  bool packedZeroPoints = zeroPoints && getElementTypeOrSelf(zeroPoints).isInteger();
  if (!getElementTypeOrSelf(node.getInputs()[1]).isUnsignedInteger(8) ||
      (packedZeroPoints && !getElementTypeOrSelf(zeroPoints).isUnsignedInteger(8)))
    return fail(node, "B and integer zero points must be uint8");
  return success(
      succeeded(
          checkElementCount(node, 1, shape.n * shape.blocks * shape.block * shape.bits / 8, "B")) &&
      succeeded(checkElementCount(node, 2, shape.n * shape.blocks, "scales")) &&
      (!zeroPoints ||
       succeeded(checkElementCount(
           node, 3, shape.n * (packedZeroPoints ? packedBlocks : shape.blocks), "zero_points"))));
}

Replacements expandMatMulNBits(onnx::NodeOp node, NodeBuilder &builder) {
  NBitsShape shape(node);
  Value scales = node.getInputs()[2];
  Type type = getElementTypeOrSelf(scales);
  Value packed = node.getInputs()[1];
  SmallVector<int64_t> blobs = {shape.n, shape.blocks, shape.block * shape.bits / 8};
  if (getRanked(packed).getShape() != ArrayRef<int64_t>(blobs))
    packed = builder.reshape(packed, blobs);
  Value codes = unpackFields(builder, packed, 3, shape.bits, scales);
  Value zeroPoint = builder.scalar(1 << (shape.bits - 1), type);
  if (Value zeroPoints = node.getOptionalInput(3)) {
    zeroPoint = builder.reshape(zeroPoints, {shape.n, -1});
    if (getElementTypeOrSelf(zeroPoints).isInteger()) {
      zeroPoint = unpackFields(builder, zeroPoint, 2, shape.bits, scales);
      if (ceilDiv(shape.blocks * shape.bits, 8) * 8 / shape.bits != shape.blocks)
        zeroPoint = builder.slice(zeroPoint, 1, 0, shape.blocks);
    }
    zeroPoint = builder.reshape(zeroPoint, {shape.n, shape.blocks, 1});
  }
  Value weights =
      dequantize(builder, codes, zeroPoint, builder.reshape(scales, {shape.n, shape.blocks, 1}));
  weights = builder.reshape(weights, {shape.n, shape.blocks * shape.block});
  if (shape.blocks * shape.block != shape.k)
    weights = builder.slice(weights, 1, 0, shape.k);
  Value product =
      builder.create("MatMul", {node.getInputs()[0], builder.transpose(weights, {1, 0})});
  if (Value bias = node.getOptionalInput(5))
    product = builder.create("Add", {product, bias});
  return {product};
}

//===----------------------------------------------------------------------===//
// GatherBlockQuantized
//===----------------------------------------------------------------------===//

/// GatherBlockQuantized(data, indices, scales, zero_points?): Gather along axis 0 of data
/// [rows, columns], quantized in blocks of `block_size` along the columns: int4 or uint4
/// (zero point 0 by default), or uint8 holding `bits`-bit values packed along the last dim
/// (zero point 2^(bits - 1) by default). The rows are gathered while packed.
struct GatherShape {
  int64_t bits, block, columns, blocks;
  bool fourBitType;
  explicit GatherShape(onnx::NodeOp node)
      : bits(node.getIntAttr("bits", 4)), block(node.getIntAttr("block_size", 128)),
        fourBitType(isFourBit(node.getInputs()[0])) {
    RankedTensorType data = getRanked(node.getInputs()[0]);
    columns = !data ? 0 : data.getDimSize(1) * (fourBitType ? 1 : 8 / bits);
    blocks = block > 0 ? ceilDiv(columns, block) : 0;
    if (fourBitType)
      bits = 4;
  }
};

LogicalResult checkGatherBlockQuantized(onnx::NodeOp node) {
  if (failed(checkRank(node, 0, 2, 2)) || failed(checkStatic(node, 0)) ||
      failed(checkIntAttr(node, "gather_axis", 0)) || failed(checkFourBitInitializer(node, 0)) ||
      failed(checkFourBitInitializer(node, 3)) || failed(checkFloats(node, 2)))
    return failure();
  int64_t quantizeAxis = node.getIntAttr("quantize_axis", 1);
  if (quantizeAxis != 1 && quantizeAxis != -1)
    return fail(node, "quantize_axis other than the last is not supported");
  GatherShape shape(node);
  Type dataType = getElementTypeOrSelf(node.getInputs()[0]);
  if (!shape.fourBitType && !dataType.isUnsignedInteger(8))
    return fail(node, "data must be int4, uint4 or uint8");
  if (!shape.fourBitType && shape.bits != 4 && shape.bits != 8)
    return fail(node, "uint8 data holding " + Twine(shape.bits) + "-bit values is not supported");
  if (shape.fourBitType && shape.columns % 2 != 0)
    return fail(node, "4-bit data with an odd number of columns is not supported");
  if (shape.block < 16 || (shape.block & (shape.block - 1)))
    return fail(node, "block_size must be a power of two from 16");
  int64_t rows = getRanked(node.getInputs()[0]).getDimSize(0);
  if (failed(checkElementCount(node, 2, rows * shape.blocks, "scales")))
    return failure();
  if (node.hasInput(3) &&
      failed(checkElementCount(
          node, 3,
          rows * (shape.fourBitType ? shape.blocks : ceilDiv(shape.blocks * shape.bits, 8)),
          "zero_points")))
    return failure();
  return success();
}

/// Rows `indices` of a [rows, ...] table of bytes, as `bits`-bit fields in floats like
/// `scales`: [indices..., fields].
Value gatherFields(NodeBuilder &builder, Value table, Value indices, Value scales, int64_t bits,
                   int64_t fields) {
  int64_t rank = getRanked(indices).getRank() + 1;
  Value values =
      unpackFields(builder, builder.create("Gather", {table, indices}), rank, bits, scales);
  return builder.slice(values, -1, 0, fields);
}

Replacements expandGatherBlockQuantized(onnx::NodeOp node, NodeBuilder &builder) {
  GatherShape shape(node);
  Value data = node.getInputs()[0], indices = node.getInputs()[1], scales = node.getInputs()[2];
  Type type = getElementTypeOrSelf(scales);
  int64_t rows = getRanked(data).getDimSize(0);
  bool signedFourBit = shape.fourBitType && !getElementTypeOrSelf(data).isUnsignedInteger();
  auto bytesOf = [&](Value packed) {
    return shape.fourBitType ? builder.reshape(rereadAsBytes(builder, packed), {rows, -1}) : packed;
  };
  Value codes = gatherFields(builder, bytesOf(data), indices, scales, shape.bits, shape.columns);
  if (signedFourBit)
    codes = signExtendFourBit(builder, codes, type);

  // Each gathered row's scales and zero points, [indices..., blocks], repeated over their
  // blocks.
  SmallVector<int64_t> blockShape(getRanked(indices).getShape());
  blockShape.push_back(shape.blocks);
  int64_t lastAxis = blockShape.size() - 1;
  auto perValue = [&](Value perBlock) {
    return repeatBlocks(builder, perBlock, blockShape, lastAxis, shape.block, shape.columns);
  };
  Value scale =
      perValue(builder.create("Gather", {builder.reshape(scales, {rows, shape.blocks}), indices}));
  Value zeroPoint;
  if (Value zeroPoints = node.getOptionalInput(3)) {
    zeroPoint =
        gatherFields(builder, bytesOf(zeroPoints), indices, scales, shape.bits, shape.blocks);
    if (signedFourBit)
      zeroPoint = signExtendFourBit(builder, zeroPoint, type);
    zeroPoint = perValue(zeroPoint);
  } else if (!shape.fourBitType) {
    zeroPoint = builder.scalar(1 << (shape.bits - 1), type);
  }
  return {dequantize(builder, codes, zeroPoint, scale)};
}

//===----------------------------------------------------------------------===//
// DequantizeLinear
//===----------------------------------------------------------------------===//

/// DequantizeLinear(x, x_scale, x_zero_point?): (x - zero point) · scale, the scale and zero
/// point one for the tensor, one per index along `axis`, or (opset 21) one per block of
/// `block_size` along it.
LogicalResult checkDequantizeLinear(onnx::NodeOp node) {
  Value x = node.getInputs()[0];
  Type elementType = getElementTypeOrSelf(x);
  if (!elementType.isInteger() || elementType.isInteger(64))
    return fail(node, "input 0 must be a tensor of 4-, 8-, 16- or 32-bit integers");
  if (failed(checkIntAttr(node, "output_dtype", 0)) || failed(checkRank(node, 0, 0)) ||
      failed(checkFloats(node, 1)) || failed(checkStatic(node, 1)) ||
      failed(checkStatic(node, 2)) || failed(checkFourBitInitializer(node, 0)) ||
      failed(checkFourBitInitializer(node, 2)))
    return failure();
  RankedTensorType type = getRanked(x), scale = getRanked(node.getInputs()[1]);
  int64_t rank = type.getRank();
  int64_t axis = node.getIntAttr("axis", 1);
  if (scale.getNumElements() == 1 && node.getIntAttr("block_size", 0) == 0)
    return success();
  if (axis < -rank || axis >= rank)
    return fail(node, "axis " + Twine(axis) + " is out of range for rank " + Twine(rank));
  axis = axis < 0 ? axis + rank : axis;
  int64_t size = type.getDimSize(axis);
  int64_t block = node.getIntAttr("block_size", 0);
  if (block == 0) {
    if (scale.getRank() == 1 && scale.getDimSize(0) == size)
      return success();
    return fail(node, "a per-axis scale must be 1-D with the size of axis " + Twine(axis));
  }
  if (block < 0 || scale.getRank() != rank || ShapedType::isDynamic(size) ||
      scale.getDimSize(axis) != ceilDiv(size, block))
    return fail(node, "a blocked scale must have the input's rank and ceil(size / block_size) "
                      "along a static axis " +
                          Twine(axis));
  for (int64_t dim = axis + 1; dim < rank; ++dim)
    if (scale.getDimSize(dim) != type.getDimSize(dim))
      return fail(node, "a blocked scale must have the input's dims after the axis");
  return success();
}

Replacements expandDequantizeLinear(onnx::NodeOp node, NodeBuilder &builder) {
  Value scale = node.getInputs()[1];
  Value x = toFloats(builder, node.getInputs()[0], scale);
  Value zeroPoint = node.getOptionalInput(2);
  if (zeroPoint)
    zeroPoint = toFloats(builder, zeroPoint, scale);
  RankedTensorType type = getRanked(node.getInputs()[0]), scaleType = getRanked(scale);
  int64_t rank = type.getRank();
  int64_t axis = node.getIntAttr("axis", 1);
  axis = axis < 0 ? axis + rank : axis;
  int64_t block = node.getIntAttr("block_size", 0);
  // Per axis: a scale [size] broadcast as [size, 1, ...]; blocked: repeated over blocks.
  std::function<Value(Value)> align = [](Value value) { return value; };
  if (block > 0) {
    align = [&](Value value) {
      return repeatBlocks(builder, value, scaleType.getShape(), axis, block, type.getDimSize(axis));
    };
  } else if (scaleType.getNumElements() != 1 && axis + 1 < rank) {
    SmallVector<int64_t> shape(rank - axis, 1);
    shape.front() = scaleType.getDimSize(0);
    align = [&builder, shape](Value value) { return builder.reshape(value, shape); };
  }
  return {dequantize(builder, x, zeroPoint ? align(zeroPoint) : Value(), align(scale))};
}

//===----------------------------------------------------------------------===//
// QMoE
//===----------------------------------------------------------------------===//

using namespace moec::onnx::qmoe;

/// One projection of QMoE: weights [E, N, K · bits / 8] uint8, scales [E, N] (one per
/// row) or [E, N, ceil(K / block_size)], zero points packed like the weights along the
/// last dim ([E, ceil(N · bits / 8)] or [E, N, ceil(blocks · bits / 8)]) or 2^(bits - 1).
struct QMoEProjection {
  unsigned weights, scales, bias, zeroPoints;
};
constexpr QMoEProjection kFc1{kFc1Weights, kFc1Scales, kFc1Bias, kFc1ZeroPoints};
constexpr QMoEProjection kFc2{kFc2Weights, kFc2Scales, kFc2Bias, kFc2ZeroPoints};
constexpr QMoEProjection kFc3{kFc3Weights, kFc3Scales, kFc3Bias, kFc3ZeroPoints};

int64_t getQMoEBits(onnx::NodeOp node) { return node.getIntAttr("expert_weight_bits", 4); }

/// Fails unless `projection`'s inputs fit K = `inputs`: its row count in `rows`.
LogicalResult checkQMoEProjection(onnx::NodeOp node, const QMoEProjection &projection,
                                  StringRef name, int64_t experts, int64_t inputs, int64_t &rows) {
  if (!node.hasInput(projection.weights) || !node.hasInput(projection.scales))
    return fail(node, name + " needs its weights and scales");
  for (unsigned index : {projection.weights, projection.scales, projection.zeroPoints})
    if (failed(checkStatic(node, index)))
      return failure();
  int64_t bits = getQMoEBits(node), block = node.getIntAttr("block_size", 0);
  RankedTensorType weights = getRanked(node.getInputs()[projection.weights]);
  if (!weights.getElementType().isUnsignedInteger(8))
    return fail(node, name + " weights must be uint8 (the integer quant_type)");
  if (weights.getRank() != 3 || weights.getDimSize(0) != experts ||
      weights.getDimSize(2) != ceilDiv(inputs * bits, 8))
    return fail(node, name + " weights must be [" + Twine(experts) + ", N, " +
                          Twine(ceilDiv(inputs * bits, 8)) + "] (the unpacked layout)");
  rows = weights.getDimSize(1);
  SmallVector<int64_t> scaleShape = {experts, rows};
  if (block > 0)
    scaleShape.push_back(ceilDiv(inputs, block));
  if (getRanked(node.getInputs()[projection.scales]).getShape() != ArrayRef(scaleShape))
    return fail(node, name + " scales must be [E, N" + (block > 0 ? ", blocks" : "") +
                          "] for block_size " + Twine(block));
  if (Value zeroPoints = node.getOptionalInput(projection.zeroPoints)) {
    int64_t perRow = block > 0 ? scaleShape[2] : rows;
    if (!getElementTypeOrSelf(zeroPoints).isUnsignedInteger(8) ||
        getRanked(zeroPoints).getNumElements() !=
            (block > 0 ? experts * rows : experts) * ceilDiv(perRow * bits, 8))
      return fail(node, name + " zero points must be uint8 packed like the weights");
  }
  return success();
}

LogicalResult checkQMoE(onnx::NodeOp node) {
  for (unsigned index = kFirstUnsupported; index < node.getInputs().size(); ++index)
    if (node.hasInput(index))
      return fail(node, "input " + Twine(index) +
                            " (router weights, global or activation scales) is not supported");
  if (node.getStringAttr("quant_type", "int") != "int")
    return fail(node, "quant_type '" + node.getStringAttr("quant_type", "int") +
                          "' is not supported (only 'int')");
  int64_t bits = getQMoEBits(node);
  if (failed(checkBits(node, bits)))
    return failure();
  for (StringRef perProjection :
       {"fc1_expert_weight_bits", "fc2_expert_weight_bits", "fc3_expert_weight_bits"})
    if (failed(checkIntAttr(node, perProjection, bits)))
      return failure();
  if (failed(checkIntAttr(node, "weights_prepacked", 0)) ||
      failed(checkIntAttr(node, "use_sparse_mixer", 0)) ||
      failed(checkIntAttr(node, "swiglu_limit_after_activation", 0)) ||
      failed(checkRank(node, kInput, 2, 3)) || failed(checkRank(node, kRouterProbs, 2, 2)) ||
      failed(checkFloats(node, kInput)) || failed(checkFloats(node, kRouterProbs)))
    return failure();
  if (getDefaultOpset(node) < 13)
    return fail(node, "expanding it takes ONNX opset 13 or newer");
  int64_t block = node.getIntAttr("block_size", 0);
  if (block < 0 || (block > 0 && (block < 16 || (block & (block - 1)))))
    return fail(node, "block_size must be 0 or a power of two from 16");

  StringRef activation = node.getStringAttr("activation_type", "relu");
  if (!llvm::is_contained({"relu", "gelu", "silu", "identity", "swiglu"}, activation))
    return fail(node, "activation_type '" + activation + "' is not supported");
  int64_t fusion = node.getIntAttr("swiglu_fusion", 0);
  bool swiglu = activation == "swiglu";
  if (swiglu && (fusion < 0 || fusion > 2))
    return fail(node, "swiglu_fusion " + Twine(fusion) + " is not 0, 1 or 2");
  bool fusedUp = swiglu && fusion != 0;
  if (swiglu && !fusedUp && !node.hasInput(kFc3Weights))
    return fail(node, "swiglu_fusion 0 needs fc3 (the up projection)");
  if (fusedUp && node.hasInput(kFc3Weights))
    return fail(node, "fc3 is given although swiglu_fusion fuses it into fc1");
  if (!swiglu && node.hasInput(kFc3Weights))
    return fail(node, "fc3 (a gated up projection) is supported only with activation 'swiglu'");

  RankedTensorType input = getRanked(node.getInputs()[kInput]);
  int64_t hidden = input.getDimSize(input.getRank() - 1);
  RankedTensorType fc1 = getRanked(node.getInputs()[kFc1Weights]);
  if (ShapedType::isDynamic(hidden) || !fc1 || fc1.getRank() != 3 || !fc1.hasStaticShape())
    return fail(node, "the hidden size and fc1's weights must be static");
  int64_t experts = fc1.getDimSize(0), k = node.getIntAttr("k", 1);
  if (k < 1 || k > experts)
    return fail(node,
                "k = " + Twine(k) + " is not between 1 and the " + Twine(experts) + " experts");
  int64_t fc1Rows = 0, fc2Rows = 0, fc3Rows = 0;
  if (failed(checkQMoEProjection(node, kFc1, "fc1", experts, hidden, fc1Rows)))
    return failure();
  int64_t inter = fusedUp ? fc1Rows / 2 : fc1Rows;
  if ((fusedUp && fc1Rows % 2 != 0) ||
      failed(checkQMoEProjection(node, kFc2, "fc2", experts, inter, fc2Rows)))
    return failure();
  if (fc2Rows != hidden)
    return fail(node, "fc2 has " + Twine(fc2Rows) + " rows, not the hidden size " + Twine(hidden));
  if (node.hasInput(kFc3Weights) &&
      (failed(checkQMoEProjection(node, kFc3, "fc3", experts, hidden, fc3Rows)) ||
       fc3Rows != inter))
    return fail(node, "fc3 must have as many rows as fc1");
  return success();
}

/// `projection`'s weights dequantized: [E, N, K] like the scales.
Value dequantizeProjection(onnx::NodeOp node, NodeBuilder &builder,
                           const QMoEProjection &projection, int64_t inputs) {
  int64_t bits = getQMoEBits(node), block = node.getIntAttr("block_size", 0);
  Value scales = node.getInputs()[projection.scales];
  ArrayRef<int64_t> scaleShape = getRanked(scales).getShape();
  Type type = getElementTypeOrSelf(scales);
  auto unpack = [&](Value packed, int64_t rank, int64_t count) {
    Value fields = unpackFields(builder, packed, rank, bits, scales);
    int64_t packedCount = getRanked(packed).getShape().back();
    return packedCount * 8 / bits == count ? fields : builder.slice(fields, -1, 0, count);
  };
  Value codes = unpack(node.getInputs()[projection.weights], 3, inputs);
  Value zeroPoints = node.getOptionalInput(projection.zeroPoints);
  Value scale, zeroPoint = builder.scalar(1 << (bits - 1), type);
  if (block == 0) {
    scale = builder.unsqueeze(scales, {2});
    if (zeroPoints)
      zeroPoint = builder.unsqueeze(unpack(zeroPoints, 2, scaleShape[1]), {2});
  } else {
    scale = repeatBlocks(builder, scales, scaleShape, 2, block, inputs);
    if (zeroPoints)
      zeroPoint =
          repeatBlocks(builder, unpack(zeroPoints, 3, scaleShape[2]), scaleShape, 2, block, inputs);
  }
  return dequantize(builder, codes, zeroPoint, scale);
}

/// Every expert's `projection` of `tokens` [T, K]: [E, T, N], plus the bias.
Value projectAll(onnx::NodeOp node, NodeBuilder &builder, const QMoEProjection &projection,
                 Value tokens, int64_t inputs) {
  Value weights = dequantizeProjection(node, builder, projection, inputs);
  Type inputType = getElementTypeOrSelf(node.getInputs()[kInput]);
  if (getElementTypeOrSelf(node.getInputs()[projection.scales]) != inputType)
    weights = builder.create("CastLike", {weights, tokens});
  Value product = builder.create("MatMul", {tokens, builder.transpose(weights, {0, 2, 1})});
  if (Value bias = node.getOptionalInput(projection.bias))
    product = builder.create("Add", {product, builder.unsqueeze(bias, {1})});
  return product;
}

/// ORT's SwiGLU of gate g and up l: G · sigmoid(alpha · G) · (L + beta), where G = min(g,
/// limit) and L = clamp(l, -limit, limit) when swiglu_limit is given.
Value buildSwiGLU(onnx::NodeOp node, NodeBuilder &builder, Value gate, Value up, Type type) {
  if (node.hasNodeAttr("swiglu_limit")) {
    double limit = node.getFloatAttr("swiglu_limit", 0.0);
    gate = builder.create("Min", {gate, builder.scalar(limit, type)});
    up = builder.create("Max", {builder.create("Min", {up, builder.scalar(limit, type)}),
                                builder.scalar(-limit, type)});
  }
  Value scaledGate = builder.create(
      "Mul", {gate, builder.scalar(node.getFloatAttr("activation_alpha", 1.0), type)});
  Value activated = builder.create("Mul", {gate, builder.create("Sigmoid", scaledGate)});
  Value shiftedUp =
      builder.create("Add", {up, builder.scalar(node.getFloatAttr("activation_beta", 0.0), type)});
  return builder.create("Mul", {activated, shiftedUp});
}

/// QMoE(input, router_probs, fc1.., fc2.., fc3.., zero points..): the softmax of the router
/// logits picks the top k experts per token (their weights renormalized when
/// normalize_routing_weights), and the output is the weighted sum of those experts'
/// fc2(activation(fc1(x))). Every expert computes every token here; the experts not picked
/// have weight 0.
Replacements expandQMoE(onnx::NodeOp node, NodeBuilder &builder) {
  Value input = node.getInputs()[kInput];
  RankedTensorType inputType = getRanked(input);
  Type type = inputType.getElementType();
  int64_t hidden = inputType.getDimSize(inputType.getRank() - 1);
  int64_t k = node.getIntAttr("k", 1);

  // The routing weight of every expert for every token, [T, E], zero for those not picked.
  Value probs =
      builder.create("Softmax", node.getInputs()[kRouterProbs], {builder.attr("axis", -1)});
  SmallVector<Value> top =
      builder.createMany("TopK", {probs, builder.ints({k})}, 2, {builder.attr("axis", -1)});
  Value weights = top[0];
  if (node.getIntAttr("normalize_routing_weights", 0))
    weights = builder.create("Div", {weights, builder.reduce("ReduceSum", weights, {-1})});
  Value gates =
      builder.create("ScatterElements",
                     {builder.create("Mul", {probs, builder.scalar(0.0, type)}), top[1], weights},
                     {builder.attr("axis", 1)});

  // The experts' outputs, [E, T, hidden].
  Value tokens = builder.reshape(input, {-1, hidden});
  StringRef activation = node.getStringAttr("activation_type", "relu");
  int64_t fusion = node.getIntAttr("swiglu_fusion", 0);
  Value up = projectAll(node, builder, kFc1, tokens, hidden);
  int64_t fc1Rows = getRanked(node.getInputs()[kFc1Scales]).getDimSize(1);
  Value gate = up, second;
  if (activation == "swiglu" && fusion == 1) {
    gate = builder.slice(up, -1, 0, fc1Rows, 2);
    second = builder.slice(up, -1, 1, fc1Rows, 2);
  } else if (activation == "swiglu" && fusion == 2) {
    gate = builder.slice(up, -1, 0, fc1Rows / 2);
    second = builder.slice(up, -1, fc1Rows / 2, fc1Rows);
  } else if (activation == "swiglu") {
    second = projectAll(node, builder, kFc3, tokens, hidden);
  }
  Value hiddenActivation =
      llvm::StringSwitch<std::function<Value()>>(activation)
          .Case("swiglu", [&] { return buildSwiGLU(node, builder, gate, second, type); })
          .Case("relu", [&] { return builder.create("Relu", gate); })
          .Case("gelu", [&] { return buildTanhGelu(builder, gate, type); })
          .Case("silu",
                [&] { return builder.create("Mul", {gate, builder.create("Sigmoid", gate)}); })
          .Default([&] { return gate; })();
  bool fusedUp = activation == "swiglu" && fusion != 0;
  int64_t inter = fusedUp ? fc1Rows / 2 : fc1Rows;
  Value outputs = projectAll(node, builder, kFc2, hiddenActivation, inter);

  // Their sum weighted by the routing, in the input's shape.
  Value perExpert = builder.unsqueeze(builder.transpose(gates, {1, 0}), {2});
  Value combined =
      builder.create("ReduceSum", {builder.create("Mul", {outputs, perExpert}), builder.ints({0})},
                     {builder.attr("keepdims", 0)});
  return {builder.create("Reshape", {combined, builder.create("Shape", input)})};
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

const Expansion kExpansions[] = {
    {"com.microsoft", "MatMulNBits", checkMatMulNBits, expandMatMulNBits},
    {"com.microsoft", "GatherBlockQuantized", checkGatherBlockQuantized,
     expandGatherBlockQuantized},
    {"com.microsoft", "QMoE", checkQMoE, expandQMoE},
    {"", "DequantizeLinear", checkDequantizeLinear, expandDequantizeLinear},
};

struct ExpandQuantizedOps : moec::impl::ExpandQuantizedOpsBase<ExpandQuantizedOps> {
  void runOnOperation() override {
    if (failed(expansion::expandNodes(getOperation(), kExpansions)))
      signalPassFailure();
  }
};

} // namespace
