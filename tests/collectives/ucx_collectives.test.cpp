#define BOOST_TEST_MODULE ucx_collectives
#include <boost/test/unit_test.hpp>

#include <chrono>

#include "tests/collectives/launch_support.hpp"
#include "tests/support/test_support.hpp"

// The same conformance sequence as gloo_collectives, on the UCX backend:
// collectives_worker takes its backend from TROUPE_BACKEND, which
// `troupe train --backend ucx` sets.

using namespace troupe;

namespace {

using test::contains;
using test::count_of;
using test::run_troupe;
using test::seconds_since;
using test::worker;

} // namespace

BOOST_AUTO_TEST_CASE(two_ranks_pass_the_ucx_conformance_sequence) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_troupe("train --nproc 2 --backend ucx -- " + worker());
  BOOST_TEST_MESSAGE("2 ranks took " << seconds_since(start) << " s");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count_of(r.output, "joined ucx group of 2") == 2u, r.output);
  BOOST_TEST(count_of(r.output, "collectives ok") == 2u, r.output);
  BOOST_TEST(!contains(r.output, "FAILED"), r.output);
}

// Troupe sets TCP segment sizes only where the user set neither: TCP refuses
// a receive segment smaller than the send segment, so one of ours beside
// one of the user's would stop the backend from starting.
BOOST_AUTO_TEST_CASE(a_tcp_segment_size_the_user_set_is_not_mixed_with_troupes) {
  // Each valid beside UCX's own other default (send 8 KiB, receive 64 KiB),
  // neither beside Troupe's 256 KiB send segments.
  for (std::string setting : {"UCX_TCP_RX_SEG_SIZE=64k", "UCX_TCP_RX_SEG_SIZE=128k"}) {
    auto r = test::run_command("env " + setting + " timeout 120 " + test::troupe_binary()
                               + " train --nproc 2 --backend ucx -- " + worker() + " 2>&1");
    BOOST_TEST(r.status == 0, setting << ": " << r.output);
    BOOST_TEST(count_of(r.output, "collectives ok") == 2u, setting << ": " << r.output);
  }
}

BOOST_AUTO_TEST_CASE(three_ranks_pass_the_ucx_conformance_sequence) {
  // Three ranks: the ring's chunks are uneven (1 element over 3 ranks, or
  // 1000) and the barrier needs two dissemination rounds.
  auto start = std::chrono::steady_clock::now();
  auto r = run_troupe("train --nproc 3 --backend ucx -- " + worker());
  BOOST_TEST_MESSAGE("3 ranks took " << seconds_since(start) << " s");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count_of(r.output, "joined ucx group of 3") == 3u, r.output);
  BOOST_TEST(count_of(r.output, "collectives ok") == 3u, r.output);
  BOOST_TEST(contains(r.output, "rank 2: broadcast of 4099 bytes from rank 2 ok"), r.output);
  BOOST_TEST(!contains(r.output, "FAILED"), r.output);
}

BOOST_AUTO_TEST_CASE(when_a_rank_dies_the_ucx_survivors_fail_with_an_error_not_a_hang) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_troupe("train --nproc 3 --backend ucx --timeout-ms 5000 --grace-ms 15000 -- "
                      + worker() + " --die-after-barrier 1");
  auto took = seconds_since(start);
  BOOST_TEST_MESSAGE("launch to exit with a dead rank: " << took << " s");
  BOOST_TEST(r.status == 1, r.output);
  BOOST_TEST(took < 30.0, r.output);
  BOOST_TEST(contains(r.output, "troupe train: rank 1 exited with status 3"), r.output);
  // Both survivors report the failed operation by name and exit 4.
  BOOST_TEST(count_of(r.output, "allreduce of 4194304 float32 failed") >= 2u, r.output);
  BOOST_TEST(contains(r.output, "troupe train: rank 0 exited with status 4"), r.output);
  BOOST_TEST(contains(r.output, "troupe train: rank 2 exited with status 4"), r.output);
  // A broken group refuses the next operation at once, naming the cause.
  BOOST_TEST(contains(r.output, "barrier refused: the group is broken"), r.output);
}

BOOST_AUTO_TEST_CASE(when_a_rank_stalls_the_ucx_survivor_times_out_naming_the_operation) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_troupe("train --nproc 2 --backend ucx --timeout-ms 2000 --grace-ms 2000 -- "
                      + worker() + " --stall-after-barrier 1");
  auto took = seconds_since(start);
  BOOST_TEST_MESSAGE("launch to exit with a stalled rank: " << took << " s");
  BOOST_TEST(r.status == 1, r.output);
  BOOST_TEST(took < 20.0, r.output);
  BOOST_TEST(contains(r.output, "timeout: allreduce of 4194304 float32 failed: Timed out"),
             r.output);
  BOOST_TEST(contains(r.output, "troupe train: rank 0 exited with status 4"), r.output);
  BOOST_TEST(contains(r.output, "troupe train: killing rank 1"), r.output);
}

BOOST_AUTO_TEST_CASE(a_rank_that_never_joins_fails_the_ucx_rendezvous_within_the_timeout) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_troupe("train --nproc 2 --backend ucx --timeout-ms 1500 -- /bin/sh -c "
                      "'if [ \"$TROUPE_RANK\" = 1 ]; then exit 5; fi; exec " + worker() + "'");
  auto took = seconds_since(start);
  BOOST_TEST(r.status == 1, r.output);
  BOOST_TEST(took < 15.0, r.output);
  BOOST_TEST(contains(r.output, "rank 0: FAILED joining the group: timeout: rank 0 of 2"),
             r.output);
  BOOST_TEST(contains(r.output, "/ucx/group-0/1' after 1500 ms (did every rank start?)"),
             r.output);
}
