// The in-process model container: one model_backend behind Clipper's
// container interface (model_container_actor), on a thread of its own (as
// Clipper gives each container its own core) or on the actor scheduler's
// workers (model_spec::thread says which).
#pragma once

#include <memory>

#include <caf/actor_system.hpp>

#include "actors/serving/model_backend.hpp"
#include "messages/serving_protocol.hpp"

namespace troupe::serving {

/// Spawns an actor that answers {predict, batch} with
/// backend->predict(batch), one batch at a time: detached (a thread of its
/// own) when `own_thread`, else scheduled like any actor. On a thread of its
/// own each batch costs two thread wake-ups (the batch in, the answer out);
/// on the workers it blocks one while it computes. A failed batch (bad input,
/// or an exception the backend threw, which becomes errc::invalid_argument
/// or errc::io_failure) is answered with the error; the actor lives on and
/// answers the next batch.
/// REQUIRES: backend != nullptr, and no one else calls it concurrently.
model_container_actor spawn_model_container(caf::actor_system& sys, backend_ptr backend,
                                            bool own_thread = true);

/// Whether replicas of `spec` compute on a thread of their own (unless its
/// `thread` is "shared").
bool wants_own_thread(const model_spec& spec);

} // namespace troupe::serving
