#include "test_values.hpp"

#include <random>

namespace troupe::compiler::testing {

std::vector<float> random_values(int64_t n, unsigned seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v)
    x = dist(rng);
  return v;
}

int random_constant(graph& g, const std::string& name, std::vector<int64_t> shape, unsigned seed,
                    float lo, float hi) {
  int64_t n = 1;
  for (auto d : shape)
    n *= d;
  return g.add_constant(name, std::move(shape), random_values(n, seed, lo, hi));
}

} // namespace troupe::compiler::testing
