// Waits until a container supervisor has a container serving, so that an
// admin change answers "ok" only once its container processes serve.
#pragma once

#include <chrono>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

namespace troupe::serving {

/// An actor that answers {get_atom} with true once `supervisor` reports a
/// serving container (a non-zero pid), or false when `timeout` passes first
/// (or the supervisor is gone). It polls every 20 ms and quits after
/// answering.
caf::actor spawn_readiness_watch(caf::actor_system& sys, caf::actor supervisor,
                                 std::chrono::milliseconds timeout);

} // namespace troupe::serving
