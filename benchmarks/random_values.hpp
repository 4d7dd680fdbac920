// Seeded uniform [0, 1) floats: the inputs and weights of the compiler
// benchmarks (the same seed gives the same layer in every benchmark).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace troupe::bench {

inline std::vector<float> random_values(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(0, 1);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v)
    x = dist(rng);
  return v;
}

} // namespace troupe::bench
