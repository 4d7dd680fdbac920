// After a search: the few best configs (and the template's default)
// measured again, together. A trial is one measurement at one moment, and
// on a shared or throttling machine the same config can measure 30 %
// apart a second later (benchmarks/README.md, "Timing noise"), so the
// search's single best record is partly the luckiest moment. The
// finalists are re-measured in interleaved rounds in one worker (so they
// meet the same machine states), each keeps its best round, and each is
// stored as a confirmed record: from then on the task's best
// (tuning_records::best, which `troupe compile` applies) is the fastest
// confirmed finalist.
#pragma once

#include <cstddef>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/tuning/tuner.hpp"

namespace troupe::tuning {

struct finalist {
  compiler::tuning_config config;
  double trial_gflops = 0;            ///< its best trial (0 for an unmeasured default)
  compiler::measure_result confirmed; ///< the best of its rounds (error if every round failed)
  bool is_default = false;            ///< the template's own config
};

/// Re-measures the `count` fastest distinct valid configs among the
/// trials of `options.task` in `options.store_dir`, plus the template's
/// default config, `rounds` interleaved rounds on `measurers.front()`,
/// with the measurement options of `options` (repeats, threads, flush,
/// seed, timeout). Appends one confirmed record per finalist. Returns the
/// finalists, fastest confirmed first; empty when the task has no valid
/// trial (or `count` or `rounds` is 0).
std::vector<finalist> confirm_finalists(caf::actor_system& sys, const tune_options& options,
                                        const std::vector<tuning_measurer_actor>& measurers,
                                        size_t count = 4, int rounds = 3);

} // namespace troupe::tuning
