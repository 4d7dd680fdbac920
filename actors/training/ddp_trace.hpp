// A Chrome-trace timeline of DDP (chrome://tracing or Perfetto): per
// iteration, the backward pass (first gradient to the end of the wait) and
// each bucket's collective (launch to completion), so overlap is visible.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include <caf/error.hpp>

namespace troupe::training {

class ddp_trace {
public:
  using clock_type = std::chrono::steady_clock;

  explicit ddp_trace(int rank) : rank_(rank), origin_(clock_type::now()) {}

  /// Records a span; thread-safe (bucket completions arrive on the
  /// collective's thread).
  void span(std::string name, std::string category, clock_type::time_point begin,
            clock_type::time_point end);

  /// Writes {"traceEvents": [...]}; io_failure naming the path on error.
  caf::error write(const std::string& path) const;

  size_t size() const;

private:
  struct event {
    std::string name;
    std::string category;
    double begin_us;
    double duration_us;
  };

  int rank_;
  clock_type::time_point origin_;
  mutable std::mutex mutex_;
  std::vector<event> events_;  // guarded by mutex_
};

} // namespace troupe::training
