// The tuner's model side: features of lowered candidates, the XGBoost cost
// model that ranks them, and the simulated-annealing explorer that proposes
// what to measure next. The last suite measures real matmul candidates and
// checks that the model ranks held-out ones far better than chance.
#define BOOST_TEST_MODULE tuning_model
#include <boost/test/unit_test.hpp>

#include "compiler/codegen/jit.hpp"
#include "compiler/codegen/thread_pool.hpp"
#include "compiler/ir/compile_error.hpp"
#include "compiler/ir/printer.hpp"
#include "compiler/tuning/quick_measure.hpp"
#include "compiler/tuning/cost_model.hpp"
#include "compiler/tuning/explorer.hpp"
#include "compiler/tuning/features.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <set>

using namespace troupe::compiler;

namespace {

const tuning_task matmul_256{"matmul", {256, 256, 256}};

/// Valid configs of `task`, drawn at random (seeded) without repeats.
std::vector<tuning_config> random_valid(const tuning_task& task, size_t n, uint64_t seed) {
  auto space = space_of(task);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint64_t> pick(0, space.size() - 1);
  std::set<uint64_t> seen;
  std::vector<tuning_config> out;
  while (out.size() < n && seen.size() < space.size()) {
    auto i = pick(rng);
    if (!seen.insert(i).second)
      continue;
    try {
      build_candidate(task, space.at(i));
      out.push_back(space.at(i));
    } catch (const compile_error&) {
    }
  }
  return out;
}

/// A known function of the knobs' positions with one optimum: the negated
/// squared distance from `target`.
config_scorer distance_to(const search_space& space, tuning_config target) {
  return [space, target](const std::vector<tuning_config>& configs) {
    std::vector<double> out;
    for (auto& c : configs) {
      double d = 0;
      for (size_t k = 0; k < c.size(); ++k) {
        auto& v = space.knobs[k].values;
        auto pos = [&](int64_t x) { return std::find(v.begin(), v.end(), x) - v.begin(); };
        double diff = static_cast<double>(pos(c[k]) - pos(target[k]));
        d += diff * diff;
      }
      out.push_back(-d);
    }
    return out;
  };
}

/// Rounds of `batch` proposals until `target` is proposed (or `limit`).
size_t rounds_to_find(sa_explorer& explorer, const config_scorer& score,
                      const tuning_config& target, size_t batch, size_t limit) {
  std::set<uint64_t> measured;
  auto goal = explorer.space().index_of(target);
  for (size_t round = 1; round <= limit; ++round) {
    for (auto& c : explorer.propose(batch, score, measured))
      measured.insert(explorer.space().index_of(c));
    if (measured.count(goal))
      return round;
  }
  return limit + 1;
}


} // namespace

BOOST_AUTO_TEST_SUITE(features)

BOOST_AUTO_TEST_CASE(every_vector_has_the_documented_length_and_every_slot_a_unique_name) {
  BOOST_TEST(feature_names().size() == feature_count());
  std::set<std::string> names(feature_names().begin(), feature_names().end());
  BOOST_TEST(names.size() == feature_count());
  for (auto& c : random_valid(matmul_256, 10, 1))
    BOOST_TEST(extract_features(build_candidate(matmul_256, c)).size() == feature_count());
  tuning_task conv{"conv2d", {32, 14, 14, 64, 3, 1, 1}};
  tuning_config conv_base{7, 2, 1, 0, 0};  // reg_n, oc_tile, reg_h, taps_outer, unroll_taps
  auto base_features = extract_features(build_candidate(conv, conv_base));
  BOOST_TEST(base_features.size() == feature_count());
  // The cost model sees each knob of the convolution template.
  for (tuning_config other : {tuning_config{7, 2, 2, 0, 0}, tuning_config{7, 2, 1, 1, 0},
                              tuning_config{7, 2, 1, 0, 1}})
    BOOST_TEST((extract_features(build_candidate(conv, other)) != base_features),
               space_of(conv).describe(other));
  tuning_task dw{"depthwise_conv2d", {32, 14, 14, 3, 1, 1}};
  BOOST_TEST(extract_features(build_candidate(dw, {7, 2})).size() == feature_count());
}

BOOST_AUTO_TEST_CASE(the_same_program_gives_the_same_features) {
  for (auto& c : random_valid(matmul_256, 10, 2))
    BOOST_TEST(extract_features(build_candidate(matmul_256, c))
               == extract_features(build_candidate(matmul_256, c)));
}

