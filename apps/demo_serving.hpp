// The serving step of `troupe demo` (see demo_serving.cpp).
#pragma once

#include <string>

#include <caf/error.hpp>

namespace troupe {

/// Runs `program serve start` in `dir`, deploys the digits models and an
/// app through the admin API and queries it over REST; an error if a step
/// fails or the accuracy is below 90 %.
caf::error serve_digits(const std::string& program, const std::string& dir);

} // namespace troupe
