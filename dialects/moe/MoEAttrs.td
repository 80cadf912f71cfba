#ifndef MOEC_DIALECT_MOE_MOEATTRS_TD
#define MOEC_DIALECT_MOE_MOEATTRS_TD

include "MoEDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def MoE_ScoringSoftmax : I32EnumAttrCase<"softmax", 0>;
def MoE_ScoringSigmoid : I32EnumAttrCase<"sigmoid", 1>;
def MoE_ScoringSparseMixer : I32EnumAttrCase<"sparse_mixer", 2>;
def MoE_ScoringSqrtSoftplus : I32EnumAttrCase<"sqrt_softplus", 3>;
def MoE_Scoring : I32EnumAttr<"Scoring", "how router logits become expert scores",
    [MoE_ScoringSoftmax, MoE_ScoringSigmoid, MoE_ScoringSparseMixer,
     MoE_ScoringSqrtSoftplus]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::moec::moe";
}
def MoE_ScoringAttr : EnumAttr<MoE_Dialect, MoE_Scoring, "scoring">;

def MoE_ActivationRelu : I32EnumAttrCase<"relu", 0>;
def MoE_ActivationGelu : I32EnumAttrCase<"gelu", 1>;
def MoE_ActivationGeluTanh : I32EnumAttrCase<"gelu_tanh", 2>;
def MoE_ActivationSilu : I32EnumAttrCase<"silu", 3>;
def MoE_ActivationSwigluClamped : I32EnumAttrCase<"swiglu_clamped", 4>;
def MoE_ActivationSiluClamped : I32EnumAttrCase<"silu_clamped", 5>;
def MoE_ActivationRelu2 : I32EnumAttrCase<"relu2", 6>;
def MoE_Activation : I32EnumAttr<"Activation", "the nonlinearity of an expert MLP",
    [MoE_ActivationRelu, MoE_ActivationGelu, MoE_ActivationGeluTanh, MoE_ActivationSilu,
     MoE_ActivationSwigluClamped, MoE_ActivationSiluClamped, MoE_ActivationRelu2]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::moec::moe";
}
def MoE_ActivationAttr : EnumAttr<MoE_Dialect, MoE_Activation, "activation">;

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

// A real-valued attribute parameter, stored as an f64 APFloat (attribute storage needs a
// hashable, comparable value) and written as a plain float literal.
class MoE_F64Parameter<string desc, string default>
    : AttrOrTypeParameter<"::llvm::APFloat", desc> {
  let comparator = "$_lhs.bitwiseIsEqual($_rhs)";
  let parser = "::moec::moe::parseF64Parameter($_parser)";
  let defaultValue = "::llvm::APFloat(double(" # default # "))";
}