BOOST_AUTO_TEST_CASE(configs_that_differ_in_any_knob_give_different_features) {
  tuning_config base{4, 32, 2, 1, 0, 0};
  auto f = extract_features(build_candidate(matmul_256, base));
  for (tuning_config other : {tuning_config{8, 32, 2, 1, 0, 0}, tuning_config{4, 64, 2, 1, 0, 0},
                              tuning_config{4, 32, 4, 1, 0, 0}, tuning_config{4, 32, 2, 0, 0, 0},
                              tuning_config{4, 32, 2, 1, 1, 0}, tuning_config{4, 32, 2, 1, 1, 64}})
    BOOST_TEST((extract_features(build_candidate(matmul_256, other)) != f));
  // Nearly every program is told apart from every other (configs may give
  // the same program: a tensorized tile ignores unroll_k and the loop
  // order; square tiles of a square matmul are symmetric in the order).
  std::set<std::vector<float>> distinct;
  std::set<std::string> programs;
  for (auto& c : random_valid(matmul_256, 200, 3)) {
    auto func = build_candidate(matmul_256, c);
    distinct.insert(extract_features(func));
    programs.insert(print(func));
  }
  BOOST_TEST_MESSAGE(programs.size() << " programs, " << distinct.size() << " feature vectors");
  BOOST_TEST(distinct.size() * 100 >= programs.size() * 95);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(explorer)

BOOST_AUTO_TEST_CASE(an_explorer_is_deterministic_for_a_seed) {
  auto space = space_of(matmul_256);
  auto score = distance_to(space, {6, 48, 4, 1, 0, 0});
  sa_explorer a(space, 7), b(space, 7);
  std::set<uint64_t> measured;
  for (int round = 0; round < 3; ++round) {
    auto pa = a.propose(16, score, measured);
    BOOST_TEST((pa == b.propose(16, score, measured)));
    for (auto& c : pa)
      measured.insert(space.index_of(c));
  }
  BOOST_TEST((a.propose(8, nullptr, measured) == b.propose(8, nullptr, measured)));
  sa_explorer c(space, 8);
  BOOST_TEST((c.propose(16, score, {}) != sa_explorer(space, 7).propose(16, score, {})));
}

BOOST_AUTO_TEST_CASE(an_explorer_never_proposes_a_measured_config_nor_one_twice) {
  auto space = space_of(tuning_task{"depthwise_conv2d", {32, 14, 14, 3, 1, 1}});  // 24 configs
  auto score = distance_to(space, {7, 2});
  sa_explorer explorer(space, 1, sa_options{8, 20});
  std::set<uint64_t> measured;
  for (int round = 0; round < 4; ++round) {
    auto proposals = explorer.propose(5, round % 2 ? score : config_scorer{}, measured);
    BOOST_TEST(proposals.size() == 5u);
    for (auto& c : proposals)
      BOOST_TEST(measured.insert(space.index_of(c)).second);
  }
  // 4 left: fewer than the batch, and then none.
  auto last = explorer.propose(5, score, measured);
  BOOST_TEST(last.size() == 4u);
  for (auto& c : last)
    BOOST_TEST(measured.insert(space.index_of(c)).second);
  BOOST_TEST(explorer.propose(5, score, measured).empty());
  BOOST_TEST(explorer.propose(5, nullptr, measured).empty());
}

BOOST_AUTO_TEST_CASE(without_a_model_proposals_are_random_and_spread_over_the_space) {
  auto space = space_of(matmul_256);
  sa_explorer explorer(space, 3);
  auto proposals = explorer.propose(64, nullptr, {});
  BOOST_TEST(proposals.size() == 64u);
  std::set<uint64_t> indices;
  std::set<int64_t> tile_m;
  for (auto& c : proposals) {
    indices.insert(space.index_of(c));
    tile_m.insert(c[0]);
  }
  BOOST_TEST(indices.size() == 64u);
  BOOST_TEST(tile_m.size() == space.knobs[0].values.size());
  BOOST_TEST(explorer.chains().empty());  // no annealing without scores
}

BOOST_AUTO_TEST_CASE(with_a_good_model_an_explorer_finds_the_optimum_far_faster_than_random) {
  auto space = space_of(matmul_256);  // 2240 configs
  tuning_config target{12, 48, 8, 0, 1, 256};
  auto score = distance_to(space, target);
  sa_explorer guided(space, 5), blind(space, 5);
  auto guided_rounds = rounds_to_find(guided, score, target, 16, 100);
  auto blind_rounds = rounds_to_find(blind, nullptr, target, 16, 100);
  BOOST_TEST_MESSAGE("rounds to the optimum: annealing " << guided_rounds << ", random "
                                                         << blind_rounds);
  BOOST_TEST(guided_rounds <= 2u);
  BOOST_TEST(blind_rounds > 10u);
}

BOOST_AUTO_TEST_CASE(the_chains_of_one_round_start_the_next) {
  auto space = space_of(matmul_256);
  auto score = distance_to(space, {6, 48, 4, 1, 0, 0});
  sa_explorer explorer(space, 9, sa_options{16, 30});
  explorer.propose(8, score, {});
  auto after_first = explorer.chains();
  BOOST_TEST(after_first.size() == 16u);
  // A round first scores the chains' current points.
  std::vector<tuning_config> first_call;
  config_scorer spy = [&](const std::vector<tuning_config>& configs) {
    if (first_call.empty())
      first_call = configs;
    return score(configs);
  };
  explorer.propose(8, spy, {});
  std::set<tuning_config> expected;
  for (auto i : after_first)
    expected.insert(space.at(i));
  BOOST_TEST((std::set<tuning_config>(first_call.begin(), first_call.end()) == expected));
}

BOOST_AUTO_TEST_CASE(diversity_spreads_a_batch_over_the_knobs_values) {
  auto space = space_of(matmul_256);
  auto score = distance_to(space, {6, 48, 4, 1, 0, 0});
  // Distinct values per knob summed over knobs: how spread a batch is.
  auto spread = [](const std::vector<tuning_config>& batch) {
    std::map<size_t, std::set<int64_t>> values;
    for (auto& c : batch)
      for (size_t k = 0; k < c.size(); ++k)
        values[k].insert(c[k]);
    size_t total = 0;
    for (auto& [k, v] : values)
      total += v.size();
    return total;
  };
  sa_options focused{64, 100, 0.0};
  focused.diversity = 0.0;
  sa_options diverse = focused;
  diverse.diversity = 10.0;  // coverage first (AutoTVM's diversity filter)
  auto near = sa_explorer(space, 4, focused).propose(8, score, {});
  auto spread_out = sa_explorer(space, 4, diverse).propose(8, score, {});
  BOOST_TEST_REQUIRE(near.size() == 8u);
  BOOST_TEST_REQUIRE(spread_out.size() == 8u);
  BOOST_TEST(spread(spread_out) > spread(near));
  // Both still start from the best config the walk found.
  BOOST_TEST((near.front() == tuning_config{6, 48, 4, 1, 0, 0}));
  BOOST_TEST((spread_out.front() == near.front()));
}

BOOST_AUTO_TEST_CASE(configs_scored_as_unusable_are_never_proposed_by_the_model) {
  auto space = space_of(matmul_256);
  auto base = distance_to(space, {4, 32, 2, 1, 0, 0});
  config_scorer score = [&](const std::vector<tuning_config>& configs) {
    auto s = base(configs);
    for (size_t i = 0; i < configs.size(); ++i)
      if (configs[i][1] == 48)
        s[i] = std::nan("");
    return s;
  };
  sa_explorer explorer(space, 2, sa_options{64, 100, 0.0});
  for (auto& c : explorer.propose(32, score, {}))
    BOOST_TEST(c[1] != 48);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cost_model_suite)

BOOST_AUTO_TEST_CASE(a_cost_model_learns_a_ranking_of_synthetic_data) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> u(0, 1);
  auto make = [&](size_t n, std::vector<std::vector<float>>& x, std::vector<double>& y) {
    for (size_t i = 0; i < n; ++i) {
      std::vector<float> row(12);
      for (auto& v : row)
        v = u(rng);
      // Nonlinear in a few features, blind to the rest.
      y.push_back(std::exp(2.0 * row[0]) + (row[1] > 0.5 ? 3.0 : 0.0) + 4.0 * row[2] * row[3]);
      x.push_back(std::move(row));
    }
  };
  std::vector<std::vector<float>> train_x, test_x;
  std::vector<double> train_y, test_y;
  make(400, train_x, train_y);
  make(200, test_x, test_y);
  cost_model model;
  BOOST_TEST(!model.trained());
  model.train(train_x, train_y);
  BOOST_TEST(model.trained());
  BOOST_TEST(model.feature_count() == 12u);
  auto accuracy = pairwise_accuracy(model.predict(test_x), test_y);
  BOOST_TEST_MESSAGE("synthetic pairwise accuracy " << accuracy);
  BOOST_TEST(accuracy > 0.9);

  // Saved bytes load into a model that predicts the same; training is
  // deterministic.
  cost_model copy;
  copy.load(model.save());
  BOOST_TEST(copy.trained());
  BOOST_TEST((copy.predict(test_x) == model.predict(test_x)));
  cost_model again;
  again.train(train_x, train_y);
  BOOST_TEST((again.predict(test_x) == model.predict(test_x)));
}

