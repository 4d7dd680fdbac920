#include "actors/training/bucket_assignment.hpp"

#include <map>

namespace troupe::training {

bucket_layout assign_buckets(const std::vector<size_t>& param_bytes,
                             const std::vector<uint8_t>& dtype_codes,
                             const std::vector<size_t>& order, size_t first_cap_bytes,
                             size_t cap_bytes) {
  // One open bucket per dtype; buckets are numbered in the order they close,
  // which is the order their last gradient arrives.
  struct open_bucket {
    std::vector<size_t> params;
    size_t bytes = 0;
  };
  std::map<uint8_t, open_bucket> open;
  bucket_layout result;
  auto cap = [&] { return result.empty() ? first_cap_bytes : cap_bytes; };
  for (auto index : order) {
    auto& bucket = open[dtype_codes[index]];
    bucket.params.push_back(index);
    bucket.bytes += param_bytes[index];
    if (bucket.bytes >= cap()) {
      result.push_back(std::move(bucket.params));
      bucket = open_bucket{};
    }
  }
  for (auto& [_, bucket] : open)
    if (!bucket.params.empty())
      result.push_back(std::move(bucket.params));
  return result;
}

std::vector<size_t> reverse_order(size_t n) {
  std::vector<size_t> result(n);
  for (size_t i = 0; i < n; ++i)
    result[i] = n - 1 - i;
  return result;
}

} // namespace troupe::training
