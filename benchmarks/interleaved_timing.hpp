// Timing of several runnables against each other on a noisy machine: their
// timed rounds interleave (a, b, c, a, b, c, ...) and the best round mean
// of each counts. On this VM a machine state lasts seconds and shifts a
// kernel's time by up to 30 %, so timing one side after the other biases
// the ratio by as much; interleaved, every side meets the same states.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace troupe::bench {

inline std::vector<double> interleaved_best_seconds(const std::vector<std::function<void()>>& runs,
                                                    double min_seconds, int rounds) {
  for (auto& run : runs)
    for (int i = 0; i < 3; ++i)
      run();
  std::vector<double> best(runs.size(), 1e30);
  for (int round = 0; round < rounds; ++round)
    for (size_t r = 0; r < runs.size(); ++r) {
      int iterations = 0;
      auto start = std::chrono::steady_clock::now();
      double elapsed = 0;
      do {
        runs[r]();
        ++iterations;
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      } while (elapsed < min_seconds);
      best[r] = std::min(best[r], elapsed / iterations);
    }
  return best;
}

} // namespace troupe::bench
