// A work handle that a backend's thread completes: the shared half of every
// process_group backend's asynchronous operations.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "runtime/collectives/process_group.hpp"

namespace troupe::collectives {

class completion_work final : public work {
public:
  /// A work that is already done with `err` (e.g. a call refused up front).
  static std::shared_ptr<completion_work> failed(caf::error err);

  /// Returns once the work is done; its callbacks may still be running.
  caf::error wait() override;
  bool done() const override;
  void on_done(std::function<void(const caf::error&)> callback) override;

  /// Marks the work done with `err` (none: success), wakes every waiter and
  /// runs the callbacks on the calling thread. REQUIRES: called once.
  void complete(caf::error err);

private:
  mutable std::mutex mutex_;
  std::condition_variable done_signal_;
  bool done_ = false;                                         // guarded by mutex_
  caf::error error_;                                          // guarded by mutex_
  std::vector<std::function<void(const caf::error&)>> callbacks_;  // guarded by mutex_
};

} // namespace troupe::collectives
