// A round's measurements spread over the measurers as a work queue: each
// measurer holds one request at a time and gets the next as soon as it
// answers. Sending a whole round round-robin up front left a measurer
// idle for 8-17 % of a round while another still had queued configs
// (benchmarks/measurer_scaling.sh, two nodes); with the queue the one
// that finishes first takes the rest.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "messages/tuning_protocol.hpp"

namespace troupe::tuning {

/// Called on the caller's thread once per request, in the order results
/// arrive: the request's index, and its record (JSON), or, when no
/// measurer answered it, an empty record and the reason.
using measure_result_handler =
  std::function<void(size_t index, const std::string& record, const std::string& error)>;

/// Measures `requests` (measure_request JSON) on `measurers` (at least
/// one) and returns when each has a result. A measurer that does not
/// answer within `timeout` (its node died, it hangs) gets no more of this
/// round; when none is left, the remaining requests fail with a reason.
void measure_round(caf::actor_system& sys, caf::scoped_actor& self,
                   const std::vector<tuning_measurer_actor>& measurers,
                   const std::vector<std::string>& requests, std::chrono::milliseconds timeout,
                   const measure_result_handler& on_result);

} // namespace troupe::tuning
