//===- ORTMoE.cpp - What onnxruntime's MoE and QMoE contrib ops share -----===//

#include "ORTMoE.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace moec;
using namespace moec::raise;
using namespace moec::raise::ort;

SourceColumns Projection::getColumns(int64_t expert, int64_t first, int64_t step,
                                     int64_t count) const {
  if (bytes.bytes.empty())
    return SourceColumns::zeros(count);
  return SourceColumns::ofMatrix(bytes, expert * in * out, in, out,
                                 /*transposed=*/!legacyLayout, first, step, count);
}

int64_t ort::getWidth(ArrayRef<ColumnRun> columns) {
  int64_t width = 0;
  for (const ColumnRun &run : columns)
    width += run.count;
  return width;
}

FailureOr<ExpertBody> ort::readExpertBody(onnx::NodeOp node, bool hasFc3, bool hasFc3Bias,
                                          std::string &why) {
  // ORT's CPU kernel computes "gelu" with the tanh approximation.
  StringRef activationName = node.getStringAttr("activation_type", "relu");
  std::optional<moe::Activation> activation =
      llvm::StringSwitch<std::optional<moe::Activation>>(activationName)
          .Case("relu", moe::Activation::relu)
          .Case("gelu", moe::Activation::gelu_tanh)
          .Case("silu", moe::Activation::silu)
          .Case("swiglu", moe::Activation::swiglu_clamped)
          .Default(std::nullopt);
  if (!activation) {
    why = ("activation_type '" + activationName + "' has no moe.expert equivalent").str();
    return failure();
  }
  bool swiglu = activationName == "swiglu";
  int64_t swigluFusion = node.getIntAttr("swiglu_fusion", 0);
  if (swiglu && (swigluFusion < 0 || swigluFusion > 2)) {
    why = ("swiglu_fusion = " + Twine(swigluFusion) + " is not 0, 1 or 2").str();
    return failure();
  }
  ExpertBody body;
  body.fusedFc1 = swiglu && swigluFusion != 0;
  body.interleaved = swiglu && swigluFusion == 1;
  if (body.fusedFc1 && (hasFc3 || hasFc3Bias)) {
    why = "fc3 is given although swiglu_fusion fuses the up projection into fc1";
    return failure();
  }
  if (swiglu && !body.fusedFc1 && !hasFc3) {
    why = "swiglu_fusion = 0 needs fc3_experts_weights for the up projection";
    return failure();
  }
  if (!hasFc3 && hasFc3Bias) {
    why = "fc3_experts_bias is given without fc3_experts_weights";
    return failure();
  }
  body.gated = swiglu || hasFc3;

  // ORT's SwiGLU is G * sigmoid(alpha * G) * (L + beta), G = min(g, limit) and
  // L = clamp(l, -limit, limit) when swiglu_limit is given. moe has it with beta = 1
  // (swiglu_clamped) and, unclamped, with alpha = 1 and beta = 0 (gated silu).
  APFloat alpha(1.702), limit(7.0);
  if (swiglu) {
    double alphaValue = node.getFloatAttr("activation_alpha", 1.0);
    double betaValue = node.getFloatAttr("activation_beta", 0.0);
    std::optional<double> limitValue;
    if (node.hasNodeAttr("swiglu_limit"))
      limitValue = node.getFloatAttr("swiglu_limit", 0.0);
    if (limitValue && betaValue == 1.0) {
      alpha = APFloat(alphaValue);
      limit = APFloat(*limitValue);
    } else if (!limitValue && alphaValue == 1.0 && betaValue == 0.0) {
      activation = moe::Activation::silu;
    } else {
      llvm::raw_string_ostream os(why);
      os << "swiglu with activation_alpha = " << alphaValue << ", activation_beta = " << betaValue;
      if (limitValue)
        os << ", swiglu_limit = " << *limitValue;
      else
        os << ", no swiglu_limit";
      os << " is neither swiglu_clamped (beta = 1, with a limit) nor gated silu (alpha = 1, "
            "beta = 0, no limit)";
      return failure();
    }
  }
  body.expert = moe::ExpertAttr::get(node.getContext(), *activation, body.gated, alpha, limit);
  return body;
}

SmallVector<ColumnRun> ort::getUpColumns(const ExpertBody &body, bool hasFc3, int64_t inter) {
  // moe's gated layout: the gate's columns, then the up's. ORT interleaves them with the
  // gate first (swiglu_fusion = 1), concatenates them (2), or keeps the up in fc3.
  SmallVector<ColumnRun> columns{{0, 0, body.interleaved ? 2 : 1, inter}};
  if (!body.gated)
    return columns;
  if (hasFc3)
    columns.push_back({1, 0, 1, inter});
  else if (body.interleaved)
    columns.push_back({0, 1, 2, inter});
  else
    columns.push_back({0, inter, 1, inter});
  return columns;
}

