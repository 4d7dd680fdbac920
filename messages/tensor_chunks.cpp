#include "messages/tensor_chunks.hpp"

#include <algorithm>
#include <cstring>

#include "messages/errors.hpp"

namespace troupe {

std::vector<tensor_chunk> split_into_chunks(const tensor& x,
                                            uint64_t transfer_id,
                                            size_t max_chunk_bytes) {
  auto total = x.bytes.size();
  auto count = std::max<size_t>(1, (total + max_chunk_bytes - 1) / max_chunk_bytes);
  std::vector<tensor_chunk> chunks;
  chunks.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    tensor_chunk c;
    c.transfer_id = transfer_id;
    c.index = static_cast<uint32_t>(i);
    c.count = static_cast<uint32_t>(count);
    c.type = x.type;
    c.shape = x.shape;
    c.total_bytes = total;
    c.offset = i * max_chunk_bytes;
    auto end = std::min<size_t>(total, c.offset + max_chunk_bytes);
    c.bytes.assign(x.bytes.begin() + static_cast<ptrdiff_t>(c.offset),
                   x.bytes.begin() + static_cast<ptrdiff_t>(end));
    chunks.push_back(std::move(c));
  }
  return chunks;
}

tensor_assembler::tensor_assembler(uint64_t max_total_bytes)
  : max_total_bytes_(max_total_bytes) {
  // nop
}

caf::error tensor_assembler::check_against_header(const transfer& t,
                                                  const tensor_chunk& c) const {
  const auto& h = t.header;
  if (c.count != h.count || c.type != h.type || c.shape != h.shape
      || c.total_bytes != h.total_bytes)
    return make_error(errc::invalid_argument,
                      "chunk " + std::to_string(c.index) + " of transfer "
                        + std::to_string(c.transfer_id)
                        + " contradicts the header of its first chunk");
  if (t.seen[c.index])
    return make_error(errc::invalid_argument,
                      "chunk " + std::to_string(c.index) + " of transfer "
                        + std::to_string(c.transfer_id) + " arrived twice");
  return caf::none;
}

caf::expected<caf::optional<tensor>> tensor_assembler::add(tensor_chunk c) {
  auto fail = [&](std::string why) -> caf::expected<caf::optional<tensor>> {
    transfers_.erase(c.transfer_id);
    return make_error(errc::invalid_argument, std::move(why));
  };
  if (c.count == 0 || c.index >= c.count)
    return fail("chunk index " + std::to_string(c.index) + " is not below its count "
                + std::to_string(c.count));
  if (c.total_bytes > max_total_bytes_)
    return fail("tensor of " + std::to_string(c.total_bytes)
                + " bytes exceeds the receiver's limit of "
                + std::to_string(max_total_bytes_));
  if (c.offset > c.total_bytes || c.bytes.size() > c.total_bytes - c.offset)
    return fail("chunk " + std::to_string(c.index) + " reaches past the tensor's "
                + std::to_string(c.total_bytes) + " bytes");
  auto i = transfers_.find(c.transfer_id);
  if (i == transfers_.end()) {
    // The header must describe a valid tensor before we allocate for it.
    tensor probe{c.type, c.shape, {}};
    if (static_cast<uint8_t>(c.type) >= dtype_count)
      return fail("chunk names an unknown dtype");
    auto n = probe.element_count();
    if (n < 0 || static_cast<uint64_t>(n) * element_size(c.type) != c.total_bytes)
      return fail("chunk header's shape does not match its "
                  + std::to_string(c.total_bytes) + " bytes");
    transfer t;
    t.header = c;
    t.header.bytes.clear();
    t.bytes.resize(c.total_bytes);
    t.seen.resize(c.count, false);
    i = transfers_.emplace(c.transfer_id, std::move(t)).first;
  } else if (auto err = check_against_header(i->second, c)) {
    transfers_.erase(i);
    return err;
  }
  auto& t = i->second;
  if (!c.bytes.empty())
    std::memcpy(t.bytes.data() + c.offset, c.bytes.data(), c.bytes.size());
  t.seen[c.index] = true;
  t.bytes_received += c.bytes.size();
  if (++t.received < t.header.count)
    return caf::optional<tensor>{};
  if (t.bytes_received != t.header.total_bytes)
    return fail("transfer " + std::to_string(c.transfer_id) + " delivered "
                + std::to_string(t.bytes_received) + " bytes for a tensor of "
                + std::to_string(t.header.total_bytes));
  tensor result{t.header.type, std::move(t.header.shape), std::move(t.bytes)};
  transfers_.erase(i);
  return caf::optional<tensor>{std::move(result)};
}

uint32_t tensor_assembler::received(uint64_t transfer_id) const {
  auto i = transfers_.find(transfer_id);
  return i == transfers_.end() ? 0 : i->second.received;
}

} // namespace troupe
