// What a tuner and its measurement workers (troupe-measure) say to each
// other, one JSON object a line, and what a measurement leaves behind: a
// measure_result, also the value stored in the tuning records. JSON stays
// behind this header: callers see structs and strings.
//
// Worker protocol (stdin -> stdout, one line each):
//   worker starts          -> {"hello":true,"device":"host/cpu model"}
//   {"task":{"op":"matmul","shape":[128,128,128]},"config":[...],
//    "repeats":5,"threads":1,"seed":1,"check":true}
//                          -> {"stage":"compiled","compile_seconds":0.1}   (after JIT + reference)
//                          -> {"ok":true,"seconds":..,"mean_seconds":..,"gflops":..,
//                              "max_error":..,"device":".."}
//                          or {"ok":false,"error":"..","device":".."}
// A request may carry "fault":"crash"|"hang"|"wrong": the worker then
// abort()s or sleeps forever after compiling, or spoils one output value.
// It exists only to test that a tuner survives and rejects such candidates.
#pragma once

#include "compiler/tuning/search_space.hpp"

#include <cstdint>
#include <string>
#include <utility>

namespace troupe::compiler {

/// One candidate to measure.
struct measure_request {
  tuning_task task;
  tuning_config config;
  int repeats = 5;       ///< timed runs: the record keeps their median
  int threads = 1;       ///< threads of parallel loops
  uint64_t seed = 1;     ///< of the random inputs
  bool check = true;     ///< compare the output with the reference
  std::string fault;     ///< test hook: "", "crash", "hang" or "wrong"
  /// Flush the caches (64 MiB written) before each timed run: cold-cache
  /// times. False: back-to-back warm runs, as a layer runs inside a model.
  bool flush = true;
  /// TVM's min_repeat_ms: the warm-up runs at least this long, and
  /// without a flush each timed repeat runs the candidate as many times as
  /// it takes to last this long (its time: the mean of those runs). A
  /// worker idle while the tuner retrains finds its core clocked down, and
  /// a few 2 ms runs measured that state, not the kernel (a 3x3 conv at
  /// 14x14: 2.2-2.9 ms a run against 1.4-1.9 ms once warm).
  int min_repeat_ms = 0;
};

/// The outcome of measuring one config.
struct measure_result {
  tuning_config config;
  double seconds = 0;       ///< the median timed repeat (robust to bursts either way)
  double mean_seconds = 0;  ///< mean of the repeats, fastest and slowest dropped (>= 4)
  double gflops = 0;        ///< task.flops() / seconds
  double max_error = 0;     ///< max |out - ref| / max(1, max |ref|); 0 when unchecked
  std::string error;        ///< empty when the measurement is valid
  std::string device;       ///< "hostname/cpu model" of the worker
  int64_t timestamp = 0;    ///< Unix time in milliseconds when it was recorded
  /// A finalist's re-measurement (tuning/confirm_finalists.hpp), not a
  /// trial: interleaved with the other finalists in the same worker, so
  /// confirmed records compare with each other, and the best one is the
  /// task's best (tuning_records::best).
  bool confirmed = false;
  bool ok() const { return error.empty(); }
};

/// The request as one JSON line (no newline).
std::string request_to_json(const measure_request& request);
/// Throws std::invalid_argument naming what is wrong.
measure_request request_from_json(const std::string& line);

/// A record as one JSON object (task name, op, shape and the result's fields).
std::string record_to_json(const tuning_task& task, const measure_result& result);
/// Throws std::invalid_argument naming what is wrong.
std::pair<tuning_task, measure_result> record_from_json(const std::string& line);

/// Unix time in milliseconds.
int64_t unix_millis();

} // namespace troupe::compiler
