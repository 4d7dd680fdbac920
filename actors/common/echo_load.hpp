// A client actor that drives round trips against any actor answering
// (echo_atom, uint64_t) -> uint64_t, with a bounded number in flight.
// Window 1 measures latency; a larger window measures pipelined throughput.
#pragma once

#include <cstddef>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

namespace troupe {

struct echo_load_result {
  size_t completed = 0;
  size_t errors = 0;
  double seconds = 0;                ///< wall time of the whole run
  std::vector<double> latencies_us;  ///< one per completed round trip

  double per_second() const { return seconds > 0 ? completed / seconds : 0; }

  /// The q-quantile (0..1) of the latencies; 0 if there are none.
  double latency_quantile_us(double q) const;
};

/// Runs `count` round trips with `window` in flight, each with
/// `request_timeout`; blocks the calling thread (not an actor) until done.
/// A run that exceeds `overall_timeout` is an error.
caf::expected<echo_load_result> run_echo_load(caf::actor_system& sys, caf::actor target,
                                              size_t count, size_t window,
                                              caf::timespan request_timeout,
                                              caf::timespan overall_timeout);

} // namespace troupe
