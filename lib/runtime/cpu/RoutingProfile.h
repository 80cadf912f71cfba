//===- RoutingProfile.h - Tokens per expert, counted as the model runs ----===//
//
// With MOEC_ROUTING_PROFILE=FILE in its environment, a program counts the tokens that every
// routing call (one per MoE layer, in program order) sends to each expert, over all its
// runs, and writes them to FILE as JSON when it exits (what `moec profile` reads;
// docs/sharding.md):
//   {"layers": [{"tokens": T, "expert_tokens": [c0, c1, ...]}, ...]}
// Without it, nothing is counted.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_RUNTIME_CPU_ROUTINGPROFILE_H
#define MOEC_RUNTIME_CPU_ROUTINGPROFILE_H

#include <cstdint>

namespace moec::rt {

/// A run of the model begins: the next routing call is its first MoE layer's.
void beginRoutingProfileRun();

/// One routing call chose `expertIds` (`tokens` x `k`, each in [0, experts)).
void recordRouting(int64_t tokens, int64_t experts, int64_t k, const int32_t *expertIds);

} // namespace moec::rt

#endif // MOEC_RUNTIME_CPU_ROUTINGPROFILE_H
