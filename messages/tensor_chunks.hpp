// Large tensors cross the actor mailbox in chunks: CAF 0.17 caps one message
// near 2 GB, and one huge message would block a connection for everything
// else. A sender splits, the receiver's tensor_assembler puts them together.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include "messages/tensor.hpp"

namespace troupe {

/// Default chunk payload: large enough to amortize per-message cost, small
/// enough to interleave with other traffic on one connection.
constexpr size_t default_chunk_bytes = size_t{4} << 20;

/// One piece of a tensor. Every chunk repeats the (small) header so that the
/// receiver can validate each one on its own.
struct tensor_chunk {
  uint64_t transfer_id = 0;
  uint32_t index = 0;
  uint32_t count = 0;
  dtype type = dtype::float32;
  std::vector<int64_t> shape;
  uint64_t total_bytes = 0;
  uint64_t offset = 0;
  std::vector<uint8_t> bytes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tensor_chunk& x) {
  return f(caf::meta::type_name("troupe::tensor_chunk"), x.transfer_id,
           x.index, x.count, x.type, x.shape, x.total_bytes, x.offset, x.bytes);
}

/// What a receiver answers per chunk; `complete` and `checksum` (FNV-1a of
/// all bytes) are set once the last chunk has arrived.
struct chunk_ack {
  uint64_t transfer_id = 0;
  uint32_t received = 0;
  bool complete = false;
  uint64_t checksum = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chunk_ack& x) {
  return f(caf::meta::type_name("troupe::chunk_ack"), x.transfer_id, x.received,
           x.complete, x.checksum);
}

/// Splits `x` into chunks of at most `max_chunk_bytes` payload each (a tensor
/// of zero bytes still yields one chunk).
/// REQUIRES: max_chunk_bytes > 0.
std::vector<tensor_chunk> split_into_chunks(const tensor& x,
                                            uint64_t transfer_id,
                                            size_t max_chunk_bytes
                                            = default_chunk_bytes);

/// Reassembles the chunks of any number of concurrent transfers, in any
/// order. Chunks that contradict each other or the header are refused.
class tensor_assembler {
public:
  /// Largest tensor it accepts; guards against a header asking for terabytes.
  explicit tensor_assembler(uint64_t max_total_bytes = uint64_t{16} << 30);

  /// Adds a chunk. Returns the finished tensor once its transfer is complete,
  /// an empty optional while parts are missing, or an error for a bad chunk
  /// (the transfer is then dropped).
  caf::expected<caf::optional<tensor>> add(tensor_chunk chunk);

  /// Chunks received so far for `transfer_id` (0 if unknown).
  uint32_t received(uint64_t transfer_id) const;

  /// Transfers in progress.
  size_t pending() const { return transfers_.size(); }

private:
  struct transfer {
    tensor_chunk header;
    std::vector<uint8_t> bytes;
    std::vector<bool> seen;
    uint32_t received = 0;
    uint64_t bytes_received = 0;
  };

  caf::error check_against_header(const transfer& t,
                                  const tensor_chunk& c) const;

  uint64_t max_total_bytes_;
  std::map<uint64_t, transfer> transfers_;
};

} // namespace troupe
