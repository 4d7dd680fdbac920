// The Gloo backend of process_group: CPU collectives over TCP, after
// PyTorch's ProcessGroupGloo. Ranks meet through Troupe's state store
// (store_rendezvous), then talk over a full mesh of Gloo TCP pairs.
//
// One worker thread per group runs the operations one at a time in the
// order they were issued, so issue order is execution order on every rank,
// and each operation gets the next tag (the same on every rank).
//
//   caller ──allreduce()──▶ queue ──▶ worker: gloo::allreduce(tag, timeout)
//      ◀──── work (wait / done / on_done) ◀── completes it, ok or an error
//
// After an operation fails, Gloo's pairs are in an unknown state, so the
// group is broken: every later operation fails at once with the first error.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "runtime/collectives/completion_work.hpp"
#include "runtime/collectives/process_group.hpp"
#include "runtime/collectives/serial_worker.hpp"

namespace gloo {
class Context;
} // namespace gloo

namespace troupe::collectives {

class gloo_process_group final : public process_group {
public:
  /// Meets the other ranks in the state store `info.store_name` reached
  /// through `info.address`, connects a full mesh and checks it with one
  /// barrier. Fails (unavailable or timeout, naming the cause) within about
  /// twice `info.timeout` if a rank does not show up. Ignores SIGPIPE if it
  /// has its default action: Gloo writes to dead peers, which would kill us.
  static caf::expected<std::unique_ptr<gloo_process_group>>
  make(caf::actor_system& sys, const rendezvous_info& info);

  /// Finishes the operations already issued (each is bounded by the
  /// timeout), then stops the worker thread.
  ~gloo_process_group() override;

  gloo_process_group(const gloo_process_group&) = delete;
  gloo_process_group& operator=(const gloo_process_group&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "gloo"; }

  work_ptr allreduce(void* data, size_t count, dtype type, reduce_op op) override;
  work_ptr broadcast(void* data, size_t bytes, int root) override;
  work_ptr allgather(const void* input, void* output, size_t bytes_per_rank) override;
  work_ptr barrier() override;

private:
  gloo_process_group(std::shared_ptr<gloo::Context> context, std::chrono::milliseconds timeout);

  /// Queues a Gloo call: `run` gets the operation's tag and throws what
  /// Gloo throws; the first failure breaks the group for good.
  work_ptr enqueue(std::string name, std::function<void(uint32_t tag)> run);

  std::shared_ptr<gloo::Context> context_;
  int rank_;
  int size_;
  std::chrono::milliseconds timeout_;

  caf::error broken_;  // first failure; worker thread only
  std::unique_ptr<serial_worker> worker_;  // last: stops before the rest dies
};

} // namespace troupe::collectives
