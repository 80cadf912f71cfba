//===- ONNXMatch.h - Reading onnx-level graphs for the raising passes -----===//
//
// The raising matchers walk `onnx.node` graphs backwards from a value. These helpers give
// them the defining node of a given op type and the contents of `onnx.constant`s (dense
// resources or dense elements) without copying them. A node's attributes and optional
// inputs are read with the op's own accessors (`getIntAttr`, `hasInput`, ...).
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_RAISE_ONNXMATCH_H
#define MOEC_PASSES_RAISE_ONNXMATCH_H

#include "moec/Dialect/ONNX/ConstantValues.h"
#include "moec/Dialect/ONNX/ONNX.h"

#include "mlir/IR/TypeUtilities.h"
#include "mlir/Support/LogicalResult.h"

#include <optional>
#include <string>

namespace moec::raise {

/// Why a match failed, for the remark that says what was not raised.
using Reason = std::string;

/// The default-domain node of `opType` that defines `value`, or null.
onnx::NodeOp getDefiningNode(mlir::Value value, llvm::StringRef opType);

/// The users of `value` that are default-domain nodes of `opType`.
llvm::SmallVector<onnx::NodeOp> getUsers(mlir::Value value, llvm::StringRef opType);
/// The single user of `value` that is a node of `opType`, or null.
onnx::NodeOp getSingleUser(mlir::Value value, llvm::StringRef opType);

/// `value` with float-to-float Casts (which torch writes around softmax) looked through.
mlir::Value skipFloatCasts(mlir::Value value);

/// `value` with reshapes looked through (Reshape, Squeeze, Unsqueeze, Flatten): the tensor
/// whose elements it holds in the same row-major order.
mlir::Value skipReshapes(mlir::Value value);
/// The first value of rank `rank` met looking back through `value`'s reshapes, `value`
/// itself included, or null.
mlir::Value skipReshapesToRank(mlir::Value value, int64_t rank);

/// Whether `node`'s constant integer input `index` holds exactly `expected`.
bool hasIntsInput(onnx::NodeOp node, unsigned index, llvm::ArrayRef<int64_t> expected);

/// The elements of an `onnx.constant` where moec holds them, not copied: a splat holds one
/// element.
using ConstantBytes = onnx::ElementsBytes;
/// The bytes of a static, byte-sized numeric constant, or nothing.
std::optional<ConstantBytes> getConstantBytes(mlir::Value value);

/// The raw row-major bytes of a numeric `onnx.constant` (splats expanded), with its type: a
/// copy, for small constants.
struct ConstantData {
  mlir::RankedTensorType type;
  llvm::SmallVector<char> bytes;
};
std::optional<ConstantData> getConstantData(mlir::Value value);
/// The fill value of a `ConstantOfShape` node (ONNX's default, one f32 zero, when absent).
std::optional<ConstantData> getFillData(onnx::NodeOp constantOfShape);

/// The type of `value` if it is a ranked tensor, else null.
inline mlir::RankedTensorType getRanked(mlir::Value value) {
  return llvm::dyn_cast<mlir::RankedTensorType>(value.getType());
}

/// Whether `value` is a float constant of rank `rank` with static dims.
bool isStaticFloatConstant(mlir::Value value, int64_t rank);

/// The single value of a one-element float constant, or of an integer constant as float.
std::optional<double> getScalarConstant(mlir::Value value);
/// The contents of an i32/i64 constant.
std::optional<llvm::SmallVector<int64_t>> getIntConstant(mlir::Value value);
/// The contents of a float constant (any width).
std::optional<llvm::SmallVector<double>> getFloatConstant(mlir::Value value);

/// The target shape of an Expand: an i64 constant, or the `Where(Equal(s, -1 * ones),
/// ones, s)` torch writes for `expand(-1, ...)` with a constant `s` (its -1s become 1s).
std::optional<llvm::SmallVector<int64_t>> getExpandShape(mlir::Value shape);

/// Whether `shape` is the shape of `tensor`: `Shape(tensor)`, or the Concat of its
/// dimensions one by one (`Unsqueeze(Gather(Shape(tensor), i), [0])`), as torch writes
/// `tensor.shape` after `view`.
bool isShapeOf(mlir::Value shape, mlir::Value tensor);

/// Whether the one-element integer tensor `value` is the product of the first `count` dims
/// of `tensor`, as torch writes `x.view(B * S, ...)`: a constant equal to the static product,
/// or `Mul(product of the first count - 1, dim count - 1)` of `Gather(Shape(tensor), i)`s,
/// maybe unsqueezed.
bool isLeadingDimsProduct(mlir::Value value, mlir::Value tensor, int64_t count);

/// Whether `value` is `fill` shaped like `like`: `ConstantOfShape(shape of like)` filled with
/// it, or `Expand(fill, shape of like)` (torch.export's `zeros_like`).
bool isFilledLike(mlir::Value value, mlir::Value like, double fill);
/// `isFilledLike(value, like, 0)`.
bool isZerosLike(mlir::Value value, mlir::Value like);

/// Whether `value` is a float constant with one element close to `expected` (relative
/// 1e-5: exporters round constants such as sqrt(2) to f32).
bool isScalarConstant(mlir::Value value, double expected);

/// Rows of `data` picked by indices `[N]`: `GatherND(data, indices [N, 1])` (batch_dims 0)
/// or `Gather(data, indices [N], axis = 0)`; `indices` as the node takes them.
struct RowGather {
  mlir::Value data;
  mlir::Value indices;
};
std::optional<RowGather> matchRowGather(mlir::Value value);

/// If `node` has two inputs and `matchFirst` holds for one of them, returns the index of
/// that input (0 or 1), trying input 0 first; for commutative ops.
std::optional<unsigned>
matchEitherInput(onnx::NodeOp node, llvm::function_ref<bool(mlir::Value)> matchFirst);

/// A torch Linear as exported: `MatMul(input, W)` with `W` a constant `[in, out]` (torch
/// folds the transpose of its `[out, in]` weight), optionally followed by `Add` of a bias
/// constant `[out]`; or `Gemm(input, W, bias?)` with `W` `[out, in]` (transB = 1) or
/// `[in, out]`.
struct Linear {
  mlir::Value input;
  /// The weight constant, and whether it is stored `[out, in]` (torch's layout).
  mlir::Value weight;
  bool weightIsOutIn = false;
  /// The bias constant `[out]`, or null.
  mlir::Value bias;
  /// Every expert's Linear at once (dense-masked exports): the weight is a stack
  /// `[E, in, out]` and the bias `[E, 1, out]`.
  bool stacked = false;
  /// One expert's Linear whose weight is that expert's matrix of a stack `[E, ., .]`
  /// (transformers 5's 3-D expert parameters in a loop over experts): the expert.
  std::optional<int64_t> expertOfStack;

