// Chooses a process_group backend by name: the one entry point that
// training code and `troupe train` use, so a new backend is one line here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/collectives/process_group.hpp"

namespace troupe::collectives {

/// Every backend name Troupe knows, built or not: gloo, ucx, nccl.
const std::vector<std::string>& known_backends();

/// None if `backend` can make groups in this build; invalid_argument naming
/// it otherwise (unknown, listing the known ones, or not built: nccl needs
/// the CUDA toolkit with NCCL at configure time).
caf::error check_backend(const std::string& backend);

/// Joins the group `info` describes with the backend it names. Blocks until
/// every rank has met (bounded by info.timeout) or fails naming the cause.
/// REQUIRES: the group is destroyed before `sys` (it may hold handles into it;
/// the other order makes the actor system's destructor wait forever).
caf::expected<std::unique_ptr<process_group>>
make_process_group(caf::actor_system& sys, const rendezvous_info& info);

} // namespace troupe::collectives
