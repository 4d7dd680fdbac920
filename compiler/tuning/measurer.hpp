// Measuring tuning candidates in a worker process (troupe-measure), so that
// a candidate that crashes, hangs or computes a wrong result becomes an
// error in its measure_result and tuning goes on. A measurer owns one
// worker: it sends a request, waits for the reply under a deadline, and on
// a timeout or a crash kills and reaps the worker (by pid) and starts a
// fresh one for the next request.
//
//   (no worker) --measure--> start --hello--> idle --request--> compiling
//   compiling --stage:compiled--> running --reply--> idle
//   compiling/running --deadline passed--> kill -9, "timeout after N s" --> (no worker)
//   any state --EOF on stdout--> reap, "worker crashed (signal N)" --> (no worker)
#pragma once

#include "compiler/tuning/measure_protocol.hpp"

#include <chrono>
#include <string>

#include <sys/types.h>

namespace troupe::compiler {

/// How to measure a candidate.
struct measure_options {
  int repeats = 5;
  int threads = 1;
  uint64_t seed = 1;
  bool check = true;
  bool flush = true;  ///< see measure_request::flush
  int min_repeat_ms = 0;  ///< see measure_request::min_repeat_ms
  /// From the request to the worker's "compiled" message: build, JIT and
  /// (first time for a task) the reference output.
  std::chrono::milliseconds compile_timeout{10000};
  /// From "compiled" to the reply: warm-up and timed runs.
  std::chrono::milliseconds run_timeout{10000};
  /// Test hook, passed to the worker: "crash", "hang" or "wrong" (troupe-measure --help).
  std::string fault;
};

/// A worker process and the candidates it measures. Not thread-safe: one
/// measure() at a time (use one measurer per concurrent measurement).
class measurer {
public:
  /// `worker_path`: the troupe-measure executable. The worker's stderr goes
  /// to `log_path` (appended) or, when empty, to this process's stderr.
  explicit measurer(std::string worker_path, std::string log_path = {});
  ~measurer();
  measurer(const measurer&) = delete;
  measurer& operator=(const measurer&) = delete;

  /// Measures `config` of `task`. Never throws for a bad candidate and
  /// never blocks longer than the options' timeouts (plus worker start-up):
  /// every failure is a result with a non-empty error.
  measure_result measure(const tuning_task& task, const tuning_config& config,
                         const measure_options& options = {});

  /// The worker's pid, or -1 when none is running.
  pid_t worker_pid() const { return pid_; }
  /// Workers started so far (1 + restarts after failures).
  int workers_started() const { return started_; }
  /// The device of the last worker that said hello ("" before the first).
  const std::string& device() const { return device_; }

private:
  enum class read_status { line, timeout, eof };

  std::string start();  // empty on success, else the error
  void stop();          // kills (SIGKILL) and reaps the worker, if any
  read_status read_line(std::string& line, std::chrono::steady_clock::time_point deadline);
  std::string crash_reason();  // reaps the worker and describes its end
  bool write_all(const std::string& text);

  std::string worker_path_;
  std::string log_path_;
  std::string device_;
  pid_t pid_ = -1;
  int to_worker_ = -1;
  int from_worker_ = -1;
  std::string buffer_;  // bytes read past the last line
  int started_ = 0;
};

} // namespace troupe::compiler
