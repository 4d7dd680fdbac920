// The UCX backend of process_group: CPU collectives written on UCX's tag
// API, over the transports UCX picks per peer among sm, tcp and self
// (UCX_TLS overrides; see ucx_mesh.cpp for why that means TCP today).
// Ranks meet through Troupe's state store by publishing worker addresses.
//
// One worker thread per group owns the UCX context, worker and endpoints
// (ucx_mesh) and runs the operations one at a time in issue order; each
// operation gets the next sequence number, which goes into its tags.
//
//   caller ──allreduce()──▶ queue ──▶ worker: ring over ucx_mesh::exchange
//      ◀──── work (wait / done / on_done) ◀── completes it, ok or an error
//
// After an operation fails, the endpoints are closed, so the group is
// broken: every later operation fails at once with the first error.
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

namespace troupe::collectives {

class ucx_mesh;

class ucx_process_group final : public process_group {
public:
  /// Meets the other ranks in the state store `info.store_name` reached
  /// through `info.address`, connects an endpoint to each and checks them
  /// with one barrier. Fails (unavailable or timeout, naming the cause)
  /// within about twice `info.timeout` if a rank does not show up.
  static caf::expected<std::unique_ptr<ucx_process_group>>
  make(caf::actor_system& sys, const rendezvous_info& info);

  /// Finishes the operations already issued (each is bounded by the
  /// timeout), closes the endpoints (bounded) and stops the worker thread.
  ~ucx_process_group() override;

  ucx_process_group(const ucx_process_group&) = delete;
  ucx_process_group& operator=(const ucx_process_group&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "ucx"; }

  work_ptr allreduce(void* data, size_t count, dtype type, reduce_op op) override;
  work_ptr broadcast(void* data, size_t bytes, int root) override;
  work_ptr allgather(const void* input, void* output, size_t bytes_per_rank) override;
  work_ptr barrier() override;

private:
  using clock = std::chrono::steady_clock;

  /// What an operation runs on the worker thread: its steps over the mesh,
  /// tagged with `seq`, each bounded by `deadline`.
  using body = std::function<caf::error(ucx_mesh& mesh, uint32_t seq,
                                        clock::time_point deadline)>;

  ucx_process_group(int rank, int size, std::chrono::milliseconds timeout);

  /// Queues an operation; the first one to run connects the mesh (make()
  /// queues the connect step first); the first failure breaks the group.
  work_ptr enqueue(std::string name, body run);

  int rank_;
  int size_;
  std::chrono::milliseconds timeout_;

  // Worker thread only. The mesh is made by the first operation that runs
  // (make() queues it) and destroyed as the thread ends.
  std::function<caf::expected<std::unique_ptr<ucx_mesh>>()> connect_;
  std::unique_ptr<ucx_mesh> mesh_;
  caf::error broken_;             // first failure
  std::unique_ptr<serial_worker> worker_;  // last: stops before the rest dies
};

} // namespace troupe::collectives
