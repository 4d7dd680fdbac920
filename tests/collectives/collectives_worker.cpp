// A rank for the collectives suites, started by `troupe train`: joins the
// process group from its environment and runs a conformance sequence with
// exact expected values. One line per check, "collectives ok" at the end.
// On the nccl backend it also checks buffers in device memory.
//
//   collectives_worker                        conformance; exit 0, or 1 on a wrong value
//   collectives_worker --die-after-barrier R  rank R _exit(3)s after a barrier; the
//                                             others' next allreduce must fail: exit 4
//   collectives_worker --stall-after-barrier R  rank R sleeps (sockets open) instead:
//                                             the others must time out: exit 4
// Exit 2: no usable TROUPE_* environment or bad arguments.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <gloo/types.h>

#include "messages/errors.hpp"
#include "runtime/collectives/make_process_group.hpp"
#include "runtime/node.hpp"

#ifdef TROUPE_HAVE_NCCL
#include <cuda_runtime_api.h>

#include "runtime/collectives/nccl_communicator.hpp"
#endif

using namespace troupe;
using namespace troupe::collectives;

namespace {

int this_rank = 0;

void say(const std::string& line) {
  // Whole lines, flushed: several ranks share one terminal or pipe.
  std::cout << "rank " + std::to_string(this_rank) + ": " + line + "\n" << std::flush;
}

[[noreturn]] void fail(const std::string& what) {
  say("FAILED " + what);
  // _Exit: the group's and CAF's threads are still running; no teardown.
  std::_Exit(1);
}

void wait_ok(const work_ptr& w, const std::string& what) {
  if (auto err = w->wait())
    fail(what + ": " + describe(err));
  if (!w->done())
    fail(what + ": done() is false after wait()");
}

template <class T>
void expect_equal(const std::vector<T>& got, const std::vector<T>& want, const std::string& what) {
  for (size_t i = 0; i < want.size(); ++i)
    if (!(got[i] == want[i])) {
      std::ostringstream out;
      out << what << ": element " << i << " is " << +got[i] << ", expected " << +want[i];
      fail(out.str());
    }
  say(what + " ok");
}

// Rank-dependent values whose sums are small integers: exact in any float type.
double value_of(int rank, size_t i) { return (rank + 1) * static_cast<double>(i % 7 + 1); }

template <class T>
void check_allreduce(process_group& pg, size_t count, dtype type, reduce_op op) {
  int n = pg.size();
  std::vector<T> data(count), want(count);
  double rank_sum = n * (n + 1) / 2.0;
  for (size_t i = 0; i < count; ++i) {
    data[i] = static_cast<T>(value_of(pg.rank(), i));
    auto sum = static_cast<T>(rank_sum * static_cast<double>(i % 7 + 1));
    want[i] = op == reduce_op::sum ? sum : static_cast<T>(sum / static_cast<T>(n));
  }
  auto what = std::string{"allreduce "} + (op == reduce_op::sum ? "sum" : "average") + " of "
              + std::to_string(count) + " " + to_string(type);
  wait_ok(pg.allreduce(data.data(), count, type, op), what);
  expect_equal(data, want, what);
}

void check_float16(process_group& pg, size_t count, reduce_op op) {
  int n = pg.size();
  std::vector<gloo::float16> data(count);
  std::vector<float> got(count), want(count);
  for (size_t i = 0; i < count; ++i) {
    data[i] = gloo::cpu_float2half_rn(static_cast<float>(value_of(pg.rank(), i)));
    auto sum = static_cast<float>(n * (n + 1) / 2 * static_cast<int>(i % 7 + 1));
    // Averages of these sums (k*(n+1)/2) are exact in float16 too.
    want[i] = op == reduce_op::sum ? sum : sum / static_cast<float>(n);
  }
  auto what = std::string{"allreduce "} + (op == reduce_op::sum ? "sum" : "average") + " of "
              + std::to_string(count) + " float16";
  wait_ok(pg.allreduce(data.data(), count, dtype::float16, op), what);
  for (size_t i = 0; i < count; ++i)
    got[i] = gloo::cpu_half2float(data[i]);
  expect_equal(got, want, what);
}

void check_broadcast(process_group& pg, int root) {
  std::vector<uint8_t> data(4099, 0xEE), want(4099);
  for (size_t i = 0; i < want.size(); ++i)
    want[i] = static_cast<uint8_t>(i * 31 + static_cast<size_t>(root));
  if (pg.rank() == root)
    data = want;
  auto what = "broadcast of 4099 bytes from rank " + std::to_string(root);
  wait_ok(pg.broadcast(data.data(), data.size(), root), what);
  expect_equal(data, want, what);
}

void check_allgather(process_group& pg) {
  constexpr size_t per_rank = 257;
  std::vector<uint8_t> mine(per_rank), all(per_rank * static_cast<size_t>(pg.size()), 0),
    want(all.size());
  for (size_t i = 0; i < per_rank; ++i)
    mine[i] = static_cast<uint8_t>(pg.rank() * 17 + static_cast<int>(i));
  for (int r = 0; r < pg.size(); ++r)
    for (size_t i = 0; i < per_rank; ++i)
      want[static_cast<size_t>(r) * per_rank + i] = static_cast<uint8_t>(r * 17 + static_cast<int>(i));
  wait_ok(pg.allgather(mine.data(), all.data(), per_rank), "allgather");
  expect_equal(all, want, "allgather of 257 bytes per rank");
}

// Issues 50 allreduces before waiting for any: each must land in its own
// buffer (tags and order agree across ranks) and complete in issue order.
void check_pipelined(process_group& pg) {
  constexpr int ops = 50;
  int n = pg.size();
  std::vector<std::vector<float>> buffers(ops, std::vector<float>(4));
  std::vector<work_ptr> works;
  std::mutex order_mutex;
  std::vector<int> order;
  for (int k = 0; k < ops; ++k) {
    for (auto& x : buffers[static_cast<size_t>(k)])
      x = static_cast<float>((pg.rank() + 1) * (k + 1));
    auto w = pg.allreduce(buffers[static_cast<size_t>(k)].data(), 4, dtype::float32,
                          reduce_op::sum);
    w->on_done([&order_mutex, &order, k](const caf::error&) {
      std::lock_guard<std::mutex> guard{order_mutex};
      order.push_back(k);
    });
    works.push_back(w);
  }
  for (int k = 0; k < ops; ++k) {
    wait_ok(works[static_cast<size_t>(k)], "pipelined allreduce " + std::to_string(k));
    std::vector<float> want(4, static_cast<float>(n * (n + 1) / 2 * (k + 1)));
    for (size_t i = 0; i < 4; ++i)
      if (buffers[static_cast<size_t>(k)][i] != want[i])
        fail("pipelined allreduce " + std::to_string(k) + " holds "
             + std::to_string(buffers[static_cast<size_t>(k)][i]) + ", expected "
             + std::to_string(want[i]));
  }
  // wait() may return before the worker ran the callbacks; give them 5 s.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  std::unique_lock<std::mutex> guard{order_mutex};
  while (order.size() < static_cast<size_t>(ops) && std::chrono::steady_clock::now() < deadline) {
    guard.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
    guard.lock();
  }
  if (order.size() != static_cast<size_t>(ops))
    fail("only " + std::to_string(order.size()) + " of 50 on_done callbacks ran");
  for (int k = 0; k < ops; ++k)
    if (order[static_cast<size_t>(k)] != k)
      fail("pipelined allreduces completed out of issue order");
  // on_done on a finished work runs at once.
  bool ran = false;
  works.back()->on_done([&ran](const caf::error&) { ran = true; });
  if (!ran)
    fail("on_done on a finished work did not run at once");
  say("50 pipelined allreduces ok");
}

#ifdef TROUPE_HAVE_NCCL
// The checks above pass host memory, which the nccl backend stages through
// its device; these pass memory on the group's device, which it uses in
// place, and a device input with a host output (one staged side).
void check_device_buffers(process_group& pg) {
  auto device = choose_cuda_device(pg.rank());
  if (!device)
    fail("device buffers: " + describe(device.error()));
  auto cuda = [](cudaError_t rc, const char* call) {
    if (rc != cudaSuccess)
      fail(std::string{"device buffers: "} + call + ": " + cudaGetErrorString(rc));
  };
  cuda(cudaSetDevice(*device), "cudaSetDevice");
  int n = pg.size();
  constexpr size_t count = 1000;
  std::vector<float> data(count), want(count);
  for (size_t i = 0; i < count; ++i) {
    data[i] = static_cast<float>(value_of(pg.rank(), i));
    want[i] = static_cast<float>(n * (n + 1) / 2 * static_cast<int>(i % 7 + 1));
  }
  void* on_device = nullptr;
  cuda(cudaMalloc(&on_device, count * sizeof(float)), "cudaMalloc");
  cuda(cudaMemcpy(on_device, data.data(), count * sizeof(float), cudaMemcpyHostToDevice),
       "cudaMemcpy");
  wait_ok(pg.allreduce(on_device, count, dtype::float32, reduce_op::sum), "device allreduce");
  cuda(cudaMemcpy(data.data(), on_device, count * sizeof(float), cudaMemcpyDeviceToHost),
       "cudaMemcpy");
  expect_equal(data, want, "allreduce sum of 1000 float32 in device memory");
  constexpr size_t per_rank = 257;
  std::vector<uint8_t> mine(per_rank), all(per_rank * static_cast<size_t>(n), 0),
    all_want(all.size());
  for (size_t i = 0; i < per_rank; ++i)
    mine[i] = static_cast<uint8_t>(pg.rank() * 5 + static_cast<int>(i));
  for (int r = 0; r < n; ++r)
    for (size_t i = 0; i < per_rank; ++i)
      all_want[static_cast<size_t>(r) * per_rank + i] = static_cast<uint8_t>(r * 5 + static_cast<int>(i));
  cuda(cudaMemcpy(on_device, mine.data(), per_rank, cudaMemcpyHostToDevice), "cudaMemcpy");
  wait_ok(pg.allgather(on_device, all.data(), per_rank), "device allgather");
  expect_equal(all, all_want, "allgather of 257 bytes per rank from device memory");
  cuda(cudaFree(on_device), "cudaFree");
}
#endif

int run_conformance(process_group& pg) {
  // 3 Mi + 7 floats: several pieces per chunk on UCX's ring, cut unevenly.
  for (size_t count : {size_t{1}, size_t{1000}, size_t{1} << 20, (size_t{3} << 20) + 7}) {
    check_allreduce<float>(pg, count, dtype::float32, reduce_op::sum);
    check_allreduce<float>(pg, count, dtype::float32, reduce_op::average);
  }
  check_allreduce<double>(pg, 1000, dtype::float64, reduce_op::sum);
  check_allreduce<double>(pg, 1000, dtype::float64, reduce_op::average);
  check_float16(pg, 1000, reduce_op::sum);
  check_float16(pg, 1000, reduce_op::average);
  check_broadcast(pg, 0);
  check_broadcast(pg, pg.size() - 1);
  check_allgather(pg);
  wait_ok(pg.barrier(), "barrier");
  say("barrier ok");
  check_pipelined(pg);
#ifdef TROUPE_HAVE_NCCL
  if (pg.backend() == "nccl")
    check_device_buffers(pg);
#endif
  say("collectives ok");
  return 0;
}

int run_after_barrier(process_group& pg, int victim, bool stall) {
  wait_ok(pg.barrier(), "barrier");
  say("barrier ok");
  if (pg.rank() == victim) {
    // Give the others time to leave the barrier and enter the allreduce:
    // the failure must hit them there, not in the barrier.
    std::this_thread::sleep_for(std::chrono::milliseconds{300});
    if (stall) {
      say("stalling now");
      std::this_thread::sleep_for(std::chrono::minutes{10});
    }
    say("dying now");
    ::_exit(3);
  }
  std::vector<float> big(size_t{1} << 22, 1.0f);
  auto start = std::chrono::steady_clock::now();
  auto err = pg.allreduce(big.data(), big.size(), dtype::float32, reduce_op::sum)->wait();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - start).count();
  if (!err)
    fail("allreduce succeeded although rank " + std::to_string(victim) + " died");
  say("allreduce failed after " + std::to_string(ms) + " ms as expected: " + describe(err));
  // A broken group refuses later operations at once.
  auto next = pg.barrier()->wait();
  say("next operation: " + describe(next));
  return 4;
}

} // namespace

int main(int argc, char** argv) {
  int victim = -1;
  bool stall = false;
  for (int i = 1; i < argc; ++i) {
    bool die = std::strcmp(argv[i], "--die-after-barrier") == 0;
    if ((die || std::strcmp(argv[i], "--stall-after-barrier") == 0) && i + 1 < argc) {
      victim = std::atoi(argv[++i]);
      stall = !die;
    } else {
      std::cerr << "collectives_worker: unknown argument '" << argv[i] << "'\n";
      return 2;
    }
  }
  auto info = rendezvous_from_env();
  if (!info) {
    std::cerr << "collectives_worker: " << describe(info.error()) << "\n";
    return 2;
  }
  this_rank = info->rank;
  auto cfg = make_actor_system_config(node_config{});
  caf::actor_system sys{*cfg};
  auto start = std::chrono::steady_clock::now();
  auto group = make_process_group(sys, *info);
  if (!group) {
    say("FAILED joining the group: " + describe(group.error()));
    return 1;
  }
  say("joined " + (*group)->backend() + " group of " + std::to_string((*group)->size())
      + " in "
      + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - start).count())
      + " ms");
  return victim >= 0 ? run_after_barrier(**group, victim, stall) : run_conformance(**group);
}
