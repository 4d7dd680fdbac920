// What the collectives suites share: launching ranks under `troupe train`
// and reading what they printed. Each suite defines COLLECTIVES_WORKER.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "tests/support/test_support.hpp"

namespace troupe::test {

inline std::string worker() { return COLLECTIVES_WORKER; }

/// `troupe ARGS`, bounded twice: by `timeout` here and by ctest's TIMEOUT.
inline command_result run_troupe(const std::string& args) {
  return run_command("timeout 120 " + troupe_binary() + " " + args);
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace troupe::test
