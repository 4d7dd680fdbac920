// The tuning loop (AutoTVM's): the explorer proposes a batch of configs,
// the measurers build and time them in parallel (spread over every
// measurer, local or on other nodes), each result is appended to the
// records store at once, and the cost model retrains on all records before
// the next batch. Records already in the store are loaded first, so a
// stopped run resumes where it was (and a killed one loses at most the
// measurements in flight).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "compiler/tuning/measure_protocol.hpp"
#include "compiler/tuning/tuning_records.hpp"
#include "messages/tuning_protocol.hpp"

namespace troupe::tuning {

struct tune_options {
  compiler::tuning_task task;
  uint64_t trials = 200;       ///< measurements to reach, resumed ones included
  uint64_t batch = 16;         ///< configs per round (AutoTVM's plan size is 64)
  uint64_t seed = 1;
  bool random = false;         ///< random search: no cost model
  std::string store_dir;       ///< the records store (RocksDB)
  int repeats = 5;             ///< timed runs per measurement
  int threads = 1;             ///< threads of a candidate's parallel loops
  bool flush = true;           ///< cold-cache timing (see measure_request::flush)
  int min_repeat_ms = 20;      ///< see measure_request::min_repeat_ms
  std::chrono::milliseconds measure_timeout{60'000};  ///< per request, whole round trip
  /// Test hooks (troupe-measure's planted faults): the first valid config
  /// from this 1-based measurement on crashes / hangs its worker (0: none).
  uint64_t crash_trial = 0;
  uint64_t hang_trial = 0;
  /// Records of other tasks (transfer learning): the cost model trains on
  /// them with the task's own records (one ranking group per task), so
  /// even the first batch is model-guided. Not stored, not counted.
  std::vector<compiler::tuning_record> transfer;
};

struct tune_progress {
  uint64_t done = 0;
  uint64_t trials = 0;
  uint64_t errors = 0;
  double best_gflops = 0;
  compiler::measure_result last;
};

struct tune_summary {
  uint64_t resumed = 0;       ///< records found in the store at the start
  uint64_t measured = 0;      ///< measurements made by this run
  uint64_t errors = 0;        ///< of all records
  std::vector<compiler::measure_result> records;  ///< all, in order
  std::vector<double> best_so_far;                ///< GFLOP/s after each record
  compiler::measure_result best;
  double seconds = 0;
};

/// The request that measures `config` of `options.task` with `options`'
/// measurement settings (repeats, threads, flush, min_repeat_ms, seed).
compiler::measure_request measure_request_for(const tune_options& options,
                                              const compiler::tuning_config& config);

/// Runs the loop with `measurers` (at least one). Throws std::runtime_error
/// when the store cannot be opened or every measurer stops answering.
tune_summary run_tuning(caf::actor_system& sys, const tune_options& options,
                        const std::vector<tuning_measurer_actor>& measurers,
                        const std::function<void(const tune_progress&)>& on_progress = {});

} // namespace troupe::tuning