  int64_t getInSize() const;
  int64_t getOutSize() const;
  /// E of a stacked Linear, or of the stack an expert's Linear takes its matrix from.
  int64_t getNumExperts() const;
  /// Where the weight's matrix starts in its constant, in elements.
  int64_t getWeightOffset() const;
};

/// Matches the Linear whose result is `output`.
mlir::FailureOr<Linear> matchLinear(mlir::Value output, Reason &reason);
/// Which expert of `experts` a 0-D `index` gathers a matrix of, or nothing.
using ExpertOfIndex =
    llvm::function_ref<std::optional<int64_t>(mlir::Value index, int64_t experts)>;
/// Which expert `index` (0-D) names, when it is a constant or the i-th of the experts hit
/// that a loop over `experts` experts visits: `Gather(Split(Transpose(NonZero(hit), [1, 0]),
/// axis 0 in `experts` parts)#i, 0)` (reshapes looked through). A graph that gathers a stack
/// of `experts` matrices by every part runs only where all `experts` experts are hit, so
/// the i-th is expert i.
std::optional<int64_t> getVisitedExpert(mlir::Value index, int64_t experts);

/// Matches the Linear whose result is `output`, the weight maybe one expert's matrix of a
/// stack (`expertOfStack`, matchExpertMatrix).
mlir::FailureOr<Linear> matchExpertLinear(mlir::Value output, Reason &reason,
                                          ExpertOfIndex expertOf = getVisitedExpert);

/// Expert `expert`'s matrix of a stacked float constant `stack` `[E, ., .]`, or its
/// transpose.
struct ExpertMatrix {
  mlir::Value stack;
  int64_t expert = 0;
  bool transposed = false;
};
/// `Squeeze(Split(stack, axis 0 in E parts)#e, [0])` or `Gather(stack, e, axis = 0)`, e a
/// constant or the e-th of the experts a loop visits (`expertOf`, getVisitedExpert by
/// default), maybe transposed (`Transpose(., [1, 0])`), the stack maybe a
/// `Transpose(W, [0, 2, 1])` of a constant.
std::optional<ExpertMatrix> matchExpertMatrix(mlir::Value value,
                                              ExpertOfIndex expertOf = getVisitedExpert);

/// The i-th of the experts hit that a loop over them visits: `index` (0-D) is
/// `Gather(Split(Transpose(NonZero(hit), [1, 0]), axis 0)#i, 0)` (reshapes looked through),
/// each part of the Split one element, `hit` 1-D.
struct HitPart {
  mlir::Value hit;
  int64_t part = 0, parts = 0;
};
std::optional<HitPart> matchHitPart(mlir::Value index);

/// Names a node for remarks: "'NAME' (OP_TYPE)".
std::string describe(mlir::Operation *op);

} // namespace moec::raise

#endif // MOEC_PASSES_RAISE_ONNXMATCH_H
