#include "actors/serving/aimd_batch_sizer.hpp"

#include <algorithm>
#include <cmath>

namespace troupe::serving {

namespace {

size_t bucket_of(uint64_t size) {
  size_t b = 0;
  while (size > 1) {
    size >>= 1;
    ++b;
  }
  return b;
}

// Weight of the newest batch in a bucket's mean: recent enough to follow a
// changing load, smooth enough to ignore one slow batch.
constexpr double ewma_weight = 0.1;

} // namespace

aimd_batch_sizer::aimd_batch_sizer(aimd_options options) : options_(options) {
  options_.min = std::max<uint64_t>(1, options_.min);
  options_.max = std::max(options_.min, options_.max);
  limit_ = std::clamp(options_.initial, options_.min, options_.max);
  buckets_.resize(bucket_of(options_.max) + 1);
}

void aimd_batch_sizer::observe(uint64_t size, int64_t latency_us) {
  if (size == 0)
    return;
  auto& b = buckets_[std::min(bucket_of(size), buckets_.size() - 1)];
  b.mean = b.count == 0 ? static_cast<double>(latency_us)
                        : (1 - ewma_weight) * b.mean + ewma_weight * latency_us;
  ++b.count;
  if (latency_us > options_.latency_target_us) {
    // Shrink from the size that missed, not from the limit: a partial batch
    // that misses says the limit is far too high.
    auto shrunk = static_cast<uint64_t>(std::floor(static_cast<double>(size) * options_.decrease));
    limit_ = std::clamp(std::min(limit_, shrunk), options_.min, options_.max);
  } else if (size >= limit_) {
    // Only a full batch says the limit itself is safe.
    limit_ = std::min(options_.max, limit_ + options_.increase);
  }
}

std::vector<latency_profile_point> aimd_batch_sizer::profile() const {
  std::vector<latency_profile_point> result;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    if (buckets_[i].count == 0)
      continue;
    latency_profile_point p;
    p.size_from = uint64_t{1} << i;
    p.size_to = (uint64_t{1} << (i + 1)) - 1;
    p.mean_latency_us = buckets_[i].mean;
    p.batches = buckets_[i].count;
    result.push_back(p);
  }
  return result;
}

} // namespace troupe::serving
