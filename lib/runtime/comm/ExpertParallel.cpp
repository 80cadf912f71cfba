//===- ExpertParallel.cpp - Expert parallelism between MPI processes ------===//
//
// One MoE layer's routed experts over the ranks of MPI_COMM_WORLD: the pairs (token,
// expert) go to their expert's rank (dispatch), the rank runs its experts on what it got
// with the host kernels, and the output rows come back (combine). Counts first (each rank
// learns how many rows it gets from every other), then the rows, both with MPI.
//
//===----------------------------------------------------------------------===//

#include "moec-runtime/comm.h"
#include "moec-runtime/kernels.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

constexpr int kExitUserError = 2;

int worldRank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "error: rank %d: %s\n", worldRank(), message.c_str());
  std::exit(kExitUserError);
}

/// What a rank prints when mpirun stops it because another rank ended the job; formatted
/// at start, since the signal handler may only write it.
char stoppedMessage[160];
size_t stoppedMessageLength = 0;

void onStopped(int) {
  ssize_t written = write(STDERR_FILENO, stoppedMessage, stoppedMessageLength);
  (void)written;
  _exit(kExitUserError);
}

/// Fails with MPI's own words unless `code` is MPI_SUCCESS.
void check(int code, const char *call) {
  if (code == MPI_SUCCESS)
    return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  fail(std::string(call) + " failed: " + std::string(text, length));
}

/// Seconds an exchange may wait for the other ranks (MOEC_EXCHANGE_TIMEOUT).
double exchangeTimeout() {
  static const double seconds = [] {
    const char *text = std::getenv("MOEC_EXCHANGE_TIMEOUT");
    char *end = nullptr;
    double value = text ? std::strtod(text, &end) : 0;
    return text && end != text && *end == '\0' && value >= 0 ? value : 600.0;
  }();
  return seconds;
}

/// Waits for `request` (a nonblocking collective named `call`), ending the job when the
/// other ranks do not come within the timeout.
void wait(MPI_Request &request, const char *call) {
  using Clock = std::chrono::steady_clock;
  Clock::time_point deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(exchangeTimeout()));
  for (int polls = 0;; ++polls) {
    int done = 0;
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), call);
    if (done)
      return;
    if (Clock::now() >= deadline) {
      std::fprintf(stderr,
                   "error: rank %d: %s did not finish within %g s (MOEC_EXCHANGE_TIMEOUT): "
                   "another rank stopped or hangs\n",
                   worldRank(), call, exchangeTimeout());
      moec_rt_comm_abort(kExitUserError);
      std::exit(kExitUserError);
    }
    // Spin first, as a blocking MPI call does; then leave the core to the other ranks.
    if (polls > 1000)
      std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void finalize() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized)
    MPI_Finalize();
}

/// The element offsets of `counts` laid end to end, each count times `width`; fails past
/// what MPI's int counts hold.
std::vector<int> scaled(const std::vector<int64_t> &counts, int64_t width,
                        std::vector<int> &displacements) {
  std::vector<int> result;
  displacements.clear();
  int64_t offset = 0;
  for (int64_t count : counts) {
    if (offset + count * width > INT_MAX)
      fail("an exchange of more than INT_MAX elements, which MPI's counts cannot hold");
    result.push_back(int(count * width));
    displacements.push_back(int(offset));
    offset += count * width;
  }
  return result;
}

/// Sends, for every rank r, `sendCounts[r]` rows of `width` elements (laid end to end in
/// rank order) and receives `receiveCounts[r]` rows from each.
template <typename T>
void exchangeRows(const std::vector<T> &send, const std::vector<int64_t> &sendCounts,
                  std::vector<T> &receive, const std::vector<int64_t> &receiveCounts,
                  int64_t width, MPI_Datatype type) {
  std::vector<int> sendDisplacements, receiveDisplacements;
  std::vector<int> sendElements = scaled(sendCounts, width, sendDisplacements);
  std::vector<int> receiveElements = scaled(receiveCounts, width, receiveDisplacements);
  MPI_Request request;
  check(MPI_Ialltoallv(send.data(), sendElements.data(), sendDisplacements.data(), type,
                       receive.data(), receiveElements.data(), receiveDisplacements.data(),
                       type, MPI_COMM_WORLD, &request),
        "MPI_Ialltoallv");
  wait(request, "MPI_Ialltoallv");
}

