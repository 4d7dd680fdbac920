// How many threads each rank of `troupe train` may use for its own compute.
//
// libtorch's intra-op pool (OpenMP) and Debian's OpenBLAS (pthreads) each
// start one thread per core in every process. N ranks on a host of C cores
// then run N x C compute threads, and OpenBLAS's idle workers spin on
// sched_yield: on 2 cores, 2 ranks of the DDP benchmark each ran a second
// OpenBLAS thread at 20-70 % of a core although the program had asked
// libtorch for one thread. torchrun sets OMP_NUM_THREADS=1 for this reason;
// the launcher gives each rank its share of the cores instead, which is 1
// here and more on a larger host.
#pragma once

#include <string>
#include <vector>

namespace troupe {

/// The cores this process may run on (its affinity mask), at least 1.
int usable_cores();

/// The cores shared evenly among `ranks_on_host` ranks, at least 1.
int threads_per_rank(int ranks_on_host, int cores);

/// The variables a rank's environment gets ("KEY=VALUE"), and why, for
/// `threads` per rank. `threads` == 0 means "choose": OMP_NUM_THREADS (which
/// OpenBLAS reads too, after its own OPENBLAS_NUM_THREADS) is set to the
/// rank's share unless the user set it. A positive `threads` (the user's
/// --threads-per-rank) sets both, over whatever the environment holds.
struct rank_thread_setting {
  std::vector<std::string> env;
  int threads = 0;  ///< 0: the environment's own setting is kept
};
rank_thread_setting choose_rank_threads(int threads, int ranks_on_host, int cores);

} // namespace troupe
