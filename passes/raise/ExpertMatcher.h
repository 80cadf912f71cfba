//===- ExpertMatcher.h - Recover an expert MLP from an onnx-level graph ---===//
//
// Given the value entering an expert and the value leaving it, recovers the expert's body
// as `#moe.expert` describes it: `down(act(x @ W_up))` or `down(act(x @ W_gate) * (x @ W_up))`
// with optional biases, the activation recognized in the forms torch's exporter writes
// (SiLU as x * Sigmoid(x), the squared ReLU as Pow or Mul of a Relu, GELU as its Erf or
// Tanh formula or opset 20's Gelu op, GPT-OSS's clamped SwiGLU as Clip / Sigmoid over
// interleaved gate and up columns, DeepSeek-V4's SwiGLU of a Clip of the gate and a Clip of
// the up).
//
// The projections are Linears (ONNXMatch.h): one per projection and expert, as a loop over
// experts exports them. Stacked [E, ...] weights (Einsum or batched MatMul over all
// experts) extend `Linear` with the expert's index into the stack; the body matching
// itself does not change.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_RAISE_EXPERTMATCHER_H
#define MOEC_PASSES_RAISE_EXPERTMATCHER_H

#include "ONNXMatch.h"

#include "moec/Dialect/MoE/MoE.h"

namespace moec::raise {

struct ExpertBody {
  moe::Activation activation;
  bool gated = false;
  /// GPT-OSS: one projection whose even columns are the gate and odd columns the up.
  bool interleaved = false;
  /// transformers 5's `gate_up_proj`: one projection whose first half of columns is the gate
  /// and second half the up (`chunk(2, dim=-1)`), moe.layer's own column order.
  bool halves = false;
  double alpha = 1.702, limit = 7.0;
  /// Gated and not interleaved: the gate projection. Otherwise null (unused).
  std::optional<Linear> gate;
  Linear up, down;

  /// The inner size I (columns of act(...) entering the down projection).
  int64_t getInnerSize() const { return down.getInSize(); }

  /// The `#moe.expert` this body is.
  moe::ExpertAttr getAttr(mlir::MLIRContext *context) const;

  /// Whether `other` is the same MLP over other weights: same activation, gating, bias
  /// presence and weight shapes. Every expert of a layer must be.
  bool isSameKind(const ExpertBody &other) const;
};

/// An activation applied to `input`.
struct Activated {
  moe::Activation activation;
  mlir::Value input;
};
/// The activation that gives `value`, of relu, relu2, silu (`x * Sigmoid(x)`), gelu and
/// gelu_tanh in the forms torch exports (formulas below opset 20, the Gelu op from 20), or
/// nothing.
std::optional<Activated> matchActivation(mlir::Value value);

/// Matches the expert that maps `input` to `output`, its projections recognized by
/// `matchProjection` (per-expert Linears by default; stacked ones for dense-masked exports).
/// A null `input` accepts projections of any input: the caller checks `up.input` (and that
/// `gate->input` is the same).
mlir::FailureOr<ExpertBody> matchExpertBody(
    mlir::Value input, mlir::Value output, Reason &reason,
    llvm::function_ref<mlir::FailureOr<Linear>(mlir::Value, Reason &)> matchProjection =
        matchLinear);

/// An optional shared expert added to the routed experts' sum, with its sigmoid gate.
struct SharedExpert {
  ExpertBody body;
  std::optional<Linear> gate;
  /// The value `routed sum + gate * shared` that the layer replaces.
  mlir::Value result;
  /// Null, or the view of the routed sum back to the shape of the tokens before they were
  /// flattened, when the shared expert is added to that (DeepSeek-V3's
  /// `out.view(B, S, H) + shared_experts(residuals)`): it then reads the layer and stands
  /// for `result`.
  mlir::Value unflattenedSum;
};

/// The shared expert added to `sum`, the routed experts' output over `tokens` `[T, H]`:
/// `sum + Sigmoid(Linear(tokens)) * shared(tokens)` (Qwen2-MoE) or `sum + shared(tokens)`; or,
/// when the tokens are the rows of a flattened input, `Reshape(sum, shape of input) +
/// shared(input)` (DeepSeek-V3). The shared expert has the routed experts' body and no
/// biases (moe.layer's shared operands).
std::optional<SharedExpert> matchSharedExpert(mlir::Value sum, mlir::Value tokens,
                                              const ExpertBody &routed);

} // namespace moec::raise

#endif // MOEC_PASSES_RAISE_EXPERTMATCHER_H