/// One projection of a rank's experts, as moec_rt_moe_expert_parallel_f32 takes it.
struct Projection {
  const void *weights;
  int32_t format;
  const float *scales;
  int64_t groups, columnBlocks;
  const uint8_t *zeroPoints;
  const float *bias;
};

/// The grouped matmul of `projection` ([experts, K, N]) on the `rows` sorted rows (read
/// through `sortedIds` when given), with the host kernel that reads its format.
void runProjection(const Projection &projection, int64_t rows, int64_t K, int64_t N,
                   int64_t experts, const float *input, const int32_t *sortedIds,
                   const int32_t *offsets, int32_t activation, int32_t gated, float alpha,
                   float limit, float *result) {
  switch (projection.format) {
  case MOEC_RT_WEIGHTS_F32:
    moec_rt_moe_grouped_matmul_f32(rows, K, N, experts, input, rows, sortedIds, 1, offsets,
                                   static_cast<const float *>(projection.weights), projection.bias,
                                   activation, gated, alpha, limit,
                                   /*combine_ids=*/nullptr, /*combine_weights=*/nullptr, 0, 0,
                                   result);
    return;
  case MOEC_RT_WEIGHTS_INT8:
  case MOEC_RT_WEIGHTS_INT4:
    moec_rt_moe_grouped_matmul_quantized_f32(
        rows, K, N, experts, input, rows, sortedIds, 1, offsets,
        static_cast<const int8_t *>(projection.weights),
        projection.format == MOEC_RT_WEIGHTS_INT8 ? 8 : 4, projection.scales, projection.groups,
        projection.zeroPoints, projection.bias, activation, gated, alpha, limit,
        /*combine_ids=*/nullptr, /*combine_weights=*/nullptr, 0, 0, result);
    return;
  case MOEC_RT_WEIGHTS_FP8:
    moec_rt_moe_grouped_matmul_fp8_f32(
        rows, K, N, experts, input, rows, sortedIds, 1, offsets,
        static_cast<const uint8_t *>(projection.weights), projection.scales, projection.groups,
        projection.columnBlocks, projection.bias, activation, gated, alpha, limit,
        /*combine_ids=*/nullptr, /*combine_weights=*/nullptr, 0, 0, result);
    return;
  }
  fail("expert weights of unknown format " + std::to_string(projection.format));
}

} // namespace

extern "C" void moec_rt_comm_abort(int code) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized)
    MPI_Abort(MPI_COMM_WORLD, code);
}

extern "C" int64_t moec_rt_comm_init(int64_t ranks) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    MPI_Init(nullptr, nullptr);
    // Errors come back as codes, which check() turns into one line and exit code 2,
    // rather than MPI's abort of the whole job.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    std::atexit(finalize);
    int length = std::snprintf(stoppedMessage, sizeof stoppedMessage,
                               "error: rank %d: stopped, because another rank of the job "
                               "failed (its error is above)\n",
                               worldRank());
    stoppedMessageLength = size_t(std::max(0, std::min(length, int(sizeof stoppedMessage) - 1)));
    std::signal(SIGTERM, onStopped);
  }
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size != ranks)
    fail("the program's experts are sharded over " + std::to_string(ranks) +
         " ranks (--shard-experts=" + std::to_string(ranks) + "), but it runs on " +
         std::to_string(size) + ": start it with mpirun -np " + std::to_string(ranks));
  return worldRank();
}

