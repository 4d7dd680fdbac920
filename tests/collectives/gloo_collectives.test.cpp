#define BOOST_TEST_MODULE gloo_collectives
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "runtime/collectives/cpu_elementwise.hpp"
#include "runtime/collectives/make_process_group.hpp"

#include "tests/collectives/launch_support.hpp"
#include "tests/support/test_support.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

using test::contains;
using test::count_of;
using test::run_troupe;
using test::seconds_since;
using test::worker;

const char* troupe_variables[] = {"TROUPE_RANK",     "TROUPE_WORLD_SIZE",
                                  "TROUPE_RENDEZVOUS", "TROUPE_RENDEZVOUS_STORE",
                                  "TROUPE_RUN_ID",   "TROUPE_BACKEND",
                                  "TROUPE_INTERFACE_HOST", "TROUPE_COLLECTIVE_TIMEOUT_MS"};

/// Sets the TROUPE_* variables of one valid rank; unsets all on scope exit.
struct rank_environment {
  rank_environment() {
    ::setenv("TROUPE_RANK", "1", 1);
    ::setenv("TROUPE_WORLD_SIZE", "3", 1);
    ::setenv("TROUPE_RENDEZVOUS", "127.0.0.1:4242", 1);
    ::setenv("TROUPE_RENDEZVOUS_STORE", "store@train-1", 1);
    ::setenv("TROUPE_RUN_ID", "run-1", 1);
  }
  ~rank_environment() {
    for (auto name : troupe_variables)
      ::unsetenv(name);
  }
};

std::string error_of(const caf::expected<collectives::rendezvous_info>& info) {
  return info ? std::string{"<no error>"} : describe(info.error());
}

} // namespace

// The reduce functions given to Gloo, checked against `expected` (a scalar
// loop) to the bit: out of place and in place (Gloo passes c == a), at
// lengths around the chunk size, with random values and (from length 3) a
// sum that overflows a float and subnormal operands.
template <class Reduce, class Expected>
void check_reduce_function(Reduce reduce, Expected expected_of, unsigned seed) {
  using troupe::collectives::elementwise_chunk;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(-1e3f, 1e3f);
  for (size_t n : {size_t{0}, size_t{1}, elementwise_chunk - 1, elementwise_chunk,
                   elementwise_chunk + 1, 3 * elementwise_chunk + 5, size_t{1000}}) {
    std::vector<float> a(n), b(n), expected(n), out(n);
    for (size_t i = 0; i < n; ++i) {
      a[i] = value(rng);
      b[i] = value(rng);
    }
    if (n > 2) {
      a[0] = b[0] = std::numeric_limits<float>::max();
      a[1] = std::numeric_limits<float>::denorm_min();
      b[1] = 2 * std::numeric_limits<float>::denorm_min();
    }
    for (size_t i = 0; i < n; ++i)
      expected[i] = expected_of(a[i], b[i]);
    reduce(out.data(), a.data(), b.data(), n);
    BOOST_TEST(std::memcmp(out.data(), expected.data(), n * sizeof(float)) == 0, "length " << n);
    reduce(a.data(), a.data(), b.data(), n);  // in place
    BOOST_TEST(std::memcmp(a.data(), expected.data(), n * sizeof(float)) == 0,
               "length " << n << ", in place");
  }
}

BOOST_AUTO_TEST_CASE(sum_into_adds_like_the_scalar_loop_also_in_place) {
  check_reduce_function(troupe::collectives::sum_into<float>,
                        [](float x, float y) { return x + y; }, 5);
}

// A world of two averages in the reduction itself: the bits of the sum
// divided by two afterwards (inf / 2 = inf either way).
BOOST_AUTO_TEST_CASE(mean_of_two_into_gives_the_bits_of_sum_then_divide) {
  check_reduce_function(troupe::collectives::mean_of_two_into<float>,
                        [](float x, float y) {
                          float sum = x + y;
                          troupe::collectives::divide_in_place(&sum, 1, 2.0f);
                          return sum;
                        },
                        7);
}

BOOST_AUTO_TEST_CASE(two_ranks_pass_the_gloo_conformance_sequence) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_troupe("train --nproc 2 --backend gloo -- " + worker());
  BOOST_TEST_MESSAGE("2 ranks took " << seconds_since(start) << " s");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count_of(r.output, "collectives ok") == 2u, r.output);
  BOOST_TEST(!contains(r.output, "FAILED"), r.output);
}

BOOST_AUTO_TEST_CASE(three_ranks_pass_the_gloo_conformance_sequence) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_troupe("train --nproc 3 --backend gloo -- " + worker());
  BOOST_TEST_MESSAGE("3 ranks took " << seconds_since(start) << " s");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count_of(r.output, "collectives ok") == 3u, r.output);
  BOOST_TEST(contains(r.output, "rank 2: broadcast of 4099 bytes from rank 2 ok"), r.output);
}

