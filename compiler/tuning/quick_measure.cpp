#include "compiler/tuning/quick_measure.hpp"

#include <algorithm>
#include <chrono>
#include <random>

namespace troupe::compiler {

namespace {

/// Seeded random inputs for `task`'s parameters.
std::vector<std::vector<float>> random_inputs(const tuning_task& task) {
  std::vector<std::vector<float>> data;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (auto size : parameter_sizes(task)) {
    data.emplace_back(static_cast<size_t>(size));
    for (auto& x : data.back())
      x = dist(rng);
  }
  return data;
}

/// Seconds of the fastest of `runs` calls of `fn`.
double best_seconds(compiled_func fn, std::vector<void*>& args, int runs) {
  double best = 1e30;
  for (int run = 0; run < runs; ++run) {
    auto start = std::chrono::steady_clock::now();
    fn(args.data());
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                            .count());
  }
  return best;
}

} // namespace

double quick_gflops(jit_module& jit, const tuning_task& task, const lowered_func& func, int runs) {
  return quick_gflops(jit, task, std::vector<lowered_func>{func}, 1, runs).front();
}

std::vector<double> quick_gflops(jit_module& jit, const tuning_task& task,
                                 const std::vector<lowered_func>& funcs, int sweeps, int runs) {
  std::vector<compiled_func> compiled;
  for (auto& func : funcs)
    compiled.push_back(jit.compile(func));
  auto data = random_inputs(task);
  std::vector<void*> args;
  for (auto& d : data)
    args.push_back(d.data());
  for (auto fn : compiled)
    fn(args.data());  // warm-up: page in the code, fill the caches
  std::vector<double> best(funcs.size(), 1e30);
  for (int sweep = 0; sweep < sweeps; ++sweep)
    for (size_t i = 0; i < compiled.size(); ++i)
      best[i] = std::min(best[i], best_seconds(compiled[i], args, runs));
  std::vector<double> gflops;
  for (auto seconds : best)
    gflops.push_back(task.flops() / seconds * 1e-9);
  return gflops;
}

} // namespace troupe::compiler
