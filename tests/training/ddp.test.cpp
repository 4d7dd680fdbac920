#define BOOST_TEST_MODULE ddp
#include <boost/test/unit_test.hpp>

#include <fstream>

#include "tests/support/test_support.hpp"

using namespace troupe;

namespace {

test::command_result train(int nproc, const std::string& mode,
                           const std::string& launcher_flags = "--backend gloo") {
  return test::run_command("timeout 120 " + test::troupe_binary() + " train --nproc "
                           + std::to_string(nproc) + " " + launcher_flags + " -- " + DDP_WORKER
                           + " " + mode);
}

size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1))
    ++n;
  return n;
}

} // namespace

BOOST_AUTO_TEST_CASE(two_ranks_get_the_gradients_of_local_training_on_the_double_batch) {
  auto r = train(2, "equivalence");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count(r.output, "ddp ok: equivalence") == 2u, r.output);
}

BOOST_AUTO_TEST_CASE(gradients_as_bucket_views_give_the_same_gradients_and_stay_views) {
  // The worker also fails unless every gradient aliases its bucket.
  for (auto mode : {"equivalence", "no_sync", "unused", "fp16", "tied"}) {
    auto r = train(2, std::string{mode} + "+views");
    BOOST_TEST(r.status == 0, mode << ": " << r.output);
    BOOST_TEST(count(r.output, std::string{"ddp ok: "} + mode + " (bucket views)") == 2u,
               r.output);
  }
}

BOOST_AUTO_TEST_CASE(a_parameter_used_only_under_no_sync_keeps_its_accumulated_gradient) {
  for (auto mode : {"unused_after_no_sync", "unused_after_no_sync+views"}) {
    auto r = train(2, mode);
    BOOST_TEST(r.status == 0, mode << ": " << r.output);
    BOOST_TEST(count(r.output, "ddp ok: unused_after_no_sync") == 2u, r.output);
  }
}

BOOST_AUTO_TEST_CASE(uneven_inputs_join_with_bucket_views_too) {
  auto r = train(2, "join+views");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count(r.output, "ddp ok: join") == 2u, r.output);
}

BOOST_AUTO_TEST_CASE(tied_weights_listed_twice_are_reduced_once_and_match_local_training) {
  auto r = train(2, "tied");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count(r.output, "ddp ok: tied") == 2u, r.output);
}

BOOST_AUTO_TEST_CASE(three_ranks_agree_too) {
  auto r = train(3, "equivalence");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count(r.output, "ddp ok: equivalence") == 3u, r.output);
}

BOOST_AUTO_TEST_CASE(no_sync_accumulation_equals_one_step_on_the_larger_batch) {
  auto r = train(2, "no_sync");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count(r.output, "ddp ok: no_sync") == 2u, r.output);
}

BOOST_AUTO_TEST_CASE(unused_parameters_are_marked_ready_and_keep_no_gradient) {
  auto r = train(2, "unused");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count(r.output, "ddp ok: unused") == 2u, r.output);
}

BOOST_AUTO_TEST_CASE(a_missing_gradient_without_find_unused_names_the_parameter) {
  auto r = train(2, "unused_error");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count(r.output, "ddp ok: unused_error") == 2u, r.output);
}

BOOST_AUTO_TEST_CASE(replicas_of_different_shapes_are_refused_naming_the_parameter) {
  auto r = train(2, "mismatch");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count(r.output, "ddp ok: mismatch") == 2u, r.output);
}

BOOST_AUTO_TEST_CASE(fp16_compression_stays_close_to_full_precision) {
  auto r = train(2, "fp16");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count(r.output, "ddp ok: fp16") == 2u, r.output);
}

BOOST_AUTO_TEST_CASE(uneven_inputs_join_without_hanging_and_end_with_one_model) {
  auto r = train(3, "join");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count(r.output, "ddp ok: join") == 3u, r.output);
}

BOOST_AUTO_TEST_CASE(debug_mode_reports_a_collective_desync_naming_both_calls) {
  auto r = train(2, "desync");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count(r.output, "ddp ok: desync") == 2u, r.output);
}

BOOST_AUTO_TEST_CASE(ddp_runs_over_ucx_too) {
  auto r = train(2, "equivalence", "--backend ucx");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count(r.output, "ddp ok: equivalence") == 2u, r.output);
}

BOOST_AUTO_TEST_CASE(debug_mode_finds_no_desync_in_correct_training) {
  auto r = train(2, "equivalence", "--backend gloo --debug-collectives");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(count(r.output, "ddp ok: equivalence") == 2u, r.output);
}

BOOST_AUTO_TEST_CASE(a_chrome_trace_shows_each_bucket_and_backward_pass) {
  test::temp_dir dir;
  auto prefix = dir.file("trace");
  auto r = test::run_command("DDP_TRACE=" + prefix + " timeout 120 " + test::troupe_binary()
                             + " train --nproc 2 -- " + DDP_WORKER + " equivalence");
  BOOST_REQUIRE_MESSAGE(r.status == 0, r.output);
  for (auto rank : {"0", "1"}) {
    std::ifstream in{prefix + "." + rank + ".json"};
    BOOST_REQUIRE_MESSAGE(in, "no trace for rank " << rank);
    std::string text{std::istreambuf_iterator<char>{in}, {}};
    BOOST_TEST(text.find("\"traceEvents\"") != std::string::npos);
    // 5 steps: 5 backward spans, and every step reduces every bucket.
    BOOST_TEST(count(text, "\"backward + reduction\"") == 5u);
    BOOST_TEST(count(text, "\"name\":\"bucket 0 (") >= 5u);
    BOOST_TEST(count(text, "\"ph\":\"X\"") >= 15u);
  }
}