FailureOr<moe::RoutingAttr> ort::readRouting(onnx::NodeOp node, int64_t experts, std::string &why) {
  int64_t k = node.getIntAttr("k", 1);
  if (k < 1 || k > experts) {
    why = ("k = " + Twine(k) + " is not between 1 and the " + Twine(experts) + " experts").str();
    return failure();
  }
  bool normalize = node.getIntAttr("normalize_routing_weights", 0) != 0;
  // onnxruntime takes SparseMixer routing for use_sparse_mixer == 1 exactly.
  int64_t useSparseMixer = node.getIntAttr("use_sparse_mixer", 0);
  if (useSparseMixer != 0 && useSparseMixer != 1) {
    why = ("use_sparse_mixer = " + Twine(useSparseMixer) + " is not 0 or 1").str();
    return failure();
  }
  bool sparseMixer = useSparseMixer == 1;
  if (sparseMixer && k != 2) {
    why = ("use_sparse_mixer (SparseMixer routing) needs k = 2, got k = " + Twine(k)).str();
    return failure();
  }
  // With SparseMixer, onnxruntime's CUDA kernel ignores the normalization and its CPU
  // kernel the SparseMixer: the combination has no one meaning.
  if (sparseMixer && normalize) {
    why = "use_sparse_mixer with normalize_routing_weights = 1";
    return failure();
  }
  return moe::RoutingAttr::get(
      node.getContext(), sparseMixer ? moe::Scoring::sparse_mixer : moe::Scoring::softmax, k,
      normalize, /*topk_first=*/false, /*n_group=*/1, /*topk_group=*/1, APFloat(1.0), APFloat(0.0),
      /*renormalize_epsilon=*/APFloat(0.0), APFloat(moe::kDefaultJitterEps),
      /*zero_masked_groups=*/false, /*weigh_inputs=*/false);
}

std::string ort::describeShape(ArrayRef<int64_t> shape) {
  std::string text = "[";
  llvm::raw_string_ostream os(text);
  llvm::interleave(
      shape, os, [&](int64_t dim) { os << dim; }, ", ");
  os << "]";
  return text;
}

/// Whether `columns` of `sources` are one whole projection already in moe's layout, in order.
static bool isInMoELayout(ArrayRef<Projection> sources, ArrayRef<ColumnRun> columns) {
  if (columns.size() != 1 || !sources[columns.front().source].constant)
    return false;
  const ColumnRun &run = columns.front();
  const Projection &source = sources[run.source];
  return source.legacyLayout && run.first == 0 && run.step == 1 && run.count == source.out;
}

FailureOr<Value> ort::createWeight(PatternRewriter &rewriter, Location loc, const Twine &name,
                                   RankedTensorType type, ArrayRef<Projection> sources,
                                   ArrayRef<ColumnRun> columns, int64_t rows) {
  if (isInMoELayout(sources, columns) && sources[columns.front().source].constant.getType() == type)
    return sources[columns.front().source].constant;
  return createWeightStack(
      rewriter, loc, type, name.str(), type.getDimSize(0), rows, [&](int64_t expert) {
        ExpertColumns parts;
        for (const ColumnRun &run : columns)
          parts.push_back(sources[run.source].getColumns(expert, run.first, run.step, run.count));
        return parts;
      });
}

LogicalResult Biases::create(PatternRewriter &rewriter, Location loc, StringRef name,
                             Type elementType, int64_t experts, int64_t hidden,
                             ArrayRef<ColumnRun> upColumns, Value &upBias, Value &downBias) const {
  auto create = [&](StringRef suffix, ArrayRef<Projection> sources, ArrayRef<ColumnRun> columns,
                    Value &bias) {
    FailureOr<Value> value = createWeight(
        rewriter, loc, name + suffix,
        RankedTensorType::get({experts, getWidth(columns)}, elementType), sources, columns, 1);
    bias = succeeded(value) ? *value : Value();
    return success(succeeded(value));
  };
  ColumnRun downColumns{0, 0, 1, hidden};
  return success((!hasUp || succeeded(create(".up_bias", up, upColumns, upBias))) &&
                 (!hasDown || succeeded(create(".down_bias", down, downColumns, downBias))));
}

std::string ort::checkLayerResult(onnx::NodeOp node, Value tokens) {
  auto resultType = llvm::dyn_cast<RankedTensorType>(node.getResult(0).getType());
  if (!resultType || !tensor::CastOp::areCastCompatible(resultType, tokens.getType()))
    return "its output type does not match its input's";
  return "";
}

void ort::replaceWithLayer(PatternRewriter &rewriter, onnx::NodeOp node, Value tokens,
                           Value routerLogits, Value up, Value down, Value upBias, Value downBias,
                           moe::RoutingAttr routing, moe::ExpertAttr expert) {
  Location loc = node.getLoc();
  auto tokensType = llvm::cast<RankedTensorType>(tokens.getType());
  // moe.layer takes tokens as rows: [B, S, H] inputs are flattened and restored around it.
  bool batched = tokensType.getRank() == 3;
  SmallVector<ReassociationIndices> batchDims = {{0, 1}, {2}};
  Value rows = tokens;
  if (batched)
    rows = tensor::CollapseShapeOp::create(rewriter, loc, tokens, batchDims);
  Value layer = moe::LayerOp::create(
      rewriter, loc, rows.getType(), rows, up, down, /*router_weight=*/Value(), routerLogits,
      /*router_bias=*/Value(), /*score_bias=*/Value(), upBias, downBias, /*shared_up=*/Value(),
      /*shared_down=*/Value(), /*shared_gate=*/Value(), routing, expert);
  if (batched) {
    SmallVector<OpFoldResult> batchShape = tensor::getMixedSizes(rewriter, loc, tokens);
    layer = tensor::ExpandShapeOp::create(rewriter, loc, tokensType, layer, batchDims, batchShape);
  }
  Type resultType = node.getResult(0).getType();
  if (layer.getType() != resultType)
    layer = tensor::CastOp::create(rewriter, loc, resultType, layer);
  rewriter.replaceOp(node, layer);
}
