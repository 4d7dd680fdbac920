#include "runtime/collectives/serial_worker.hpp"

namespace troupe::collectives {

serial_worker::serial_worker(std::function<void()> at_exit)
  : at_exit_(std::move(at_exit)), thread_([this] { loop(); }) {
  // nop
}

serial_worker::~serial_worker() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
  }
  wakeup_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

std::shared_ptr<completion_work> serial_worker::submit(task run) {
  auto result = std::make_shared<completion_work>();
  {
    std::lock_guard<std::mutex> guard{mutex_};
    queue_.push_back(entry{std::move(run), result, next_++});
  }
  wakeup_.notify_one();
  return result;
}

void serial_worker::loop() {
  for (;;) {
    entry next;
    {
      std::unique_lock<std::mutex> guard{mutex_};
      wakeup_.wait(guard, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        break;  // stopping, and everything issued has run
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    next.work->complete(next.run(next.sequence));
  }
  if (at_exit_)
    at_exit_();
}

} // namespace troupe::collectives
