// Faults a container can be told to have, so that tests exercise what the
// serving system does when a real container crashes, hangs or misbehaves.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/serving/container_server.hpp"

namespace troupe::serving {

struct container_fault {
  enum class kind {
    none,
    crash_after,  ///< the process exits abruptly (_exit(70)) on predict number `after`
    hang,         ///< predict blocks the container forever (heartbeats stop too)
    garbage,      ///< predict answers one output more than it was asked for
    slow,         ///< every predict first sleeps `micros` (a straggler, for benchmarks)
  };
  kind what = kind::none;
  uint64_t after = 0;
  uint64_t micros = 0;
};

/// Parses the words of --fault: {"crash-after", "3"}, {"hang"}, {"garbage"},
/// {"slow", "100000"}; invalid_argument naming what is wrong otherwise.
caf::expected<container_fault> parse_fault(const std::vector<std::string>& words);

/// `predict` with `fault` built in (itself if the fault is none).
predict_function with_fault(predict_function predict, container_fault fault);

} // namespace troupe::serving
