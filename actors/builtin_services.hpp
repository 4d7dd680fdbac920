// The kinds of actors that `troupe node` can start from node.services.
#pragma once

#include "runtime/service_registry.hpp"

namespace troupe {

/// Every built-in service kind (echo, and those of the subsystems).
const service_registry& builtin_services();

} // namespace troupe
