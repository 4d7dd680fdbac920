#include "runtime/collectives/nccl_process_group.hpp"

#include <atomic>
#include <cstdint>

#include "messages/errors.hpp"
#include "runtime/collectives/operation_checks.hpp"
#include "runtime/collectives/nccl_communicator.hpp"
#include "runtime/collectives/store_rendezvous.hpp"

namespace troupe::collectives {

namespace {

// Groups made by this process so far. Every rank makes its groups in the
// same order, so the count names the group in the store's keys and a second
// group of one run never reads the first one's unique id.
std::atomic<uint64_t> groups_made{0};

using clock = std::chrono::steady_clock;


ncclDataType_t nccl_type(dtype type) {
  return type == dtype::float64 ? ncclFloat64 : type == dtype::float16 ? ncclFloat16 : ncclFloat32;
}

size_t width(dtype type) {
  return type == dtype::float64 ? 8 : type == dtype::float16 ? 2 : 4;
}

/// Where a collective reads and writes `user` memory: in place if it is on
/// the communicator's device, else in the scratch buffer.
struct device_buffer {
  void* at = nullptr;
  bool staged = false;
};

caf::expected<device_buffer> device_side(nccl_communicator& comm, void* user, size_t bytes,
                                         const std::string& what) {
  if (comm.on_device(user))
    return device_buffer{user, false};
  auto scratch = comm.scratch(bytes, what);
  if (!scratch)
    return scratch.error();
  return device_buffer{*scratch, true};
}

/// Waits for the collective, then copies a staged result back to the host.
caf::error finish(nccl_communicator& comm, const std::string& what, clock::time_point deadline,
                  const device_buffer& buffer, void* user, size_t bytes) {
  if (auto err = comm.wait(what, deadline))
    return err;
  // Copied back only once the collective is done: a copy to pageable host
  // memory blocks the calling thread, and must never block on a peer.
  if (!buffer.staged)
    return caf::none;
  if (auto err = comm.copy(user, buffer.at, bytes, what))
    return err;
  return comm.wait(what, deadline);
}

} // namespace

// -- construction -------------------------------------------------------------

caf::expected<std::unique_ptr<nccl_process_group>>
nccl_process_group::make(caf::actor_system& sys, const rendezvous_info& info) {
  if (auto err = refuse_rendezvous(info))
    return err;
  // Before meeting anyone: a host without a GPU fails at once, not after
  // the other ranks' timeout.
  auto device = choose_cuda_device(info.rank);
  if (!device)
    return device.error();
  auto prefix = "troupe/rendezvous/" + info.run_id + "/nccl/group-"
                + std::to_string(groups_made++) + "/";
  auto store = store_rendezvous::connect(sys, info.address, info.store_name, prefix,
                                         info.timeout);
  if (!store)
    return store.error();
  auto where = "rank " + std::to_string(info.rank) + " of " + std::to_string(info.world_size)
               + " meeting in '" + info.store_name + "' (run " + info.run_id + ")";
  std::unique_ptr<nccl_process_group> group{
    new nccl_process_group(info.rank, info.world_size, info.timeout)};
  // The current device is a per-thread setting, so the worker thread
  // connects. `store` outlives the step, since we wait for it here.
  group->connect_ = [&store, &info, &where, device = *device] {
    return nccl_communicator::connect(**store, info.rank, info.world_size, device,
                                      info.timeout, where);
  };
  if (auto err = group->enqueue("connecting", nullptr)->wait())
    return err;
  // Once every rank has passed this barrier, every rank has read the unique
  // id, so rank 0 removes it: the store is left as it was found.
  if (auto err = group->barrier()->wait())
    return make_error(errc::unavailable, where + ": the first barrier failed: " + describe(err));
  if (info.rank == 0)
    (*store)->erase({nccl_unique_id_key});
  return group;
}

nccl_process_group::nccl_process_group(int rank, int size, std::chrono::milliseconds timeout)
  : rank_(rank), size_(size), timeout_(timeout) {
  // The communicator, its stream and scratch die on the thread that set
  // their device.
  worker_ = std::make_unique<serial_worker>([this] { comm_.reset(); });
}

nccl_process_group::~nccl_process_group() = default;  // worker_ drains first

work_ptr nccl_process_group::enqueue(std::string name, body run) {
  return worker_->submit([this, name = std::move(name), run = std::move(run)](uint32_t) {
    if (broken_)
      return refuse_after_failure(name, broken_);
    if (!run) {  // the connect step make() queues first
      auto comm = connect_();
      connect_ = nullptr;
      if (!comm)
        broken_ = comm.error();
      else
        comm_ = std::move(*comm);
      return broken_;
    }
    broken_ = run(*comm_, clock::now() + timeout_);
    return broken_;
  });
}

// -- operations ---------------------------------------------------------------

work_ptr nccl_process_group::allreduce(void* data, size_t count, dtype type, reduce_op op) {
  auto name = allreduce_name(count, type, op);
  if (auto err = refuse_allreduce(name, "nccl", data, count, type))
    return completion_work::failed(std::move(err));
  return enqueue(name, [name, data, count, type, op](nccl_communicator& comm,
                                                     clock::time_point deadline) {
    if (count == 0)
      return caf::error{};
    auto bytes = count * width(type);
    auto buffer = device_side(comm, data, bytes, name);
    if (!buffer)
      return buffer.error();
    if (buffer->staged)
      if (auto err = comm.copy(buffer->at, data, bytes, name))
        return err;
    // ncclAvg divides on the device, after the sum, in the element type.
    auto rc = ncclAllReduce(buffer->at, buffer->at, count, nccl_type(type),
                            op == reduce_op::average ? ncclAvg : ncclSum, comm.comm(),
                            comm.stream());
    if (auto err = comm.launched(rc, name, deadline))
      return err;
    return finish(comm, name, deadline, *buffer, data, bytes);
  });
}

work_ptr nccl_process_group::broadcast(void* data, size_t bytes, int root) {
  auto name = broadcast_name(bytes, root);
  if (auto err = refuse_broadcast(name, data, bytes, root, size_))
    return completion_work::failed(std::move(err));
  return enqueue(name, [name, data, bytes, root](nccl_communicator& comm,
                                                 clock::time_point deadline) {
    if (bytes == 0)
      return caf::error{};
    auto buffer = device_side(comm, data, bytes, name);
    if (!buffer)
      return buffer.error();
    bool is_root = comm.rank() == root;
    if (buffer->staged && is_root)
      if (auto err = comm.copy(buffer->at, data, bytes, name))
        return err;
    auto rc = ncclBroadcast(buffer->at, buffer->at, bytes, ncclUint8, root, comm.comm(),
                            comm.stream());
    if (auto err = comm.launched(rc, name, deadline))
      return err;
    // The root's own bytes are unchanged: no copy back.
    auto result = *buffer;
    result.staged = result.staged && !is_root;
    return finish(comm, name, deadline, result, data, bytes);
  });
}

work_ptr nccl_process_group::allgather(const void* input, void* output, size_t bytes_per_rank) {
  auto name = allgather_name(bytes_per_rank);
  if (auto err = refuse_allgather(name, input, output, bytes_per_rank))
    return completion_work::failed(std::move(err));
  return enqueue(name, [name, input, output, bytes_per_rank](nccl_communicator& comm,
                                                             clock::time_point deadline) {
    if (bytes_per_rank == 0)
      return caf::error{};
    auto total = bytes_per_rank * static_cast<size_t>(comm.size());
    auto out = device_side(comm, output, total, name);
    if (!out)
      return out.error();
    // A host input goes straight to this rank's block of the (device)
    // output, which NCCL then gathers in place: one buffer, not two.
    const void* send = input;
    if (!comm.on_device(input)) {
      auto* mine = static_cast<uint8_t*>(out->at)
                   + static_cast<size_t>(comm.rank()) * bytes_per_rank;
      if (auto err = comm.copy(mine, input, bytes_per_rank, name))
        return err;
      send = mine;
    }
    auto rc = ncclAllGather(send, out->at, bytes_per_rank, ncclUint8, comm.comm(),
                            comm.stream());
    if (auto err = comm.launched(rc, name, deadline))
      return err;
    return finish(comm, name, deadline, *out, output, total);
  });
}

work_ptr nccl_process_group::barrier() {
  return enqueue("barrier", [](nccl_communicator& comm, clock::time_point deadline) {
    // As PyTorch's NCCL barrier: an allreduce of one value on the device
    // (its contents do not matter), complete once every rank contributed.
    auto scratch = comm.scratch(sizeof(float), "barrier");
    if (!scratch)
      return scratch.error();
    auto rc = ncclAllReduce(*scratch, *scratch, 1, ncclFloat32, ncclSum, comm.comm(),
                            comm.stream());
    if (auto err = comm.launched(rc, "barrier", deadline))
      return err;
    return comm.wait("barrier", deadline);
  });
}

} // namespace troupe::collectives
