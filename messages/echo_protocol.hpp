// The echo service: the smallest useful actor, for demos, health checks and
// benchmarks of the messaging path.
#pragma once

#include <cstdint>
#include <string>

#include <caf/typed_actor.hpp>
#include <caf/replies_to.hpp>

#include "messages/atoms.hpp"
#include "messages/tensor_chunks.hpp"

namespace troupe {

using echo_actor = caf::typed_actor<
  /// Answers the text and the name of the node that answered.
  caf::replies_to<echo_atom, std::string>::with<std::string, std::string>,
  /// Answers the number: a minimal round trip for latency benchmarks.
  caf::replies_to<echo_atom, uint64_t>::with<uint64_t>,
  /// Receives one chunk of a tensor upload; the ack of the last one carries
  /// the checksum of the whole tensor.
  caf::replies_to<echo_atom, tensor_chunk>::with<chunk_ack>>;

} // namespace troupe