BOOST_AUTO_TEST_CASE(when_a_rank_dies_the_others_fail_with_an_error_and_the_launcher_exits_1) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_troupe("train --nproc 3 --timeout-ms 5000 --grace-ms 15000 -- " + worker()
                      + " --die-after-barrier 1");
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

BOOST_AUTO_TEST_CASE(when_a_rank_stalls_the_others_time_out_and_the_stalled_rank_is_killed) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_troupe("train --nproc 2 --timeout-ms 2000 --grace-ms 2000 -- " + worker()
                      + " --stall-after-barrier 1");
  auto took = seconds_since(start);
  BOOST_TEST_MESSAGE("launch to exit with a stalled rank: " << took << " s");
  BOOST_TEST(r.status == 1, r.output);
  BOOST_TEST(took < 20.0, r.output);
  BOOST_TEST(contains(r.output, "rank 0: allreduce failed after"), r.output);
  BOOST_TEST(contains(r.output, "timeout: allreduce of 4194304 float32 failed: Timed out"),
             r.output);
  BOOST_TEST(contains(r.output, "troupe train: rank 0 exited with status 4"), r.output);
  BOOST_TEST(contains(r.output, "troupe train: killing rank 1"), r.output);
}

BOOST_AUTO_TEST_CASE(a_rank_that_never_joins_fails_the_others_rendezvous_within_the_timeout) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_troupe("train --nproc 2 --timeout-ms 1500 -- /bin/sh -c "
                      "'if [ \"$TROUPE_RANK\" = 1 ]; then exit 5; fi; exec " + worker() + "'");
  auto took = seconds_since(start);
  BOOST_TEST(r.status == 1, r.output);
  BOOST_TEST(took < 15.0, r.output);
  BOOST_TEST(contains(r.output, "rank 1 exited with status 5"), r.output);
  BOOST_TEST(contains(r.output, "rank 0: FAILED joining the group: timeout: rank 0 of 2"),
             r.output);
  BOOST_TEST(contains(r.output, "/group-0/1' after 1500 ms (did every rank start?)"), r.output);
}

BOOST_AUTO_TEST_CASE(a_rank_that_outlives_the_grace_period_is_killed) {
  // exec: SIGKILL must reach the sleeping process itself, not a shell above it.
  auto start = std::chrono::steady_clock::now();
  auto r = run_troupe("train --nproc 2 --grace-ms 300 -- /bin/sh -c "
                      "'if [ \"$TROUPE_RANK\" = 1 ]; then exit 7; fi; exec sleep 60'");
  auto took = seconds_since(start);
  BOOST_TEST(r.status == 1, r.output);
  BOOST_TEST(contains(r.output, "rank 1 exited with status 7"), r.output);
  BOOST_TEST(contains(r.output, "killing rank 0"), r.output);
  BOOST_TEST(took < 15.0);
}

BOOST_AUTO_TEST_CASE(the_program_gets_its_own_arguments_and_the_rendezvous_environment) {
  auto r = run_troupe("train --nproc 2 --run-id my-run -- /bin/sh -c "
                      "'echo \"rank $TROUPE_RANK of $TROUPE_WORLD_SIZE run $TROUPE_RUN_ID "
                      "backend $TROUPE_BACKEND arg $0\"' --nproc");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(contains(r.output, "rank 0 of 2 run my-run backend gloo arg --nproc"), r.output);
  BOOST_TEST(contains(r.output, "rank 1 of 2 run my-run backend gloo arg --nproc"), r.output);
  // The launcher's variables win over inherited ones of the same name.
  auto nested = test::run_command("TROUPE_RANK=9 timeout 120 " + test::troupe_binary()
                                  + " train --nproc 1 -- /bin/sh -c 'echo \"rank=$TROUPE_RANK\"'");
  BOOST_TEST(nested.status == 0, nested.output);
  BOOST_TEST(contains(nested.output, "rank=0"), nested.output);
}

