// A node's model host (protocol: model_host_actor in
// messages/serving_protocol.hpp): the serving frontend asks it to start
// replicas of a model on this node, then its batchers send batches to them
// across the cluster. Start a node with `--service model_host=NAME` and name
// NAME in a model's "hosts".
//
// The host watches each frontend (owner) it started replicas for: when the
// owner goes down (its process died, or the connection broke), the host
// stops those replicas, so a vanished frontend leaves nothing running.
#pragma once

#include <caf/actor_system.hpp>

#include "actors/serving/replica_container.hpp"
#include "messages/serving_protocol.hpp"

namespace troupe::serving {

model_host_actor spawn_model_host(caf::actor_system& sys, replica_placement where);

} // namespace troupe::serving
