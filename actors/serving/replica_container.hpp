// Starts the container of one model replica, wherever it runs (in the
// frontend's process, or on a node's model host): an in-process backend on a
// thread of its own, or a supervised container process.
#pragma once

#include <chrono>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "messages/serving_specs.hpp"

namespace troupe::serving {

struct replica_placement {
  /// Where container processes keep ready files and logs.
  std::string work_dir = "/tmp";
  /// A container command line whose program has no '/' is looked up here
  /// first, then on PATH.
  std::string program_dir;
  std::chrono::milliseconds ready_timeout{30'000};
};

/// The container (a model_container_actor) of replica `index` of `spec`.
/// invalid_argument naming the model when its backend cannot load it.
caf::expected<caf::actor> start_replica_container(caf::actor_system& sys, const model_spec& spec,
                                                  uint32_t index,
                                                  const replica_placement& where);

} // namespace troupe::serving