BOOST_AUTO_TEST_CASE(bad_usage_of_troupe_train_exits_2_naming_the_fault) {
  auto help = run_troupe("train --help");
  BOOST_TEST(help.status == 0, help.output);
  BOOST_TEST(contains(help.output, "TROUPE_RANK"), help.output);
  auto unknown = run_troupe("train --nproc 2 --backend mpi -- " + worker());
  BOOST_TEST(unknown.status == 2, unknown.output);
  BOOST_TEST(contains(unknown.output, "unknown backend 'mpi' (known: gloo, ucx, nccl)"),
             unknown.output);
  // nccl is known but needs the CUDA toolkit with NCCL at configure time;
  // where it is built, nccl_collectives_test covers it.
  if (collectives::check_backend("nccl")) {
    auto unbuilt = run_troupe("train --nproc 2 --backend nccl -- " + worker());
    BOOST_TEST(unbuilt.status == 2, unbuilt.output);
    BOOST_TEST(contains(unbuilt.output, "backend 'nccl' is not built: configure on a host with "
                                        "the CUDA toolkit and NCCL (see README)"),
               unbuilt.output);
  }
  auto zero = run_troupe("train --nproc 0 -- " + worker());
  BOOST_TEST(zero.status == 2, zero.output);
  BOOST_TEST(contains(zero.output, "--nproc"), zero.output);
  auto no_program = run_troupe("train --nproc 2");
  BOOST_TEST(no_program.status == 2, no_program.output);
  auto missing = run_troupe("train --nproc 2 -- no-such-program-here");
  BOOST_TEST(missing.status == 2, missing.output);
  BOOST_TEST(contains(missing.output, "'no-such-program-here' not found in PATH"),
             missing.output);
}

BOOST_AUTO_TEST_CASE(a_worker_without_the_troupe_environment_names_TROUPE_RANK) {
  auto r = test::run_command("env -u TROUPE_RANK timeout 30 " + worker());
  BOOST_TEST(r.status != 0, r.output);
  BOOST_TEST(contains(r.output, "TROUPE_RANK is not set"), r.output);
}

BOOST_AUTO_TEST_CASE(rendezvous_from_env_names_the_variable_at_fault) {
  {
    rank_environment env;
    auto info = collectives::rendezvous_from_env();
    BOOST_REQUIRE_MESSAGE(info, error_of(info));
    BOOST_TEST(info->rank == 1);
    BOOST_TEST(info->world_size == 3);
    BOOST_TEST(info->address == "127.0.0.1:4242");
    BOOST_TEST(info->store_name == "store@train-1");
    BOOST_TEST(info->run_id == "run-1");
    BOOST_TEST(info->backend == "gloo");
    BOOST_TEST(info->timeout.count() == 30000);
    ::setenv("TROUPE_COLLECTIVE_TIMEOUT_MS", "2500", 1);
    BOOST_TEST(collectives::rendezvous_from_env()->timeout.count() == 2500);
  }
  struct bad_case {
    const char* name;
    const char* value;
    const char* expected;
  };
  for (auto c : {bad_case{"TROUPE_RANK", "3", "TROUPE_RANK=3 is out of range for "
                                                "TROUPE_WORLD_SIZE=3 (0..2)"},
                 bad_case{"TROUPE_RANK", "one", "TROUPE_RANK='one' is not an integer"},
                 bad_case{"TROUPE_WORLD_SIZE", "0", "TROUPE_WORLD_SIZE=0 is out of range"},
                 bad_case{"TROUPE_RENDEZVOUS", "nowhere", "TROUPE_RENDEZVOUS"},
                 bad_case{"TROUPE_COLLECTIVE_TIMEOUT_MS", "0",
                          "TROUPE_COLLECTIVE_TIMEOUT_MS=0 is out of range"}}) {
    rank_environment env;
    ::setenv(c.name, c.value, 1);
    auto info = collectives::rendezvous_from_env();
    BOOST_TEST(!info, c.name);
    BOOST_TEST(contains(error_of(info), c.expected), error_of(info));
    BOOST_TEST(contains(error_of(info), "invalid_config"), error_of(info));
  }
  for (auto name : {"TROUPE_RENDEZVOUS_STORE", "TROUPE_RUN_ID"}) {
    rank_environment env;
    ::unsetenv(name);
    auto info = collectives::rendezvous_from_env();
    BOOST_TEST(contains(error_of(info), std::string{name} + " is not set"), error_of(info));
  }
}

BOOST_AUTO_TEST_CASE(make_process_group_refuses_unknown_and_unbuilt_backends) {
  test::client_system client;
  collectives::rendezvous_info info;
  info.backend = "mpi";
  auto unknown = collectives::make_process_group(client.sys(), info);
  BOOST_REQUIRE(!unknown);
  BOOST_TEST(is(unknown.error(), errc::invalid_argument));
  BOOST_TEST(contains(describe(unknown.error()), "unknown backend 'mpi' (known: gloo, ucx, nccl)"));
  if (!collectives::check_backend("nccl")) {
    BOOST_TEST_MESSAGE("nccl is built here: nccl_collectives_test covers it");
    return;
  }
  info.backend = "nccl";
  auto unbuilt = collectives::make_process_group(client.sys(), info);
  BOOST_REQUIRE(!unbuilt);
  BOOST_TEST(is(unbuilt.error(), errc::invalid_argument));
  BOOST_TEST(contains(describe(unbuilt.error()), "backend 'nccl' is not built: configure on a "
                                                 "host with the CUDA toolkit and NCCL"));
}
