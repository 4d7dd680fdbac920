// Debug mode for collectives (like TORCH_DISTRIBUTED_DEBUG=DETAIL): before
// every operation the ranks compare fingerprints (sequence number, op, sizes,
// root), so that a rank that calls a different collective, or the same with
// other sizes, gets an error naming both sides instead of a hang or garbage.
// Costs one small allgather per operation and makes each call wait for it.
#pragma once

#include <memory>

#include "runtime/collectives/process_group.hpp"

namespace troupe::collectives {

/// Wraps `inner` with the fingerprint check.
std::unique_ptr<process_group> make_checked_process_group(std::unique_ptr<process_group> inner);

} // namespace troupe::collectives
