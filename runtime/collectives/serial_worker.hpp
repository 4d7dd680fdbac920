// One thread that runs a process group's operations in the order they were
// issued: collectives must run in the same order on every rank, and a
// backend's communication objects often belong to the thread that made them.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "runtime/collectives/completion_work.hpp"

namespace troupe::collectives {

class serial_worker {
public:
  /// What a task runs; `sequence` counts tasks from 0 in submission order
  /// (backends use it as the operation's tag).
  using task = std::function<caf::error(uint32_t sequence)>;

  /// Starts the thread. `at_exit` runs on it after the last task, e.g. to
  /// destroy objects bound to that thread.
  explicit serial_worker(std::function<void()> at_exit = nullptr);

  /// Runs the tasks already submitted (each bounded by its backend's
  /// timeout), then `at_exit`, then joins the thread.
  ~serial_worker();

  serial_worker(const serial_worker&) = delete;
  serial_worker& operator=(const serial_worker&) = delete;

  /// Queues `run` behind every earlier task; its result completes the work.
  std::shared_ptr<completion_work> submit(task run);

private:
  struct entry {
    task run;
    std::shared_ptr<completion_work> work;
    uint32_t sequence = 0;
  };

  void loop();

  std::mutex mutex_;
  std::condition_variable wakeup_;
  std::deque<entry> queue_;  // guarded by mutex_
  uint32_t next_ = 0;        // guarded by mutex_
  bool stopping_ = false;    // guarded by mutex_
  std::function<void()> at_exit_;
  std::thread thread_;  // last: starts once everything above exists
};

} // namespace troupe::collectives
