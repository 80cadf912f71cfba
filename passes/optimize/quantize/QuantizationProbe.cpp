//===- QuantizationProbe.cpp - Error of quantized experts on a random probe ===//

#include "QuantizationProbe.h"

#include "llvm/ADT/APFloat.h"

#include <algorithm>
#include <cmath>
#include <random>

using namespace moec;
using moec::moe::Activation;

/// The value of e4m3fn byte `byte`.
static float decodeE4M3(uint8_t byte) {
  llvm::APFloat value(llvm::APFloat::Float8E4M3FN(), llvm::APInt(8, byte));
  bool losesInfo;
  value.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven, &losesInfo);
  return value.convertToFloat();
}

std::vector<float> ProbeWeights::expert(int64_t e) const {
  std::vector<float> result(rows * columns);
  int64_t first = e * rows * columns;
  for (int64_t k = 0; k < rows; ++k)
    for (int64_t n = 0; n < columns; ++n) {
      int64_t index = first + k * columns + n;
      if (!quantized) {
        result[k * columns + n] = values[splat ? 0 : index];
        continue;
      }
      int64_t scaleColumns = columns / groupColumns;
      int64_t group = (e * (rows / groupRows) + k / groupRows) * scaleColumns + n / groupColumns;
      if (fp8) {
        result[k * columns + n] = decodeE4M3(uint8_t(quantized[index])) * scales[group];
        continue;
      }
      int integer = zeroPoints ? int(uint8_t(quantized[index])) - int(zeroPoints[group])
                               : int(quantized[index]);
      result[k * columns + n] = float(integer) * scales[group];
    }
  return result;
}

static double activate(moe::ExpertAttr expert, double x) {
  switch (expert.getActivation()) {
  case Activation::relu:
    return std::max(x, 0.0);
  case Activation::relu2:
    return std::max(x, 0.0) * std::max(x, 0.0);
  case Activation::gelu:
    return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  case Activation::gelu_tanh:
    return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  case Activation::silu:
    return x / (1 + std::exp(-x));
  case Activation::swiglu_clamped: {
    double gate = std::min(x, expert.getLimit().convertToDouble());
    return gate / (1 + std::exp(-expert.getAlpha().convertToDouble() * gate));
  }
  case Activation::silu_clamped: {
    double gate = std::min(x, expert.getLimit().convertToDouble());
    return gate / (1 + std::exp(-gate));
  }
  }
  return x;
}

/// The experts' summed output, y[t] += (1 / E) down_e(act(x[t] up_e)), in double.
static std::vector<double> expertsOutput(moe::ExpertAttr expert, const ProbeWeights &up,
                                         const ProbeWeights &down,
                                         const std::vector<float> &tokens, int64_t count) {
  int64_t hidden = up.rows, columns = up.columns, inner = down.rows;
  bool gated = expert.getGated();
  double limit = expert.getLimit().convertToDouble();
  std::vector<double> output(count * hidden, 0.0), projected(columns), activated(inner);
  for (int64_t e = 0; e < up.experts; ++e) {
    std::vector<float> upWeights = up.expert(e), downWeights = down.expert(e);
    for (int64_t t = 0; t < count; ++t) {
      std::fill(projected.begin(), projected.end(), 0.0);
      for (int64_t k = 0; k < hidden; ++k)
        for (int64_t n = 0; n < columns; ++n)
          projected[n] += double(tokens[t * hidden + k]) * upWeights[k * columns + n];
      for (int64_t i = 0; i < inner; ++i) {
        double value = activate(expert, projected[i]);
        if (gated && expert.getActivation() == Activation::swiglu_clamped)
          value *= std::clamp(projected[inner + i], -limit, limit) + 1;
        else if (gated && expert.getActivation() == Activation::silu_clamped)
          value *= std::clamp(projected[inner + i], -limit, limit);
        else if (gated)
          value *= projected[inner + i];
        activated[i] = value;
      }
      for (int64_t i = 0; i < inner; ++i)
        for (int64_t h = 0; h < hidden; ++h)
          output[t * hidden + h] += activated[i] * downWeights[i * hidden + h] / up.experts;
    }
  }
  return output;
}

double moec::probeExpertsError(moe::ExpertAttr expert, const ProbeWeights &up,
                               const ProbeWeights &down, const ProbeWeights &quantizedUp,
                               const ProbeWeights &quantizedDown, int64_t tokens) {
  std::mt19937 random(0);
  std::normal_distribution<float> normal;
  std::vector<float> probe(tokens * up.rows);
  for (float &value : probe)
    value = normal(random);
  std::vector<double> exact = expertsOutput(expert, up, down, probe, tokens);
  std::vector<double> quantized = expertsOutput(expert, quantizedUp, quantizedDown, probe, tokens);
  double error = 0, norm = 0;
  for (size_t i = 0; i < exact.size(); ++i) {
    error += (quantized[i] - exact[i]) * (quantized[i] - exact[i]);
    norm += exact[i] * exact[i];
  }
  return norm > 0 ? std::sqrt(error / norm) : std::sqrt(error);
}
