#include "runtime/collectives/ucx_process_group.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>

#include <gloo/types.h>

#include "messages/errors.hpp"
#include "runtime/collectives/operation_checks.hpp"
#include "runtime/collectives/cpu_elementwise.hpp"
#include "runtime/collectives/store_rendezvous.hpp"
#include "runtime/collectives/ucx_mesh.hpp"

namespace troupe::collectives {

namespace {

// Groups made by this process so far. Every rank makes its groups in the
// same order, so the count names the group in the store's keys and a second
// group of one run never reads the first one's addresses.
std::atomic<uint64_t> groups_made{0};

using send_recv = std::vector<ucx_transfer>;

// -- reductions ---------------------------------------------------------------

/// Adds `count` elements at `in` into `acc`.
using add_fn = void (*)(void* acc, const void* in, size_t count);

template <class T>
void add(void* acc, const void* in, size_t count) {
  add_in_place(static_cast<T*>(acc), static_cast<const T*>(in), count);
}

// float16 adds in float32 and rounds once per step, as Gloo's sum does.
void add_float16(void* acc, const void* in, size_t count) {
  auto* x = static_cast<gloo::float16*>(acc);
  auto* y = static_cast<const gloo::float16*>(in);
  for (size_t i = 0; i < count; ++i)
    x[i] = gloo::cpu_float2half_rn(gloo::cpu_half2float(x[i]) + gloo::cpu_half2float(y[i]));
}

template <class T>
void divide(void* data, size_t count, int size) {
  divide_in_place(static_cast<T*>(data), count, static_cast<T>(size));
}



// -- algorithms ---------------------------------------------------------------

// A reduce-scatter step's message travels in pieces of about this size, so
// that the rank adds each piece as it lands while the next ones are still on
// the wire, instead of adding the whole chunk after the last byte. 2 MiB
// took a 16 MiB allreduce of two ranks on loopback from 16.7-17.1 ms to
// 15.1-15.8 ms here; 512 KiB pieces gained nothing measurable.
constexpr size_t piece_bytes = size_t{2} << 20;

/// Ring allreduce: a reduce-scatter then an allgather, each N-1 steps in
/// which every rank sends one of N chunks right and receives one from the
/// left. Each rank moves 2(N-1)/N of the data, whatever N. `finish`, when
/// given, runs on the chunk this rank holds complete after the reduce-scatter
/// (the average's division), so that each rank divides 1/N of the data while
/// it is in cache, and the allgather spreads the result.
caf::error ring_allreduce(ucx_mesh& mesh, uint32_t seq, ucx_mesh::clock::time_point deadline,
                          const std::string& what, void* data, size_t count, size_t width,
                          add_fn add_into, const std::function<void(void*, size_t)>& finish) {
  int n = mesh.size();
  int r = mesh.rank();
  auto* bytes = static_cast<uint8_t*>(data);
  auto first = [&](int chunk) {
    return count * static_cast<size_t>(chunk) / static_cast<size_t>(n);
  };
  auto at = [&](int chunk) { return bytes + first(chunk) * width; };
  auto length = [&](int chunk) { return first(chunk + 1) - first(chunk); };
  // A chunk's pieces depend only on its length, so sender and receiver
  // (which see the same chunk) cut it alike.
  auto pieces = [&](int chunk) {
    auto wanted = (length(chunk) * width + piece_bytes - 1) / piece_bytes;
    return static_cast<uint32_t>(std::clamp<size_t>(wanted, 1, ucx_mesh::max_parts));
  };
  auto piece_first = [&](int chunk, uint32_t k) { return length(chunk) * k / pieces(chunk); };
  // Appends `chunk`'s pieces, to or from `peer`, laid out from `base`.
  auto add_pieces = [&](send_recv& transfers, ucx_transfer::direction dir, int peer, int chunk,
                        uint8_t* base) {
    for (uint32_t k = 0, n_pieces = pieces(chunk); k < n_pieces; ++k) {
      auto from = piece_first(chunk, k);
      transfers.push_back({dir, peer, base + from * width,
                           (piece_first(chunk, k + 1) - from) * width, k});
    }
  };
  int right = (r + 1) % n;
  int left = (r + n - 1) % n;
  std::vector<uint8_t> incoming((count / static_cast<size_t>(n) + 1) * width);
  uint32_t step = 0;
  // After step s of the reduce-scatter, chunk (r - s - 1) holds the sum of
  // s + 2 ranks; after N-1 steps chunk (r + 1) holds every rank's.
  for (int s = 0; s < n - 1; ++s, ++step) {
    int out = (r - s + n) % n;
    int in = (r - s - 1 + 2 * n) % n;
    send_recv transfers;
    add_pieces(transfers, ucx_transfer::send, right, out, at(out));
    auto first_receive = transfers.size();
    add_pieces(transfers, ucx_transfer::recv, left, in, incoming.data());
    auto err = mesh.exchange(transfers, seq, step, deadline, what, [&](size_t index) {
      if (index < first_receive)
        return;
      auto k = static_cast<uint32_t>(index - first_receive);
      auto from = piece_first(in, k);
      add_into(at(in) + from * width, incoming.data() + from * width,
               piece_first(in, k + 1) - from);
    });
    if (err)
      return err;
  }
  if (finish) {
    int complete = (r + 1) % n;
    finish(at(complete), length(complete));
  }
  for (int s = 0; s < n - 1; ++s, ++step) {
    int out = (r + 1 - s + n) % n;
    int in = (r - s + n) % n;
    auto err = mesh.exchange(send_recv{{ucx_transfer::send, right, at(out), length(out) * width},
                                       {ucx_transfer::recv, left, at(in), length(in) * width}},
                             seq, step, deadline, what);
    if (err)
      return err;
  }
  return caf::none;
}

} // namespace

// -- construction -------------------------------------------------------------

caf::expected<std::unique_ptr<ucx_process_group>>
ucx_process_group::make(caf::actor_system& sys, const rendezvous_info& info) {
  if (auto err = refuse_rendezvous(info))
    return err;
  if (info.world_size > ucx_mesh::max_size)
    return make_error(errc::invalid_argument,
                      "the ucx backend supports at most " + std::to_string(ucx_mesh::max_size)
                        + " ranks");
  auto prefix = "troupe/rendezvous/" + info.run_id + "/ucx/group-"
                + std::to_string(groups_made++) + "/";
  auto store = store_rendezvous::connect(sys, info.address, info.store_name, prefix,
                                         info.timeout);
  if (!store)
    return store.error();
  auto where = "rank " + std::to_string(info.rank) + " of " + std::to_string(info.world_size)
               + " meeting in '" + info.store_name + "' (run " + info.run_id + ")";
  std::unique_ptr<ucx_process_group> group{
    new ucx_process_group(info.rank, info.world_size, info.timeout)};
  // UCX objects belong to the worker thread, so it connects them: the first
  // operation runs connect_. `store` outlives it, since we wait for it here.
  group->connect_ = [&store, &info, &where] {
    return ucx_mesh::connect(**store, info.rank, info.world_size, info.timeout, where);
  };
  if (auto err = group->enqueue("connecting", nullptr)->wait())
    return err;
  // Once every rank has passed this barrier, every rank has read every
  // address, so each can remove its own: the store is left as it was found.
  if (auto err = group->barrier()->wait())
    return make_error(errc::unavailable, where + ": the first barrier failed: " + describe(err));
  (*store)->erase({std::to_string(info.rank)});
  return group;
}

ucx_process_group::ucx_process_group(int rank, int size, std::chrono::milliseconds timeout)
  : rank_(rank), size_(size), timeout_(timeout) {
  // UCX objects die on the thread that made them.
  worker_ = std::make_unique<serial_worker>([this] { mesh_.reset(); });
}

ucx_process_group::~ucx_process_group() = default;  // worker_ drains first

work_ptr ucx_process_group::enqueue(std::string name, body run) {
  return worker_->submit([this, name = std::move(name), run = std::move(run)](uint32_t seq) {
    if (broken_)
      return refuse_after_failure(name, broken_);
    if (!run) {  // the connect step make() queues first
      auto mesh = connect_();
      connect_ = nullptr;
      if (!mesh)
        broken_ = mesh.error();
      else
        mesh_ = std::move(*mesh);
      return broken_;
    }
    broken_ = run(*mesh_, seq, clock::now() + timeout_);
    return broken_;
  });
}

// -- operations ---------------------------------------------------------------

work_ptr ucx_process_group::allreduce(void* data, size_t count, dtype type, reduce_op op) {
  auto name = allreduce_name(count, type, op);
  if (auto err = refuse_allreduce(name, "ucx", data, count, type))
    return completion_work::failed(std::move(err));
  return enqueue(name, [name, size = size_, data, count, type, op](
                         ucx_mesh& mesh, uint32_t seq, clock::time_point deadline) {
    if (count == 0)
      return caf::error{};
    size_t width = type == dtype::float64 ? 8 : type == dtype::float16 ? 2 : 4;
    add_fn add_into = type == dtype::float64   ? &add<double>
                      : type == dtype::float16 ? &add_float16
                                               : &add<float>;
    std::function<void(void*, size_t)> finish;
    if (op == reduce_op::average)
      finish = [type, size](void* chunk, size_t n) {
        if (type == dtype::float64)
          divide<double>(chunk, n, size);
        else if (type == dtype::float16)
          divide_half_in_place(static_cast<gloo::float16*>(chunk), n, size);
        else
          divide<float>(chunk, n, size);
      };
    return ring_allreduce(mesh, seq, deadline, name, data, count, width, add_into, finish);
  });
}

work_ptr ucx_process_group::broadcast(void* data, size_t bytes, int root) {
  auto name = broadcast_name(bytes, root);
  if (auto err = refuse_broadcast(name, data, bytes, root, size_))
    return completion_work::failed(std::move(err));
  return enqueue(name, [name, data, bytes, root](ucx_mesh& mesh, uint32_t seq,
                                                 clock::time_point deadline) {
    if (bytes == 0 || mesh.size() == 1)
      return caf::error{};
    // The root sends to every rank at once: one step, and UCX overlaps the
    // sends. A tree would scale better past a few dozen ranks.
    send_recv transfers;
    if (mesh.rank() == root) {
      for (int peer = 0; peer < mesh.size(); ++peer)
        if (peer != root)
          transfers.push_back({ucx_transfer::send, peer, data, bytes});
    } else {
      transfers.push_back({ucx_transfer::recv, root, data, bytes});
    }
    return mesh.exchange(transfers, seq, 0, deadline, name);
  });
}

work_ptr ucx_process_group::allgather(const void* input, void* output, size_t bytes_per_rank) {
  auto name = allgather_name(bytes_per_rank);
  if (auto err = refuse_allgather(name, input, output, bytes_per_rank))
    return completion_work::failed(std::move(err));
  return enqueue(name, [name, input, output, bytes_per_rank](
                         ucx_mesh& mesh, uint32_t seq, clock::time_point deadline) {
    if (bytes_per_rank == 0)
      return caf::error{};
    int n = mesh.size();
    int r = mesh.rank();
    auto block = [&](int k) {
      return static_cast<uint8_t*>(output) + static_cast<size_t>(k) * bytes_per_rank;
    };
    std::memmove(block(r), input, bytes_per_rank);
    // Ring: in step s every rank passes on the block it got in step s - 1.
    for (int s = 0; s < n - 1; ++s) {
      int out = (r - s + n) % n;
      int in = (r - s - 1 + 2 * n) % n;
      send_recv transfers{{ucx_transfer::send, (r + 1) % n, block(out), bytes_per_rank},
                          {ucx_transfer::recv, (r + n - 1) % n, block(in), bytes_per_rank}};
      auto err = mesh.exchange(transfers, seq, static_cast<uint32_t>(s), deadline, name);
      if (err)
        return err;
    }
    return caf::error{};
  });
}

work_ptr ucx_process_group::barrier() {
  return enqueue("barrier", [](ucx_mesh& mesh, uint32_t seq, clock::time_point deadline) {
    // Dissemination: in round k every rank signals rank + 2^k and hears
    // from rank - 2^k; after ceil(log2 N) rounds each has heard from all.
    int n = mesh.size();
    int r = mesh.rank();
    uint8_t token = 1;
    uint8_t heard = 0;
    uint32_t round = 0;
    for (int k = 1; k < n; k *= 2, ++round) {
      auto err = mesh.exchange(send_recv{{ucx_transfer::send, (r + k) % n, &token, 1},
                                         {ucx_transfer::recv, (r - k % n + n) % n, &heard, 1}},
                               seq, round, deadline, "barrier");
      if (err)
        return err;
    }
    return caf::error{};
  });
}

} // namespace troupe::collectives