class MoE_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<MoE_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def MoE_RoutingAttr : MoE_Attr<"Routing", "routing"> {
  let summary = "How a router turns logits into k experts and their weights";
  let description = [{
    Describes every routing scheme of the MoE models moec raises:

    - `scoring`: `softmax` over the experts (Mixtral, Qwen, OLMoE, Switch), an
      elementwise `sigmoid` (DeepSeek-V3), an elementwise `sqrt_softplus`,
      `sqrt(log(1 + exp(l)))` (DeepSeek-V4), or `sparse_mixer` (below).
    - `k`: experts chosen per token.
    - `renormalize`: divide the k chosen scores by their sum (Mixtral yes, Qwen2-MoE no).
    - `topk_first`: pick the top k on the raw logits (plus the score bias, if any) and score
      those k only: the softmax over the k (GPT-OSS), or the sigmoid of each (Kolibri);
      otherwise the scores are computed over all experts first, and chosen from.
    - `n_group` / `topk_group`: group-limited top-k (DeepSeek-V3): experts form `n_group`
      equal groups, each group is ranked by the sum of its two best scores, and only the
      experts of the best `topk_group` groups compete for the k slots. `1` / `1` is plain
      top-k.
    - `zero_masked_groups`: with group limiting, the experts outside the best groups are
      not left out but compete with a choice score of exactly 0 (AXK-2 masks them with 0,
      not -inf): one of them takes a slot that a kept expert whose biased score is below 0
      would otherwise take (ties toward the lower id, as always).
    - `weigh_inputs`: the weights multiply each chosen expert's input, the token, rather
      than its output (Llama 4): `y = sum_j expert_j(w_j * x)` instead of
      `sum_j w_j * expert_j(x)`, which differs for experts that are not linear. Only
      `moe.layer` applies weights; `moe.route`, which only computes them, does not take it.
    - `routed_scaling_factor`: multiplies the final weights (DeepSeek-V3 uses 2.5).
    - `capacity_factor`: `0` for dropless routing; otherwise each expert takes at most
      `ceil(capacity_factor * tokens * k / experts)` tokens and drops the rest.
    - `renormalize_epsilon`: a constant added to the sum of the k chosen scores before
      `renormalize` divides by it (LFM2-MoE adds 1e-6); `0`, the default, adds none.
    - `jitter_eps`: SparseMixer's mask width (below); `0.01`, the default, is what
      Phi-3.5-MoE and onnxruntime use; transformers takes the config's
      `router_jitter_noise`. Only `sparse_mixer` routing takes another value.

    A score-correction bias (DeepSeek-V3's `e_score_correction_bias`) is a tensor, so it is
    an operand of the ops that route, not part of this attribute: it is added to what the
    experts are chosen from (the scores, or the logits with `topk_first`) for choosing
    only, never to the weights.

    `sparse_mixer` is SparseMixer's top-2 at inference (Phi-3.5-MoE; onnxruntime's
    `use_sparse_mixer`), on a token's raw logits `l` with `eps = jitter_eps`:

    - the first expert `e1` is the best logit, `m1 = l[e1]`; the second `e2` is the best
      of the others, `m2 = l[e2]` (ties toward the lower id, as for every scoring);
    - the j-th expert's logit `mj` masks every expert `e` with
      `mj - l[e] > 2 * eps * max(|l[e]|, mj)` (about 2% below it), and its weight is the
      softmax at `ej` over the experts it does not mask, the earlier chosen expert left
      out:
      `w1 = 1 / sum(exp(l[e] - m1), e unmasked by m1)`,
      `w2 = 1 / sum(exp(l[e] - m2), e != e1 unmasked by m2)`.

    Each weight is at most one and the two need not sum to one. It needs `k = 2` and takes
    no renormalization, `topk_first`, groups or score bias; `routed_scaling_factor` still
    multiplies the weights.

    Examples: `#moe.routing<scoring = softmax, k = 2, renormalize = true>`,
    `#moe.routing<scoring = sigmoid, k = 2, topk_first = true>`,
    `#moe.routing<scoring = sigmoid, k = 4, renormalize = true, renormalize_epsilon = 1.0e-06>`,
    `#moe.routing<scoring = sparse_mixer, k = 2>`,
    `#moe.routing<scoring = sparse_mixer, k = 2, jitter_eps = 0.0>`,
    `#moe.routing<scoring = sqrt_softplus, k = 6, renormalize = true>`,
    `#moe.routing<scoring = sigmoid, k = 8, renormalize = true, n_group = 8, topk_group = 4, zero_masked_groups = true>`,
    `#moe.routing<scoring = sigmoid, k = 1, topk_first = true, weigh_inputs = true>`
  }];
  let parameters = (ins
    "Scoring":$scoring,
    "int64_t":$k,
    DefaultValuedParameter<"bool", "false">:$renormalize,
    DefaultValuedParameter<"bool", "false">:$topk_first,
    DefaultValuedParameter<"int64_t", "1">:$n_group,
    DefaultValuedParameter<"int64_t", "1">:$topk_group,
    MoE_F64Parameter<"", "1.0">:$routed_scaling_factor,
    MoE_F64Parameter<"", "0.0">:$capacity_factor,
    MoE_F64Parameter<"", "0.0">:$renormalize_epsilon,
    MoE_F64Parameter<"", "::moec::moe::kDefaultJitterEps">:$jitter_eps,
    DefaultValuedParameter<"bool", "false">:$zero_masked_groups,
    DefaultValuedParameter<"bool", "false">:$weigh_inputs
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// True when every token keeps all its k experts (no capacity limit).
    bool isDropless() const { return getCapacityFactor().isZero(); }
  }];
}

def MoE_ExpertAttr : MoE_Attr<"Expert", "expert"> {
  let summary = "The body of every expert: activation and gating";
  let description = [{
    Every routed expert (and every shared expert) of a layer is the same MLP over its own
    weights: `down(act(x @ W_up))`, or for a gated MLP `down(act(x @ W_gate) * (x @ W_up))`.

    - `activation`: `relu`, `relu2` (`relu(x)^2`, Nemotron-H's), `gelu` (erf), `gelu_tanh`,
      `silu` (SwiGLU when gated),
      `swiglu_clamped`, GPT-OSS's gated SiLU with clamping:
      `gate = min(g, limit)`, `up = clamp(u, -limit, limit)`,
      `out = (up + 1) * gate * sigmoid(alpha * gate)`, or `silu_clamped`, DeepSeek-V4's
      and HY-V4's SwiGLU with the same clamping but neither alpha nor the `+ 1`:
      `out = up * gate * sigmoid(gate)`.
    - `gated`: the up projection produces `2 * I` columns: the gate's `I` first, then the
      up's `I`. (Exports that interleave the two are de-interleaved when raising.)
    - `alpha`, `limit`: parameters of `swiglu_clamped`, and `limit` of `silu_clamped`; no
      other activation takes them.

    Biases are optional operands of the ops that carry this attribute, not flags here.

    Example: `#moe.expert<activation = silu, gated = true>`
  }];
  let parameters = (ins
    "Activation":$activation,
    DefaultValuedParameter<"bool", "false">:$gated,
    MoE_F64Parameter<"", "1.702">:$alpha,
    MoE_F64Parameter<"", "7.0">:$limit
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // MOEC_DIALECT_MOE_MOEATTRS_TD
