#include "runtime/rank_threads.hpp"

#include <algorithm>
#include <cstdlib>

#include <sched.h>

namespace troupe {

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0)
    return 1;
  return std::max(1, CPU_COUNT(&set));
}

int threads_per_rank(int ranks_on_host, int cores) {
  return std::max(1, cores / std::max(1, ranks_on_host));
}

rank_thread_setting choose_rank_threads(int threads, int ranks_on_host, int cores) {
  rank_thread_setting result;
  if (threads > 0) {
    result.threads = threads;
    result.env = {"OMP_NUM_THREADS=" + std::to_string(threads),
                  "OPENBLAS_NUM_THREADS=" + std::to_string(threads)};
    return result;
  }
  // OpenBLAS reads its own variable before OMP_NUM_THREADS, so a user's
  // OPENBLAS_NUM_THREADS still decides OpenBLAS; libtorch's pool gets the share.
  if (std::getenv("OMP_NUM_THREADS") != nullptr)
    return result;
  result.threads = threads_per_rank(ranks_on_host, cores);
  result.env = {"OMP_NUM_THREADS=" + std::to_string(result.threads)};
  return result;
}

} // namespace troupe
