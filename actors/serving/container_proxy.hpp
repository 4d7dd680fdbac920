// A model_container_actor that forwards each batch to a container process
// over Cap'n Proto RPC (messages/container.capnp), so that batchers treat
// out-of-process models (any language) like in-process ones.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/typed_actor.hpp>

#include "messages/serving_protocol.hpp"

namespace troupe::serving {

/// A proxy's whole interface: the container interface (convertible to
/// model_container_actor), plus a heartbeat round trip for supervisors.
using container_proxy_actor = model_container_actor::extend<
  /// An RPC heartbeat: pong, or the error of the round trip (timeout,
  /// unavailable).
  caf::replies_to<caf::ping_atom>::with<caf::pong_atom>,
  /// Internal: call `id` of the RPC thread finished.
  caf::reacts_to<uint64_t, model_outputs>,
  caf::reacts_to<uint64_t, caf::error>>;

/// Spawns a proxy for the container serving on host:port. It connects on the
/// first call (and again after a lost connection). Every call is bounded by
/// `timeout`: past it the batch fails with errc::timeout naming the
/// container; a lost or refused connection gives errc::unavailable; a wrong
/// number of outputs errc::invalid_argument; the model's own errors keep
/// their code and sentence. The RPC runs on a thread of the proxy's own;
/// the actor never blocks.
container_proxy_actor spawn_container_proxy(caf::actor_system& sys, std::string host,
                                            uint16_t port, std::chrono::milliseconds timeout);

} // namespace troupe::serving
