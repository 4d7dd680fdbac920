#define BOOST_TEST_MODULE nccl_collectives
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <vector>

#include <unistd.h>

#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include "runtime/collectives/make_process_group.hpp"
#include "runtime/node.hpp"

#include "tests/collectives/launch_support.hpp"
#include "tests/support/test_support.hpp"

// The NCCL backend, built only with the CUDA toolkit and NCCL. Each case
// asks CUDA how many devices this host has and checks what a user sees
// there: without one, making a group fails at once with a clear message;
// with one, a single rank passes the conformance sequence of
// collectives_worker (host buffers staged through the device, then device
// buffers in place); with two, two ranks do, and a stalled rank's peer
// times out instead of hanging.

using namespace troupe;

namespace {

using test::contains;
using test::count_of;
using test::run_troupe;
using test::seconds_since;
using test::worker;

/// CUDA devices on this host; 0 without a driver or device.
int cuda_devices() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

/// A precondition: the case is reported as skipped on smaller hosts.
struct at_least_devices {
  int wanted;
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result result{cuda_devices() >= wanted};
    result.message() << "needs " << wanted << " CUDA devices (NCCL wants one per rank); "
                     << "this host has " << cuda_devices();
    return result;
  }
};

constexpr const char* no_device_message =
  "unavailable: nccl backend: no usable CUDA device on this host (cudaGetDeviceCount: ";

} // namespace

BOOST_AUTO_TEST_CASE(nccl_is_a_backend_of_this_build) {
  auto err = collectives::check_backend("nccl");
  BOOST_TEST(!err, describe(err));
}

BOOST_AUTO_TEST_CASE(a_single_nccl_rank_passes_the_conformance_sequence_or_fails_at_once_without_a_gpu) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_troupe("train --nproc 1 --backend nccl -- " + worker());
  auto took = seconds_since(start);
  if (cuda_devices() == 0) {
    BOOST_TEST_MESSAGE("no CUDA device: checked the failure of a GPU-less host (" << took
                                                                                  << " s)");
    BOOST_TEST(r.status == 1, r.output);
    BOOST_TEST(took < 20.0, r.output);
    BOOST_TEST(contains(r.output, std::string{"rank 0: FAILED joining the group: "}
                                    + no_device_message),
               r.output);
    BOOST_TEST(contains(r.output, "troupe train: rank 0 exited with status 1"), r.output);
    return;
  }
  BOOST_TEST_MESSAGE(cuda_devices() << " CUDA device(s): checked a single-rank run (" << took
                                    << " s)");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(contains(r.output, "rank 0: joined nccl group of 1"), r.output);
  BOOST_TEST(contains(r.output, "rank 0: allreduce average of 1048576 float32 ok"), r.output);
  BOOST_TEST(contains(r.output, "rank 0: allreduce average of 1000 float16 ok"), r.output);
  BOOST_TEST(contains(r.output, "rank 0: allreduce sum of 1000 float32 in device memory ok"),
             r.output);
  BOOST_TEST(contains(r.output, "rank 0: collectives ok"), r.output);
  BOOST_TEST(!contains(r.output, "FAILED"), r.output);
}

BOOST_AUTO_TEST_CASE(make_process_group_answers_at_once_on_a_host_without_a_gpu) {
  // No rendezvous store here: with a device the group gets as far as
  // looking for it; without one it must not even try.
  test::client_system client;
  collectives::rendezvous_info info;
  info.backend = "nccl";
  info.address = "127.0.0.1:1";
  info.store_name = "store@nowhere";
  info.run_id = "nccl-test";
  info.timeout = std::chrono::milliseconds{2000};
  auto start = std::chrono::steady_clock::now();
  auto group = collectives::make_process_group(client.sys(), info);
  auto took = seconds_since(start);
  BOOST_REQUIRE(!group);
  if (cuda_devices() == 0) {
    BOOST_TEST_MESSAGE("no CUDA device: make_process_group failed in " << took << " s");
    BOOST_TEST(is(group.error(), errc::unavailable));
    BOOST_TEST(contains(describe(group.error()), no_device_message), describe(group.error()));
    BOOST_TEST(took < 5.0);
  } else {
    BOOST_TEST_MESSAGE("a CUDA device: make_process_group got as far as the store");
    BOOST_TEST(contains(describe(group.error()), "cannot reach the rendezvous member"),
               describe(group.error()));
  }
}

BOOST_AUTO_TEST_CASE(two_nccl_ranks_on_two_gpus_pass_the_conformance_sequence,
                     *boost::unit_test::precondition(at_least_devices{2})) {
  auto r = run_troupe("train --nproc 2 --backend nccl -- " + worker());
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count_of(r.output, "collectives ok") == 2u, r.output);
  BOOST_TEST(!contains(r.output, "FAILED"), r.output);
}

