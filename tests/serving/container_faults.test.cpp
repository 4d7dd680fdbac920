// The faults troupe-container can be told to have (--fault): how their
// words parse, and what each does to a predict function. In process; the
// containers test runs them in real container processes.
#define BOOST_TEST_MODULE container_faults
#include <boost/test/unit_test.hpp>

#include <chrono>

#include "actors/serving/container_faults.hpp"
#include "messages/errors.hpp"

using namespace troupe;
using namespace troupe::serving;

namespace {

caf::expected<model_outputs> one_per_input(const query_inputs& inputs) {
  return model_outputs(inputs.size(), "1");
}

std::string error_of(const std::vector<std::string>& words) {
  auto f = parse_fault(words);
  return f ? std::string{"(parsed)"} : describe(f.error());
}

} // namespace

BOOST_AUTO_TEST_CASE(no_words_is_no_fault_and_leaves_predict_alone) {
  auto f = parse_fault({});
  BOOST_REQUIRE(f);
  BOOST_TEST((f->what == container_fault::kind::none));
  auto out = with_fault(one_per_input, *f)(query_inputs(2));
  BOOST_REQUIRE(out);
  BOOST_TEST(out->size() == 2u);
}

BOOST_AUTO_TEST_CASE(crash_after_hang_and_garbage_parse_with_their_counts) {
  auto crash = parse_fault({"crash-after", "3"});
  BOOST_REQUIRE(crash);
  BOOST_TEST((crash->what == container_fault::kind::crash_after));
  BOOST_TEST(crash->after == 3u);
  BOOST_TEST((parse_fault({"hang"})->what == container_fault::kind::hang));
  BOOST_TEST((parse_fault({"garbage"})->what == container_fault::kind::garbage));
}

BOOST_AUTO_TEST_CASE(garbage_answers_one_output_too_many) {
  auto out = with_fault(one_per_input, *parse_fault({"garbage"}))(query_inputs(2));
  BOOST_REQUIRE(out);
  BOOST_TEST(out->size() == 3u);
}

BOOST_AUTO_TEST_CASE(slow_parses_its_microseconds) {
  auto f = parse_fault({"slow", "100000"});
  BOOST_REQUIRE(f);
  BOOST_TEST((f->what == container_fault::kind::slow));
  BOOST_TEST(f->micros == 100000u);
}

BOOST_AUTO_TEST_CASE(slow_delays_every_predict_and_keeps_its_answer) {
  auto slow = with_fault(one_per_input, *parse_fault({"slow", "20000"}));
  for (int call = 0; call < 2; ++call) {
    auto t0 = std::chrono::steady_clock::now();
    auto out = slow(query_inputs(3));
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - t0)
                .count();
    BOOST_REQUIRE(out);
    BOOST_TEST(*out == model_outputs(3, "1"));
    BOOST_TEST(us >= 20000);
  }
}

BOOST_AUTO_TEST_CASE(bad_words_are_refused_with_a_sentence) {
  BOOST_TEST(error_of({"slow"}) == "invalid_argument: --fault slow needs microseconds, e.g. 100000");
  BOOST_TEST(error_of({"slow", "x"}) == "invalid_argument: --fault slow: 'x' is not a positive count");
  BOOST_TEST(error_of({"slow", "0"}) == "invalid_argument: --fault slow: '0' is not a positive count");
  BOOST_TEST(error_of({"slow", "-5"})
             == "invalid_argument: --fault slow: '-5' is not a positive count");
  BOOST_TEST(error_of({"crash-after", "2x"})
             == "invalid_argument: --fault crash-after: '2x' is not a positive count");
  BOOST_TEST(error_of({"hang", "1"}) == "invalid_argument: --fault hang takes no count");
  BOOST_TEST(error_of({"melt"})
             == "invalid_argument: unknown fault 'melt' (there are: crash-after N, hang, garbage, "
                "slow MICROS)");
}
