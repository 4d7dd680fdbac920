#include "compiler/tuning/quick_measure.hpp"

#include <algorithm>
#include <chrono>
#include <random>

namespace troupe::compiler {

double quick_gflops(jit_module& jit, const tuning_task& task, const lowered_func& func, int runs) {
  auto fn = jit.compile(func);
  std::vector<std::vector<float>> data;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (auto size : parameter_sizes(task)) {
    data.emplace_back(static_cast<size_t>(size));
    for (auto& x : data.back())
      x = dist(rng);
  }
  std::vector<void*> args;
  for (auto& d : data)
    args.push_back(d.data());
  fn(args.data());
  double best = 1e30;
  for (int run = 0; run < runs; ++run) {
    auto start = std::chrono::steady_clock::now();
    fn(args.data());
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                            .count());
  }
  return task.flops() / best * 1e-9;
}

} // namespace troupe::compiler