BOOST_AUTO_TEST_CASE(when_an_nccl_rank_stalls_its_peer_times_out_and_aborts_the_communicator,
                     *boost::unit_test::precondition(at_least_devices{2})) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_troupe("train --nproc 2 --backend nccl --timeout-ms 3000 --grace-ms 3000 -- "
                      + worker() + " --stall-after-barrier 1");
  auto took = seconds_since(start);
  BOOST_TEST_MESSAGE("launch to exit with a stalled rank: " << took << " s");
  BOOST_TEST(r.status == 1, r.output);
  BOOST_TEST(took < 60.0, r.output);
  BOOST_TEST(contains(r.output, "timeout: allreduce of 4194304 float32 failed: no progress "
                                "within 3000 ms; the communicator was aborted"),
             r.output);
  BOOST_TEST(contains(r.output, "barrier refused: the group is broken"), r.output);
  BOOST_TEST(contains(r.output, "troupe train: rank 0 exited with status 4"), r.output);
}

// The same checks without `troupe` or a second process: a rendezvous node
// in this process and one rank. A GPU host that lacks Debian's libraries
// runs this binary with its libraries carried along (tests/gpu/README.md),
// where the 200 MB `troupe` program would not fit.
BOOST_AUTO_TEST_CASE(a_single_nccl_rank_in_process_reduces_host_and_device_buffers,
                     *boost::unit_test::precondition(at_least_devices{1})) {
  test::temp_dir dir;
  node_config cfg;
  cfg.name = "nccl-check-" + std::to_string(::getpid());
  cfg.store_path = dir.file("store");
  cfg.store_sync = false;
  auto n = node::start(cfg, service_registry{});
  BOOST_REQUIRE_MESSAGE(n, test::why(n));
  collectives::rendezvous_info info;
  info.backend = "nccl";
  info.address = (*n)->info().host + ":" + std::to_string((*n)->info().port);
  info.store_name = "store@" + cfg.name;
  info.run_id = "in-process";
  info.timeout = std::chrono::milliseconds{20000};
  auto group = collectives::make_process_group((*n)->system(), info);
  BOOST_REQUIRE_MESSAGE(group, test::why(group));
  auto& g = **group;
  BOOST_TEST(g.backend() == "nccl");
  BOOST_TEST(g.size() == 1);
  // Host buffers, staged through the device: with one rank, sum and
  // average leave the values as they were.
  std::vector<float> f32(1 << 20);
  for (size_t i = 0; i < f32.size(); ++i)
    f32[i] = static_cast<float>(i % 1000) * 0.5f;
  auto expected_f32 = f32;
  auto err = g.allreduce(f32.data(), f32.size(), dtype::float32,
                         collectives::reduce_op::average)->wait();
  BOOST_REQUIRE_MESSAGE(!err, describe(err));
  BOOST_TEST(f32 == expected_f32);
  std::vector<double> f64{1.5, -2.25, 1e300};
  err = g.allreduce(f64.data(), f64.size(), dtype::float64, collectives::reduce_op::sum)->wait();
  BOOST_REQUIRE_MESSAGE(!err, describe(err));
  BOOST_TEST(f64 == (std::vector<double>{1.5, -2.25, 1e300}));
  std::vector<__half> f16(1000, __float2half(0.75f));
  err = g.allreduce(f16.data(), f16.size(), dtype::float16,
                    collectives::reduce_op::average)->wait();
  BOOST_REQUIRE_MESSAGE(!err, describe(err));
  BOOST_TEST(__half2float(f16[999]) == 0.75f);
  std::vector<uint8_t> bytes{1, 2, 3, 4};
  err = g.broadcast(bytes.data(), bytes.size(), 0)->wait();
  BOOST_REQUIRE_MESSAGE(!err, describe(err));
  BOOST_TEST(bytes == (std::vector<uint8_t>{1, 2, 3, 4}));
  std::vector<uint8_t> gathered(4);
  err = g.allgather(bytes.data(), gathered.data(), bytes.size())->wait();
  BOOST_REQUIRE_MESSAGE(!err, describe(err));
  BOOST_TEST(gathered == bytes);
  err = g.barrier()->wait();
  BOOST_REQUIRE_MESSAGE(!err, describe(err));
  // A device buffer is reduced in place.
  void* on_device = nullptr;
  BOOST_REQUIRE(cudaMalloc(&on_device, 1000 * sizeof(float)) == cudaSuccess);
  std::vector<float> host(1000, 3.0f);
  BOOST_REQUIRE(cudaMemcpy(on_device, host.data(), 1000 * sizeof(float),
                           cudaMemcpyHostToDevice) == cudaSuccess);
  err = g.allreduce(on_device, 1000, dtype::float32, collectives::reduce_op::sum)->wait();
  BOOST_REQUIRE_MESSAGE(!err, describe(err));
  std::vector<float> back(1000);
  BOOST_REQUIRE(cudaMemcpy(back.data(), on_device, 1000 * sizeof(float),
                           cudaMemcpyDeviceToHost) == cudaSuccess);
  cudaFree(on_device);
  BOOST_TEST(back == host);
  // A type NCCL is not asked to reduce is refused, naming it.
  std::vector<int32_t> ints(4);
  err = g.allreduce(ints.data(), ints.size(), dtype::int32, collectives::reduce_op::sum)->wait();
  BOOST_TEST(static_cast<bool>(err));
  group->reset();
}
