// Small helpers the compiler suites share: seeded random data, random
// constants in a graph, and the message of an expected compile_error.
#pragma once

#include "compiler/graph/graph.hpp"
#include "compiler/ir/compile_error.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::compiler::testing {

/// `n` values uniform in [lo, hi), the same for the same seed.
std::vector<float> random_values(int64_t n, unsigned seed, float lo = -1, float hi = 1);

/// A constant of `shape` with random_values(seed, lo, hi); its node id.
int random_constant(graph& g, const std::string& name, std::vector<int64_t> shape, unsigned seed,
                    float lo = -0.5f, float hi = 0.5f);

/// The message of the compile_error `action` throws, or "no error".
template <class Action>
std::string error_of(Action&& action) {
  try {
    action();
  } catch (const compile_error& e) {
    return e.what();
  }
  return "no error";
}

} // namespace troupe::compiler::testing
