// How DDP groups gradients into buckets: one allreduce per bucket instead of
// one per parameter (fewer, larger messages), launched as soon as a bucket is
// full so that communication overlaps the rest of backward.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace troupe::training {

/// Parameter indices per bucket, in the order the buckets are reduced.
using bucket_layout = std::vector<std::vector<size_t>>;

/// Default cap of a bucket (PyTorch's bucket_cap_mb = 25).
constexpr size_t default_bucket_cap_bytes = size_t{25} << 20;

/// Default cap of the first bucket: small, so that the first allreduce
/// starts early in backward.
constexpr size_t default_first_bucket_bytes = size_t{1} << 20;

/// Walks the parameters in `order` (typically reverse definition order,
/// the order in which backward produces their gradients) and closes a bucket
/// once it holds at least its cap (`first_cap_bytes` for the first,
/// `cap_bytes` after). Parameters of different `dtype_codes` never share a
/// bucket. A parameter larger than the cap gets a bucket of its own.
/// REQUIRES: param_bytes, dtype_codes have one entry per parameter and
/// `order` is a permutation of their indices.
bucket_layout assign_buckets(const std::vector<size_t>& param_bytes,
                             const std::vector<uint8_t>& dtype_codes,
                             const std::vector<size_t>& order, size_t first_cap_bytes,
                             size_t cap_bytes);

/// The reverse of definition order: 0..n-1 reversed.
std::vector<size_t> reverse_order(size_t n);

} // namespace troupe::training
