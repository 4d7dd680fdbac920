// Conversion between troupe::tensor and its Cap'n Proto form (tensor.capnp),
// for peers that do not speak CAF.
#pragma once

#include <vector>

#include <capnp/message.h>
#include <caf/expected.hpp>

#include "messages/tensor.capnp.h"
#include "messages/tensor.hpp"

namespace troupe {

/// Fills a Cap'n Proto Tensor builder from `x`.
void to_wire(const tensor& x, wire::Tensor::Builder out);

/// Reads and validates a Cap'n Proto Tensor (dtype range, byte count).
caf::expected<tensor> from_wire(wire::Tensor::Reader in);

/// A whole message holding one Tensor, as flat bytes (for files, sockets).
std::vector<uint8_t> serialize_tensor(const tensor& x);

/// Parses bytes made by serialize_tensor; garbage gives an error, not a crash.
caf::expected<tensor> deserialize_tensor(const std::vector<uint8_t>& bytes);

} // namespace troupe
