// The batch size a model replica may use, learned by additive increase /
// multiplicative decrease (Clipper §4.3): grow by a fixed step while full
// batches finish within the latency target, shrink by a factor as soon as
// one does not. Bigger batches amortize per-call overhead (throughput),
// smaller ones bound each batch's latency (the SLO); AIMD finds the edge
// without a profile of the model, and follows it when the model or the
// machine's load changes.
#pragma once

#include <cstdint>
#include <vector>

namespace troupe::serving {

struct aimd_options {
  /// A batch whose latency exceeds this shrinks the limit.
  int64_t latency_target_us = 8'000;
  uint64_t initial = 1;
  uint64_t min = 1;
  uint64_t max = 512;
  /// Added after each full batch that met the target.
  uint64_t increase = 4;
  /// The limit after a batch that missed the target: size * decrease.
  double decrease = 0.9;
};

/// One point of the learned latency profile: batches of sizes in
/// [size_from, size_to] took `mean_latency_us` on average (recently).
struct latency_profile_point {
  uint64_t size_from = 0;
  uint64_t size_to = 0;
  double mean_latency_us = 0;
  uint64_t batches = 0;
};

class aimd_batch_sizer {
public:
  explicit aimd_batch_sizer(aimd_options options = {});

  /// The most queries the next batch may take.
  uint64_t limit() const { return limit_; }

  /// Records a finished batch of `size` queries that took `latency_us`.
  void observe(uint64_t size, int64_t latency_us);

  /// Recent latency by batch size, in size buckets of powers of two.
  std::vector<latency_profile_point> profile() const;

  const aimd_options& options() const { return options_; }

  /// Moves the latency target (an app with a stricter SLO now uses the
  /// model); the limit follows at the next batches.
  void set_latency_target(int64_t target_us) { options_.latency_target_us = target_us; }

private:
  aimd_options options_;
  uint64_t limit_;
  struct bucket {
    double mean = 0;  // exponentially weighted
    uint64_t count = 0;
  };
  std::vector<bucket> buckets_;  // index: floor(log2(size))
};

} // namespace troupe::serving
