// What the tuning benchmarks (tune_bench, explorer_replay) report about a
// search: the median over seeds, and the trial at which a best-so-far
// curve first reaches a target.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace troupe::bench {

/// The upper median (v.size() / 2 after sorting); 0 for none.
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

/// The 1-based trial at which `best_so_far` first reaches `target`, or
/// its length + 1 when it never does.
inline uint64_t trials_to_reach(const std::vector<double>& best_so_far, double target) {
  for (size_t i = 0; i < best_so_far.size(); ++i)
    if (best_so_far[i] >= target)
      return i + 1;
  return best_so_far.size() + 1;
}

} // namespace troupe::bench
