//===- TypeInference.h - Result types of ONNX nodes, op by op -------------===//
//
// moec infers every onnx.node's result types itself (moec-infer-types), whatever the
// installed ONNX library knows: element type, rank and static dims from the node's inputs,
// attributes and constant inputs, per op and opset. Small integer tensors carry their
// contents as far as they are known, so that a shape computed from shapes (Shape, Gather,
// Concat, ...) gives Reshape, Expand or ConstantOfShape their ranks and static dims.
//
// Each rule family lives in its own file and adds its rules to one table, keyed by op type
// (`DOMAIN::OpType` outside the default domain).
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_ONNX_TYPEINFERENCE_H
#define MOEC_PASSES_ONNX_TYPEINFERENCE_H

#include "moec/Dialect/ONNX/ONNX.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

#include <optional>

namespace moec::infer {

/// The contents of a small 0-D or 1-D integer tensor, element by element, each known or not
/// (a dim that only the run knows).
using IntContents = llvm::SmallVector<std::optional<int64_t>>;

/// Integer tensors up to this many elements have their contents tracked.
constexpr int64_t kMaxTrackedElements = 64;

/// What one rule sees of a node and what it concludes.
class NodeInference {
public:
  NodeInference(onnx::NodeOp node, const llvm::DenseMap<mlir::Value, IntContents> &contents);

  onnx::NodeOp getNode() const { return node; }
  unsigned getNumInputs() const { return node.getInputs().size(); }
  unsigned getNumResults() const { return node.getNumResults(); }
  /// Input `index`, or null when absent or omitted.
  mlir::Value getInput(unsigned index) const { return node.getOptionalInput(index); }
  /// The element type of input `index`, or null when not known.
  mlir::Type getElementType(unsigned index) const;
  /// The type of input `index` when it is a ranked tensor, else null.
  mlir::RankedTensorType getRanked(unsigned index) const;
  /// What is known of the contents of integer input `index`.
  std::optional<IntContents> getContents(unsigned index) const;
  /// The contents of integer input `index` when every element is known.
  std::optional<llvm::SmallVector<int64_t>> getConstantInts(unsigned index) const;
  /// The opset of the node's domain (ONNX's newest when the model does not say).
  int64_t getOpset() const;

  /// Result `index` is a tensor of `element` with `shape` (dynamic dims kDynamic).
  void setResult(unsigned index, mlir::Type element, llvm::ArrayRef<int64_t> shape);
  /// Result `index` is a tensor of `element` of unknown rank.
  void setUnrankedResult(unsigned index, mlir::Type element);
  /// Result `index` has the type of input `input` (elementwise ops).
  void setResultLikeInput(unsigned index, unsigned input);
  /// What is known of the contents of result `index` (a small integer tensor).
  void setContents(unsigned index, IntContents contents);
  /// The node is invalid whatever its inputs' values (static shapes that cannot broadcast,
  /// a constant index out of range): the pass stops with "node 'NAME' (OP): MESSAGE".
  void fail(const llvm::Twine &message) { error = message.str(); }

  /// The conclusions: per result, a type (null: nothing new) and maybe contents.
  llvm::ArrayRef<mlir::Type> getResultTypes() const { return resultTypes; }
  llvm::ArrayRef<std::optional<IntContents>> getResultContents() const { return resultContents; }
  /// Why the node is invalid, if `fail` said so.
  const std::optional<std::string> &getError() const { return error; }

private:
  // Ops are handles: reading one through a const NodeInference changes nothing.
  mutable onnx::NodeOp node;
  const llvm::DenseMap<mlir::Value, IntContents> &contents;
  llvm::SmallVector<mlir::Type> resultTypes;
  llvm::SmallVector<std::optional<IntContents>> resultContents;
  std::optional<std::string> error;
};

using TypeRule = void (*)(NodeInference &);
using TypeRules = llvm::StringMap<TypeRule>;

/// The rule families, one file each.
void addElementwiseTypeRules(TypeRules &rules);
void addShapeTypeRules(TypeRules &rules);
void addIndexingTypeRules(TypeRules &rules);
void addReductionTypeRules(TypeRules &rules);
void addContractionTypeRules(TypeRules &rules);
void addContribTypeRules(TypeRules &rules);
void addAttentionTypeRules(TypeRules &rules);

/// Every family's rules.
TypeRules getTypeRules();

/// Refines the result type of every node under `root` from its inputs with `rules`, sweeping
/// until nothing changes, and records in `contents` what is known of small integer tensors.
/// A result whose declared type contradicts its inputs is an error on the node: failure.
mlir::LogicalResult inferGraphTypes(mlir::Operation *root, const TypeRules &rules,
                                    llvm::DenseMap<mlir::Value, IntContents> &contents);

/// numpy matmul of inputs 0 and 1 (1-D operands promoted, batch dims broadcast), each
/// optionally with its last two dims swapped first, as result 0.
void inferMatMulResult(NodeInference &node, bool transposeLhs, bool transposeRhs);

/// The key of a node's rule: its op type, prefixed with `DOMAIN::` outside ai.onnx.
std::string getRuleKey(llvm::StringRef domain, llvm::StringRef opType);

//===----------------------------------------------------------------------===//
// Shape arithmetic shared by the rules
//===----------------------------------------------------------------------===//

/// ONNX's multidirectional (numpy) broadcast of two shapes, or nothing when they cannot
/// broadcast.
std::optional<llvm::SmallVector<int64_t>> broadcastShapes(llvm::ArrayRef<int64_t> lhs,
                                                          llvm::ArrayRef<int64_t> rhs);

/// `axis` in [-rank, rank) as a dimension index, or nothing when out of range.
std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank);

/// The product of `dims`, dynamic when any is.
int64_t multiplyDims(llvm::ArrayRef<int64_t> dims);

/// Contents of a rank-0/1 integer value whose shape is `shape` with each known dim.
IntContents contentsOfDims(llvm::ArrayRef<int64_t> dims);

} // namespace moec::infer

#endif // MOEC_PASSES_ONNX_TYPEINFERENCE_H
