#define BOOST_TEST_MODULE rank_threads
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "runtime/rank_threads.hpp"
#include "tests/support/test_support.hpp"

using namespace troupe;
using test::count_of;

namespace {

/// Clears the variables the launcher reads, restoring them on scope exit.
struct clean_thread_environment {
  std::string omp, openblas;
  bool had_omp, had_openblas;
  clean_thread_environment()
    : had_omp(std::getenv("OMP_NUM_THREADS") != nullptr),
      had_openblas(std::getenv("OPENBLAS_NUM_THREADS") != nullptr) {
    if (had_omp)
      omp = std::getenv("OMP_NUM_THREADS");
    if (had_openblas)
      openblas = std::getenv("OPENBLAS_NUM_THREADS");
    unsetenv("OMP_NUM_THREADS");
    unsetenv("OPENBLAS_NUM_THREADS");
  }
  ~clean_thread_environment() {
    if (had_omp)
      setenv("OMP_NUM_THREADS", omp.c_str(), 1);
    else
      unsetenv("OMP_NUM_THREADS");
    if (had_openblas)
      setenv("OPENBLAS_NUM_THREADS", openblas.c_str(), 1);
    else
      unsetenv("OPENBLAS_NUM_THREADS");
  }
};

/// What `troupe train` prints and its ranks report; `environment` prefixes
/// the command line, `options` goes to troupe train, `rank_command` is run
/// by each rank through sh -c.
test::command_result train(const std::string& environment, const std::string& options,
                           int ranks, const std::string& rank_command) {
  return test::run_command(environment + " timeout 60 " + test::troupe_binary() + " train --nproc "
                           + std::to_string(ranks) + " " + options + " -- sh -c '"
                           + rank_command + "' 2>&1");
}

} // namespace

BOOST_AUTO_TEST_CASE(the_cores_are_shared_evenly_among_the_ranks_at_least_one_each) {
  BOOST_TEST(threads_per_rank(2, 2) == 1);
  BOOST_TEST(threads_per_rank(1, 2) == 2);
  BOOST_TEST(threads_per_rank(3, 2) == 1);
  BOOST_TEST(threads_per_rank(2, 16) == 8);
  BOOST_TEST(threads_per_rank(3, 16) == 5);
  BOOST_TEST(threads_per_rank(0, 4) == 4);
  BOOST_TEST(usable_cores() >= 1);
}

BOOST_AUTO_TEST_CASE(the_users_setting_wins_over_the_share) {
  clean_thread_environment clean;
  auto chosen = choose_rank_threads(0, 2, 8);
  BOOST_TEST(chosen.threads == 4);
  BOOST_TEST(chosen.env == std::vector<std::string>{"OMP_NUM_THREADS=4"});
  setenv("OMP_NUM_THREADS", "3", 1);
  BOOST_TEST(choose_rank_threads(0, 2, 8).env.empty());
  unsetenv("OMP_NUM_THREADS");
  // The user's OpenBLAS setting decides OpenBLAS (it reads its own variable
  // first); libtorch's pool still gets the share.
  setenv("OPENBLAS_NUM_THREADS", "3", 1);
  BOOST_TEST(choose_rank_threads(0, 2, 8).env == std::vector<std::string>{"OMP_NUM_THREADS=4"});
  // --threads-per-rank is the user's too, and names both libraries' variables.
  auto explicit_choice = choose_rank_threads(6, 2, 8);
  BOOST_TEST(explicit_choice.threads == 6);
  BOOST_TEST(explicit_choice.env
             == (std::vector<std::string>{"OMP_NUM_THREADS=6", "OPENBLAS_NUM_THREADS=6"}));
}

BOOST_AUTO_TEST_CASE(each_rank_gets_its_share_unless_the_user_chose) {
  auto cores = usable_cores();
  auto share = std::max(1, cores / 2);
  auto r = train("env -u OMP_NUM_THREADS -u OPENBLAS_NUM_THREADS", "", 2,
                 "echo \"rank $TROUPE_RANK omp=[$OMP_NUM_THREADS]\"");
  BOOST_TEST_REQUIRE(r.status == 0, r.output);
  BOOST_TEST(count_of(r.output, "omp=[" + std::to_string(share) + "]") == 2u, r.output);
  if (share < cores)
    BOOST_TEST(r.output.find("each runs with OMP_NUM_THREADS=" + std::to_string(share))
                 != std::string::npos,
               r.output);
  r = train("env -u OPENBLAS_NUM_THREADS OMP_NUM_THREADS=7", "", 2,
            "echo \"omp=[$OMP_NUM_THREADS] openblas=[$OPENBLAS_NUM_THREADS]\"");
  BOOST_TEST_REQUIRE(r.status == 0, r.output);
  BOOST_TEST(count_of(r.output, "omp=[7] openblas=[]") == 2u, r.output);
  r = train("env OMP_NUM_THREADS=7", "--threads-per-rank 3", 1,
            "echo \"omp=[$OMP_NUM_THREADS] openblas=[$OPENBLAS_NUM_THREADS]\"");
  BOOST_TEST_REQUIRE(r.status == 0, r.output);
  BOOST_TEST(count_of(r.output, "omp=[3] openblas=[3]") == 1u, r.output);
}

// What the share is for: Debian's OpenBLAS reads OMP_NUM_THREADS, so a rank
// that loads it runs that many threads instead of one per core (the
// variable is unset for the launcher, so only its choice can reach them).
// Each rank writes its line in one write(2), so the ranks' lines cannot
// interleave on the shared pipe (print() may flush in pieces).
BOOST_AUTO_TEST_CASE(openblas_in_a_rank_runs_the_rank_share_of_threads) {
  auto cores = usable_cores();
  auto ranks = std::min(cores, 4);
  auto share = std::max(1, cores / ranks);
  auto r = train("env -u OMP_NUM_THREADS -u OPENBLAS_NUM_THREADS", "", ranks,
                 "/usr/bin/python3 -c \"import ctypes, os; n = ctypes.CDLL(\\\"libopenblas.so.0\\\")"
                 ".openblas_get_num_threads(); os.write(1, (\\\"openblas threads %d\\\\n\\\" % n)"
                 ".encode())\"");
  BOOST_TEST_REQUIRE(r.status == 0, r.output);
  BOOST_TEST(count_of(r.output, "openblas threads " + std::to_string(share) + "\n")
               == static_cast<size_t>(ranks),
             r.output);
}

BOOST_AUTO_TEST_CASE(a_negative_thread_count_is_refused_by_name) {
  auto r = train("", "--threads-per-rank -1", 1, "true");
  BOOST_TEST(r.status == 2, r.output);
  BOOST_TEST(r.output.find("--threads-per-rank") != std::string::npos, r.output);
}