BOOST_AUTO_TEST_CASE(a_cost_model_refuses_bad_input_with_a_message) {
  cost_model model;
  BOOST_CHECK_THROW(model.predict({{1.0f}}), std::logic_error);
  BOOST_CHECK_THROW(model.train({{1, 2}, {1}}, {1, 2}), std::invalid_argument);
  BOOST_CHECK_THROW(model.train({{1, 2}}, {1, 2}), std::invalid_argument);
  BOOST_CHECK_THROW(model.train({{1, 2}, {3, 4}}, {1, 2}, {3}), std::invalid_argument);
  BOOST_CHECK_THROW(model.load("not a model"), std::runtime_error);
  BOOST_TEST(!model.trained());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(real_candidates)

BOOST_AUTO_TEST_CASE(a_model_trained_on_measured_matmuls_ranks_held_out_ones_better_than_chance) {
  set_compiler_threads(1);
  auto configs = random_valid(matmul_256, 250, 42);
  BOOST_REQUIRE(configs.size() == 250u);
  jit_module jit;
  std::vector<std::vector<float>> x;
  std::vector<lowered_func> funcs;
  auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < configs.size(); ++i) {
    funcs.push_back(build_candidate(matmul_256, configs[i], "candidate" + std::to_string(i)));
    x.push_back(extract_features(funcs.back()));
  }
  // The best of three sweeps: ctest runs another suite beside this one, and
  // its bursts would otherwise rank whole runs of candidates too low.
  auto y = quick_gflops(jit, matmul_256, funcs, 3);
  BOOST_TEST_MESSAGE("measured " << configs.size() << " candidates in "
                                 << std::chrono::duration<double>(
                                      std::chrono::steady_clock::now() - start).count()
                                 << " s; best " << *std::max_element(y.begin(), y.end())
                                 << " GFLOP/s, worst " << *std::min_element(y.begin(), y.end()));
  std::vector<std::vector<float>> train_x(x.begin(), x.begin() + 150);
  std::vector<std::vector<float>> test_x(x.begin() + 150, x.end());
  std::vector<double> train_y(y.begin(), y.begin() + 150), test_y(y.begin() + 150, y.end());
  cost_model model;
  model.train(train_x, train_y);
  auto accuracy = pairwise_accuracy(model.predict(test_x), test_y);
  BOOST_TEST_MESSAGE("matmul 256: pairwise accuracy on 100 held-out candidates " << accuracy);
  BOOST_TEST(accuracy >= 0.75);

  // Transfer: the model ranks another matmul's candidates (same features)
  // better than chance before any of them is measured.
  tuning_task other{"matmul", {192, 192, 192}};
  auto other_configs = random_valid(other, 30, 43);
  std::vector<std::vector<float>> ox;
  std::vector<lowered_func> other_funcs;
  for (size_t i = 0; i < other_configs.size(); ++i) {
    other_funcs.push_back(build_candidate(other, other_configs[i], "other" + std::to_string(i)));
    ox.push_back(extract_features(other_funcs.back()));
  }
  auto oy = quick_gflops(jit, other, other_funcs, 3);
  cost_model transferred;
  transferred.load(model.save());
  auto transfer_accuracy = pairwise_accuracy(transferred.predict(ox), oy);
  BOOST_TEST_MESSAGE("transfer 256 -> 192: pairwise accuracy " << transfer_accuracy);
  BOOST_TEST(transfer_accuracy > 0.6);
}

BOOST_AUTO_TEST_SUITE_END()
