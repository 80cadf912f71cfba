//===- RoutingProfile.cpp - Tokens per expert, counted as the model runs --===//

#include "cpu/RoutingProfile.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

class RoutingProfile {
public:
  static RoutingProfile &get() {
    static RoutingProfile profile;
    return profile;
  }

  bool enabled() const { return !path.empty(); }

  void beginRun() { nextLayer = 0; }

  void record(int64_t tokens, int64_t experts, int64_t k, const int32_t *expertIds) {
    if (nextLayer == layers.size())
      layers.push_back({0, std::vector<int64_t>(experts, 0)});
    Layer &layer = layers[nextLayer++];
    layer.tokens += tokens;
    for (int64_t p = 0; p < tokens * k; ++p)
      if (expertIds[p] >= 0 && expertIds[p] < int64_t(layer.expertTokens.size()))
        ++layer.expertTokens[expertIds[p]];
  }

  // Written at exit, so that every run of the program counts.
  ~RoutingProfile() {
    if (!enabled())
      return;
    std::FILE *file = std::fopen(path.c_str(), "w");
    if (!file) {
      std::fprintf(stderr, "error: MOEC_ROUTING_PROFILE: cannot write %s\n", path.c_str());
      return;
    }
    std::fprintf(file, "{\"layers\": [");
    for (size_t l = 0; l < layers.size(); ++l) {
      std::fprintf(file, "%s\n  {\"tokens\": %lld, \"expert_tokens\": [", l ? "," : "",
                   static_cast<long long>(layers[l].tokens));
      for (size_t e = 0; e < layers[l].expertTokens.size(); ++e)
        std::fprintf(file, "%s%lld", e ? ", " : "",
                     static_cast<long long>(layers[l].expertTokens[e]));
      std::fprintf(file, "]}");
    }
    std::fprintf(file, "\n]}\n");
    if (std::fclose(file) != 0)
      std::fprintf(stderr, "error: MOEC_ROUTING_PROFILE: cannot write %s\n", path.c_str());
  }

private:
  RoutingProfile() {
    if (const char *file = std::getenv("MOEC_ROUTING_PROFILE"))
      path = file;
  }

  struct Layer {
    int64_t tokens;
    std::vector<int64_t> expertTokens;
  };
  std::string path;
  std::vector<Layer> layers;
  size_t nextLayer = 0;
};

} // namespace

void moec::rt::beginRoutingProfileRun() { RoutingProfile::get().beginRun(); }

void moec::rt::recordRouting(int64_t tokens, int64_t experts, int64_t k, const int32_t *expertIds) {
  RoutingProfile &profile = RoutingProfile::get();
  if (profile.enabled())
    profile.record(tokens, experts, k, expertIds);
}
