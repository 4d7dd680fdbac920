// The in-process model container: one model_backend behind Clipper's
// container interface (model_container_actor), on a thread of its own, as
// Clipper gives each container its own core.
#pragma once

#include <memory>

#include <caf/actor_system.hpp>

#include "actors/serving/model_backend.hpp"
#include "messages/serving_protocol.hpp"

namespace troupe::serving {

/// Spawns a detached actor that answers {predict, batch} with
/// backend->predict(batch), one batch at a time. A failed batch (bad input,
/// or an exception the backend threw, which becomes errc::invalid_argument
/// or errc::io_failure) is answered with the error; the actor lives on and
/// answers the next batch.
/// REQUIRES: backend != nullptr, and no one else calls it concurrently.
model_container_actor spawn_model_container(caf::actor_system& sys, backend_ptr backend);

} // namespace troupe::serving
