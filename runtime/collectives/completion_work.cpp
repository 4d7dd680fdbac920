#include "runtime/collectives/completion_work.hpp"

namespace troupe::collectives {

std::shared_ptr<completion_work> completion_work::failed(caf::error err) {
  auto result = std::make_shared<completion_work>();
  result->complete(std::move(err));
  return result;
}

caf::error completion_work::wait() {
  // Unbounded here, bounded by the backend: every operation it runs carries
  // the group's timeout and completes its work on every path.
  std::unique_lock<std::mutex> guard{mutex_};
  done_signal_.wait(guard, [this] { return done_; });
  return error_;
}

bool completion_work::done() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return done_;
}

void completion_work::on_done(std::function<void(const caf::error&)> callback) {
  std::unique_lock<std::mutex> guard{mutex_};
  if (!done_) {
    callbacks_.push_back(std::move(callback));
    return;
  }
  auto err = error_;
  guard.unlock();
  callback(err);
}

void completion_work::complete(caf::error err) {
  std::vector<std::function<void(const caf::error&)>> callbacks;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    done_ = true;
    error_ = err;
    callbacks.swap(callbacks_);
  }
  done_signal_.notify_all();
  // Outside the lock: a callback may call wait() or done() on this work. A
  // waiter may thus wake before the callbacks ran (as with PyTorch's futures).
  for (auto& callback : callbacks)
    callback(err);
}

} // namespace troupe::collectives
