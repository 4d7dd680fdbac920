// Selection policies: Exp3 and Exp4 learn which model to trust from feedback.
#define BOOST_TEST_MODULE selection_policies
#include <boost/test/unit_test.hpp>

#include "actors/serving/exp3_policy.hpp"
#include "actors/serving/exp4_policy.hpp"
#include "actors/serving/selection_policy.hpp"
#include "messages/errors.hpp"

using namespace troupe;
using namespace troupe::serving;

namespace {

// Two simulated models on a stream of labels: model 0 is right 90 % of the
// time, model 1 50 %.
std::vector<model_answer> answers_for(const std::vector<size_t>& models, const std::string& label,
                                      std::mt19937_64& rng) {
  std::bernoulli_distribution good{0.9}, coin{0.5};
  std::vector<model_answer> result;
  for (auto m : models) {
    bool right = m == 0 ? good(rng) : coin(rng);
    result.emplace_back(right ? label : std::string{"wrong"});
  }
  return result;
}

} // namespace

BOOST_AUTO_TEST_CASE(exp3_moves_probability_to_the_better_model) {
  exp3_policy p{2};
  std::mt19937_64 rng{1};
  BOOST_CHECK_CLOSE(p.probabilities()[0], 0.5, 1e-9);
  for (int i = 0; i < 400; ++i) {
    auto models = p.feedback_models(rng);
    BOOST_REQUIRE_EQUAL(models.size(), 1u);
    p.learn(models, answers_for(models, "7", rng), "7");
  }
  auto probs = p.probabilities();
  BOOST_CHECK_GT(probs[0], 0.85);
  BOOST_CHECK_GE(probs[1], 0.05 - 1e-9);  // exploration never stops (gamma / K)
  // And it now chooses the better model most of the time.
  int zero = 0;
  for (int i = 0; i < 1000; ++i)
    zero += p.choose(rng)[0] == 0;
  BOOST_CHECK_GT(zero, 800);
}

BOOST_AUTO_TEST_CASE(exp4_moves_weight_to_the_better_model_and_votes_by_weight) {
  exp4_policy p{3};
  std::mt19937_64 rng{2};
  for (int i = 0; i < 100; ++i) {
    auto models = p.feedback_models(rng);
    BOOST_REQUIRE_EQUAL(models.size(), 3u);
    auto answers = answers_for({0, 1, 1}, "3", rng);
    p.learn(models, answers, "3");
  }
  auto w = p.weights();
  BOOST_CHECK_GT(w[0], 5 * w[1]);
  BOOST_CHECK_GT(w[0], 5 * w[2]);
  // Models 1 and 2 agree, but model 0 outweighs both.
  auto c = p.combine({0, 1, 2}, {std::string{"a"}, std::string{"b"}, std::string{"b"}});
  BOOST_REQUIRE(c);
  BOOST_CHECK_EQUAL(c->output, "a");
  BOOST_CHECK_GT(c->confidence, 0.7);
  BOOST_CHECK_EQUAL(c->used.size(), 1u);
}

BOOST_AUTO_TEST_CASE(exp4_combines_what_arrived_and_reports_confidence) {
  exp4_policy p{3};
  auto c = p.combine({0, 1, 2}, {std::string{"x"}, std::nullopt, std::string{"x"}});
  BOOST_REQUIRE(c);
  BOOST_CHECK_EQUAL(c->output, "x");
  BOOST_CHECK_CLOSE(c->confidence, 1.0, 1e-9);
  BOOST_CHECK(!p.combine({0, 1, 2}, {std::nullopt, std::nullopt, std::nullopt}));
  auto split = p.combine({0, 1}, {std::string{"x"}, std::string{"y"}});
  BOOST_REQUIRE(split);
  BOOST_CHECK_EQUAL(split->output, "x");  // a tie goes to the lower index
  BOOST_CHECK_CLOSE(split->confidence, 0.5, 1e-9);
}

BOOST_AUTO_TEST_CASE(a_missing_answer_counts_as_a_loss) {
  exp4_policy p{2};
  p.learn({0, 1}, {std::string{"1"}, std::nullopt}, "1");
  BOOST_CHECK_LT(p.weights()[1], p.weights()[0]);
}

BOOST_AUTO_TEST_CASE(learned_state_survives_save_and_restore) {
  exp4_policy a{2};
  a.learn({0, 1}, {std::string{"1"}, std::string{"2"}}, "1");
  exp4_policy b{2};
  BOOST_REQUIRE(!b.restore(a.save()));
  BOOST_CHECK_CLOSE(b.weights()[1], a.weights()[1], 1e-9);
  exp3_policy c{2};
  c.learn({1}, {std::string{"2"}}, "1");
  exp3_policy d{2};
  BOOST_REQUIRE(!d.restore(c.save()));
  BOOST_CHECK_CLOSE(d.probabilities()[1], c.probabilities()[1], 1e-9);
}

BOOST_AUTO_TEST_CASE(state_of_another_shape_or_policy_is_refused_with_a_reason) {
  exp4_policy two{2};
  exp4_policy three{3};
  auto err = three.restore(two.save());
  BOOST_REQUIRE(err);
  BOOST_CHECK_NE(describe(err).find("2 weights, the app has 3 models"), std::string::npos);
  exp3_policy e3{2};
  err = e3.restore(two.save());
  BOOST_REQUIRE(err);
  BOOST_CHECK_NE(describe(err).find("policy 'exp4'"), std::string::npos);
  BOOST_CHECK(e3.restore("not json"));
  BOOST_CHECK(e3.restore(R"({"policy":"exp3","weights":[1,-1]})"));
}

BOOST_AUTO_TEST_CASE(make_policy_names_unknown_policies_and_refuses_no_models) {
  auto p = make_policy("exp5", 2);
  BOOST_REQUIRE(!p);
  BOOST_CHECK_NE(describe(p.error()).find("'exp5'"), std::string::npos);
  BOOST_CHECK_NE(describe(p.error()).find("single, exp3, exp4"), std::string::npos);
  auto none = make_policy("exp3", 0);
  BOOST_REQUIRE(!none);
  BOOST_CHECK_NE(describe(none.error()).find("at least one model"), std::string::npos);
  auto single = make_policy("single", 3);
  BOOST_REQUIRE(single);
  std::mt19937_64 rng{3};
  BOOST_CHECK((*single)->choose(rng) == std::vector<size_t>{0});
}
