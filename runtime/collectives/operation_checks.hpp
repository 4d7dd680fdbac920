// What every process_group backend checks before it queues an operation,
// and how it names the operation in errors, so that all backends refuse
// the same calls with the same words.
#pragma once

#include <cstddef>
#include <string>

#include <caf/error.hpp>

#include "runtime/collectives/process_group.hpp"

namespace troupe::collectives {

/// Why a backend cannot make a group from `info` (invalid_argument), or
/// none: a rank outside the world, a timeout that is not positive.
caf::error refuse_rendezvous(const rendezvous_info& info);

/// "allreduce (average) of 1000 float32".
std::string allreduce_name(size_t count, dtype type, reduce_op op);
/// "broadcast of 64 bytes from rank 0".
std::string broadcast_name(size_t bytes, int root);
/// "allgather of 64 bytes per rank".
std::string allgather_name(size_t bytes_per_rank);

/// Why `backend` refuses this allreduce at once (invalid_argument), or
/// none: types other than float32, float64 and float16; null data.
caf::error refuse_allreduce(const std::string& name, const std::string& backend,
                            const void* data, size_t count, dtype type);
/// A root outside 0..size-1; null data.
caf::error refuse_broadcast(const std::string& name, const void* data, size_t bytes, int root,
                            int size);
/// A null buffer.
caf::error refuse_allgather(const std::string& name, const void* input, const void* output,
                            size_t bytes_per_rank);

/// What an operation meets once the group broke (unavailable, with the
/// first failure).
caf::error refuse_after_failure(const std::string& name, const caf::error& first_failure);

} // namespace troupe::collectives
