// The NCCL backend of process_group: GPU collectives after PyTorch's
// ProcessGroupNCCL. Ranks meet through Troupe's state store (rank 0 shares
// its ncclUniqueId there), then run NCCL's own transports: NVLink, PCIe,
// shared memory, InfiniBand or sockets.
//
// Buffers may live on the host: DDP's gradient buckets are CPU tensors. Host
// memory is staged through a device scratch buffer on the group's stream;
// memory already on the group's device is used in place (nccl_communicator).
//
// One worker thread per group owns the CUDA device setting, the stream and
// the communicator, and runs the operations one at a time in issue order:
//
//   caller ──allreduce()──▶ queue ──▶ worker: copy in, ncclAllReduce, poll,
//      ◀──── work (wait / done / on_done) ◀──     copy out; ok or an error
//
// Nothing waits on NCCL unbounded: after a timeout or an NCCL error the
// communicator is aborted, so the group is broken: every later operation
// fails at once with the first error.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "runtime/collectives/completion_work.hpp"
#include "runtime/collectives/process_group.hpp"
#include "runtime/collectives/serial_worker.hpp"

namespace troupe::collectives {

class nccl_communicator;

class nccl_process_group final : public process_group {
public:
  /// Picks this rank's CUDA device (choose_cuda_device: rank % devices, or
  /// TROUPE_CUDA_DEVICE), meets the other ranks in the state store
  /// `info.store_name` reached through `info.address`, initializes the
  /// communicator and checks it with one barrier. Fails at once
  /// (unavailable) on a host without a usable CUDA device, and within about
  /// three times `info.timeout` (reading the unique id, initializing, the
  /// barrier; unavailable or timeout, naming the cause) if a rank does not
  /// show up.
  static caf::expected<std::unique_ptr<nccl_process_group>>
  make(caf::actor_system& sys, const rendezvous_info& info);

  /// Finishes the operations already issued (each is bounded by the
  /// timeout), releases the communicator (bounded) and stops the worker.
  ~nccl_process_group() override;

  nccl_process_group(const nccl_process_group&) = delete;
  nccl_process_group& operator=(const nccl_process_group&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }

  work_ptr allreduce(void* data, size_t count, dtype type, reduce_op op) override;
  work_ptr broadcast(void* data, size_t bytes, int root) override;
  work_ptr allgather(const void* input, void* output, size_t bytes_per_rank) override;
  work_ptr barrier() override;

private:
  using clock = std::chrono::steady_clock;

  /// What an operation runs on the worker thread, bounded by `deadline`.
  using body = std::function<caf::error(nccl_communicator& comm, clock::time_point deadline)>;

  nccl_process_group(int rank, int size, std::chrono::milliseconds timeout);

  /// Queues an operation; the first one to run connects the communicator
  /// (make() queues the connect step first); the first failure breaks the
  /// group.
  work_ptr enqueue(std::string name, body run);

  int rank_;
  int size_;
  std::chrono::milliseconds timeout_;

  // Worker thread only. The communicator is made by the first operation that
  // runs (make() queues it) and destroyed as the thread ends.
  std::function<caf::expected<std::unique_ptr<nccl_communicator>>()> connect_;
  std::unique_ptr<nccl_communicator> comm_;
  caf::error broken_;                      // first failure
  std::unique_ptr<serial_worker> worker_;  // last: stops before the rest dies
};

} // namespace troupe::collectives