extern "C" void moec_rt_moe_expert_parallel_f32(
    int64_t tokens, int64_t hidden, int64_t k, const float *input, const int32_t *expert_ids,
    const float *weights, int64_t experts, const int32_t *expert_rank, const int32_t *expert_slot,
    int64_t local_experts, int64_t up_columns, int64_t inner, const void *up_weight,
    int32_t up_format, const float *up_scales, int64_t up_groups, int64_t up_column_blocks,
    const uint8_t *up_zero_points, const float *up_bias, const void *down_weight,
    int32_t down_format, const float *down_scales, int64_t down_groups, int64_t down_column_blocks,
    const uint8_t *down_zero_points, const float *down_bias, int32_t activation, int32_t gated,
    float alpha, float limit, float *result) {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int self = worldRank();
  int64_t pairs = tokens * k;
  // A replicated expert (rank -1) is computed where the token is.
  auto destination = [&](int32_t expert) {
    return expert_rank[expert] < 0 ? self : expert_rank[expert];
  };

  // Dispatch: the pairs in rank order, each as its token's row and its expert's slot.
  std::vector<int64_t> sendCounts(size, 0);
  for (int64_t p = 0; p < pairs; ++p)
    if (expert_ids[p] >= 0 && expert_ids[p] < experts)
      ++sendCounts[destination(expert_ids[p])];
  std::vector<int64_t> next(size, 0);
  for (int r = 1; r < size; ++r)
    next[r] = next[r - 1] + sendCounts[r - 1];
  int64_t sent = size ? next[size - 1] + sendCounts[size - 1] : 0;
  // The pair each sent row carries, in the sorted_ids form that the combine reads.
  std::vector<int32_t> pairOfRow(sent);
  std::vector<float> sendRows(sent * hidden);
  std::vector<int32_t> sendSlots(sent);
  for (int64_t p = 0; p < pairs; ++p) {
    int32_t expert = expert_ids[p];
    if (expert < 0 || expert >= experts)
      continue;
    int64_t at = next[destination(expert)]++;
    pairOfRow[at] = int32_t(p);
    const float *row = input + (p / k) * hidden;
    std::copy(row, row + hidden, sendRows.begin() + at * hidden);
    sendSlots[at] = expert_slot[expert];
  }
  std::vector<int64_t> receiveCounts(size, 0);
  MPI_Request request;
  check(MPI_Ialltoall(sendCounts.data(), 1, MPI_INT64_T, receiveCounts.data(), 1,
                      MPI_INT64_T, MPI_COMM_WORLD, &request),
        "MPI_Ialltoall");
  wait(request, "MPI_Ialltoall");
  int64_t received = 0;
  for (int64_t count : receiveCounts)
    received += count;
  std::vector<float> receiveRows(received * hidden);
  std::vector<int32_t> receiveSlots(received);
  exchangeRows(sendRows, sendCounts, receiveRows, receiveCounts, hidden, MPI_FLOAT);
  exchangeRows(sendSlots, sendCounts, receiveSlots, receiveCounts, 1, MPI_INT32_T);

  // This rank's experts on what it got, grouped by slot as the unsharded layer groups by
  // expert, then back in arrival order.
  std::vector<float> outputRows(received * hidden, 0.0f);
  if (received > 0 && local_experts > 0) {
    std::vector<int32_t> sortedIds(received), offsets(local_experts + 1);
    moec_rt_moe_permute(received, 1, receiveSlots.data(), local_experts, 1, received,
                        sortedIds.data(), offsets.data());
    std::vector<float> hiddenRows(received * inner), sortedOutput(received * hidden);
    runProjection(
        {up_weight, up_format, up_scales, up_groups, up_column_blocks, up_zero_points, up_bias},
        received, hidden, up_columns, local_experts, receiveRows.data(), sortedIds.data(),
        offsets.data(), activation, gated, alpha, limit, hiddenRows.data());
    runProjection({down_weight, down_format, down_scales, down_groups, down_column_blocks,
                   down_zero_points, down_bias},
                  received, inner, hidden, local_experts, hiddenRows.data(), nullptr,
                  offsets.data(), MOEC_RT_ACTIVATION_NONE, 0, alpha, limit, sortedOutput.data());
    for (int64_t s = 0; s < received; ++s)
      std::copy(sortedOutput.begin() + s * hidden, sortedOutput.begin() + (s + 1) * hidden,
                outputRows.begin() + int64_t(sortedIds[s]) * hidden);
  }

  // Combine: the rows come back where their pairs were sent from, and are summed as the
  // unsharded layer's unpermute sums them.
  std::vector<float> returned(sent * hidden);
  exchangeRows(outputRows, receiveCounts, returned, sendCounts, hidden, MPI_FLOAT);
  moec_rt_moe_unpermute_f32(tokens, k, hidden, sent, returned.data(), pairOfRow.data(),
                            weights, result);
}
