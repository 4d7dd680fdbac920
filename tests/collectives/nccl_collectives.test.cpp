#define BOOST_TEST_MODULE nccl_collectives
#include <boost/test/unit_test.hpp>

#include <chrono>

#include <cuda_runtime_api.h>

#include "runtime/collectives/make_process_group.hpp"

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

std::string worker() { return COLLECTIVES_WORKER; }

// Every launch is bounded twice: by `timeout` here and by ctest's TIMEOUT.
test::command_result run_troupe(const std::string& args) {
  return test::run_command("timeout 120 " + test::troupe_binary() + " " + args);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

size_t count_of(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

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
