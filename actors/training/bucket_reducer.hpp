// The bucket-reducer actor (protocol: messages/training_protocol.hpp). It
// knows buckets only by index: launching a bucket's collective is a function
// the DDP wrapper provides, so the actor stays free of tensors.
#pragma once

#include <functional>

#include <caf/actor_system.hpp>

#include "actors/training/bucket_assignment.hpp"
#include "messages/training_protocol.hpp"
#include "runtime/collectives/process_group.hpp"

namespace troupe::training {

/// Starts the collective of bucket b (its gradients are in place).
using bucket_launcher = std::function<collectives::work_ptr(size_t bucket)>;

/// Spawns a reducer for `layout` over `param_count` parameters.
bucket_reducer_actor spawn_bucket_reducer(caf::actor_system& sys, bucket_layout layout,
                                          size_t param_count, bucket_launcher launch);

} // namespace troupe::training
