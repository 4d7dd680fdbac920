// The autotuner's loop with real measurer actors and worker processes:
// planted crashing and hanging candidates become error records and tuning
// finishes; a run resumes from its records, also after kill -9 of the
// tuner; measurers on other nodes measure for `troupe tune --cluster`.
#define BOOST_TEST_MODULE tuner
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <fstream>
#include <set>
#include <thread>

#include "actors/tuning/confirm_finalists.hpp"
#include "actors/tuning/measure_queue.hpp"
#include "actors/tuning/measurer_actor.hpp"
#include "actors/tuning/model_actors.hpp"
#include "actors/tuning/task_scheduler.hpp"
#include "actors/tuning/tuner.hpp"
#include "compiler/executor/graph_executor.hpp"
#include "compiler/tuning/tuning_records.hpp"
#include "runtime/child_process.hpp"
#include "tests/support/cluster_fixture.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct fixture : test::cluster_fixture {
  std::vector<tuning_measurer_actor> local_measurers(int n) {
    std::vector<tuning_measurer_actor> result;
    for (int i = 0; i < n; ++i)
      result.push_back(tuning::spawn_measurer(client.sys(), TROUPE_MEASURE, 2s));
    return result;
  }

  tuning::tune_options options(uint64_t trials) {
    tuning::tune_options o;
    o.task = {"matmul", {64, 64, 64}};
    o.trials = trials;
    o.batch = 8;
    o.seed = 3;
    o.store_dir = dir.file("records");
    o.repeats = 3;
    o.measure_timeout = 30s;
    return o;
  }

  ~fixture() {
    for (auto& m : measurers)
      caf::anon_send_exit(m, caf::exit_reason::user_shutdown);
  }

  std::vector<tuning_measurer_actor> measurers;
};

std::set<std::vector<int64_t>> distinct_configs(const std::vector<compiler::measure_result>& rs) {
  std::set<std::vector<int64_t>> configs;
  for (auto& r : rs)
    configs.insert(r.config);
  return configs;
}

/// Two convolutions, two tasks: 1x1 16 -> 64 channels, then 3x3 64 -> 32,
/// on a 4 x `width` image (most configs fit a width of 56).
compiler::graph two_conv_model(int64_t width = 56) {
  compiler::graph g;
  int x = g.add_input("x", {1, 16, 4, width});
  int w1 = g.add_constant("w1", {64, 16, 1, 1}, std::vector<float>(64 * 16, 0.01f));
  int c1 = g.add_op("conv2d", {x, w1}, {{"strides", {1, 1}}, {"pads", {0, 0}}}, {}, "conv1");
  int r1 = g.add_op("relu", {c1}, {}, {}, "relu1");
  int w2 = g.add_constant("w2", {32, 64, 3, 3}, std::vector<float>(32 * 64 * 9, 0.01f));
  int c2 = g.add_op("conv2d", {r1, w2}, {{"strides", {1, 1}}, {"pads", {1, 1}}}, {}, "conv2");
  g.mark_output(g.add_op("relu", {c2}, {}, {}, "relu2"));
  return compiler::optimize_graph(g);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(tuner, fixture)

BOOST_AUTO_TEST_CASE(crashing_and_hanging_candidates_are_errors_and_tuning_finishes) {
  measurers = local_measurers(2);
  auto o = options(24);
  o.crash_trial = 3;
  o.hang_trial = 6;
  auto summary = tuning::run_tuning(client.sys(), o, measurers);
  BOOST_REQUIRE_EQUAL(summary.records.size(), 24u);
  size_t crashed = 0, hung = 0, last_fault = 0;
  for (size_t i = 0; i < summary.records.size(); ++i) {
    auto& error = summary.records[i].error;
    if (error.find("crashed") != std::string::npos) {
      ++crashed;
      last_fault = std::max(last_fault, i);
    }
    if (error.find("timeout") != std::string::npos) {
      ++hung;
      last_fault = std::max(last_fault, i);
    }
  }
  BOOST_TEST(crashed == 1u);
  BOOST_TEST(hung == 1u);
  BOOST_TEST(summary.best.ok());
  BOOST_TEST(summary.best.gflops > 1.0);
  // Later candidates were measured by restarted workers.
  size_t valid_after_faults = 0;
  for (size_t i = last_fault + 1; i < summary.records.size(); ++i)
    valid_after_faults += summary.records[i].ok();
  BOOST_TEST(valid_after_faults > 0u);
  BOOST_TEST(distinct_configs(summary.records).size() == 24u);  // nothing measured twice
  BOOST_TEST(!summary.records[0].device.empty());
  // Every record is in the store, in order.
  compiler::tuning_records store(o.store_dir);
  BOOST_TEST(store.load(o.task).size() == 24u);
}

// A round's measurements: the requests of a small matmul, one per config.
std::vector<std::string> round_requests(size_t n) {
  compiler::tuning_task task{"matmul", {64, 64, 64}};
  auto space = compiler::space_of(task);
  std::vector<std::string> requests;
  for (uint64_t i = 0; i < space.size() && requests.size() < n; ++i) {
    compiler::measure_request r;
    r.task = task;
    r.config = space.at(i);
    r.repeats = 3;
    if (compiler::config_refusal(task, r.config).empty())
      requests.push_back(compiler::request_to_json(r));
  }
  return requests;
}

BOOST_AUTO_TEST_CASE(a_dead_measurer_loses_one_request_and_the_live_one_takes_the_rest) {
  measurers = local_measurers(2);
  auto dead = measurers[0];
  caf::scoped_actor self{client.sys()};
  self->monitor(dead);
  self->send_exit(dead, caf::exit_reason::kill);
  self->receive([](const caf::down_msg&) {});
  auto requests = round_requests(6);
  std::vector<std::string> records(requests.size()), errors(requests.size());
  size_t calls = 0;
  tuning::measure_round(client.sys(), self, measurers, requests, 20s,
                        [&](size_t i, const std::string& record, const std::string& error) {
                          ++calls;
                          records.at(i) = record;
                          errors.at(i) = error;
                        });
  BOOST_TEST(calls == requests.size());
  size_t failed = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (!errors[i].empty()) {
      ++failed;
      BOOST_TEST(errors[i].find("measurer did not answer") != std::string::npos);
      continue;
    }
    auto result = compiler::record_from_json(records[i]).second;
    BOOST_TEST(result.ok());
    BOOST_TEST(result.gflops > 0.0);
  }
  BOOST_TEST(failed == 1u);  // only the request handed to the dead measurer
}

BOOST_AUTO_TEST_CASE(a_round_without_a_live_measurer_fails_every_request_with_a_reason) {
  measurers = local_measurers(1);
  caf::scoped_actor self{client.sys()};
  self->monitor(measurers[0]);
  self->send_exit(measurers[0], caf::exit_reason::kill);
  self->receive([](const caf::down_msg&) {});
  auto requests = round_requests(4);
  std::vector<std::string> errors(requests.size());
  auto start = std::chrono::steady_clock::now();
  tuning::measure_round(client.sys(), self, measurers, requests, 20s,
                        [&](size_t i, const std::string&, const std::string& error) {
                          errors.at(i) = error;
                        });
  bool prompt = std::chrono::steady_clock::now() - start < 10s;  // no waiting out timeouts
  BOOST_TEST(prompt);
  BOOST_TEST(errors[0].find("measurer did not answer") != std::string::npos);
  for (size_t i = 1; i < errors.size(); ++i)
    BOOST_TEST(errors[i].find("no measurer left") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(finalists_are_re_measured_together_and_the_fastest_becomes_the_best) {
  measurers = local_measurers(1);
  auto o = options(16);
  auto summary = tuning::run_tuning(client.sys(), o, measurers);
  BOOST_REQUIRE_EQUAL(summary.records.size(), 16u);
  auto finalists = tuning::confirm_finalists(client.sys(), o, measurers, 3, 2);
  BOOST_REQUIRE_EQUAL(finalists.size(), 3u);  // matmul: no template default to add
  std::set<std::vector<int64_t>> distinct;
  for (size_t i = 0; i < finalists.size(); ++i) {
    BOOST_TEST(finalists[i].confirmed.ok());
    BOOST_TEST(finalists[i].confirmed.confirmed);
    BOOST_TEST(finalists[i].trial_gflops > 0.0);
    distinct.insert(finalists[i].config);
    if (i > 0)
      BOOST_TEST(finalists[i - 1].confirmed.gflops >= finalists[i].confirmed.gflops);
  }
  BOOST_TEST(distinct.size() == 3u);
  // They are the 3 fastest trials.
  auto trials = summary.records;
  std::sort(trials.begin(), trials.end(), [](auto& a, auto& b) { return a.gflops > b.gflops; });
  for (size_t i = 0; i < 3; ++i)
    BOOST_TEST(distinct.count(trials[i].config) == 1u);
  compiler::tuning_records store(o.store_dir);
  BOOST_TEST(store.load(o.task).size() == 19u);
  BOOST_TEST(store.trials(o.task) == 16u);
  auto best = store.best(o.task);
  BOOST_REQUIRE(best.has_value());
  BOOST_TEST(best->confirmed);
  BOOST_TEST((best->config == finalists.front().config));
}

BOOST_AUTO_TEST_CASE(confirmed_records_are_no_trials_when_a_run_resumes) {
  measurers = local_measurers(1);
  auto o = options(8);
  tuning::run_tuning(client.sys(), o, measurers);
  tuning::confirm_finalists(client.sys(), o, measurers, 2, 1);
  o.trials = 12;
  auto resumed = tuning::run_tuning(client.sys(), o, measurers);
  BOOST_TEST(resumed.resumed == 8u);
  BOOST_TEST(resumed.measured == 4u);
  BOOST_TEST(distinct_configs(resumed.records).size() == 12u);
}

BOOST_AUTO_TEST_CASE(random_search_with_a_seed_proposes_the_same_configs) {
  measurers = local_measurers(1);
  auto o = options(12);
  o.random = true;
  auto first = tuning::run_tuning(client.sys(), o, measurers);
  o.store_dir = dir.file("records-again");
  auto second = tuning::run_tuning(client.sys(), o, measurers);
  BOOST_REQUIRE_EQUAL(first.records.size(), second.records.size());
  for (size_t i = 0; i < first.records.size(); ++i)
    BOOST_TEST(first.records[i].config == second.records[i].config);
}

BOOST_AUTO_TEST_CASE(refused_configs_cost_no_trials_and_guided_search_measures_the_default_first) {
  measurers = local_measurers(1);
  auto o = options(12);
  // A 7x7 output: most pixel and row tiles do not divide it (16 of 288
  // configs are admissible).
  o.task = {"conv2d", {16, 7, 7, 32, 3, 1, 1}};
  auto guided = tuning::run_tuning(client.sys(), o, measurers);
  BOOST_REQUIRE_EQUAL(guided.records.size(), 12u);
  for (auto& r : guided.records)
    BOOST_TEST(r.ok(), r.error);
  auto default_config = compiler::default_config(o.task);
  BOOST_REQUIRE(default_config.has_value());
  BOOST_TEST((guided.records[0].config == compiler::tuning_config{7, 2, 1, 0, 0}));
  BOOST_TEST((guided.records[0].config == *default_config));
  o.random = true;
  o.store_dir = dir.file("records-random");
  auto random = tuning::run_tuning(client.sys(), o, measurers);
  BOOST_REQUIRE_EQUAL(random.records.size(), 12u);
  for (auto& r : random.records)
    BOOST_TEST(r.ok(), r.error);
  // Asked for more than there are: the admissible 16, then the space is exhausted.
  o.trials = 20;
  o.store_dir = dir.file("records-all");
  BOOST_TEST(tuning::run_tuning(client.sys(), o, measurers).records.size() == 16u);
}

BOOST_AUTO_TEST_CASE(a_run_resumes_from_its_records) {
  measurers = local_measurers(2);
  auto o = options(16);
  auto first = tuning::run_tuning(client.sys(), o, measurers);
  BOOST_REQUIRE_EQUAL(first.measured, 16u);
  o.trials = 24;
  auto second = tuning::run_tuning(client.sys(), o, measurers);
  BOOST_TEST(second.resumed == 16u);
  BOOST_TEST(second.measured == 8u);
  BOOST_TEST(distinct_configs(second.records).size() == 24u);
  BOOST_TEST(second.best.gflops >= first.best.gflops);
}

BOOST_AUTO_TEST_CASE(a_model_shares_its_trial_budget_among_its_tasks_and_resumes) {
  measurers = local_measurers(2);
  auto model = two_conv_model();
  tuning::model_tune_options o;
  o.trials = 20;
  o.base = options(0);
  o.base.batch = 4;
  auto first = tuning::schedule_model_tuning(client.sys(), model, o, measurers);
  BOOST_REQUIRE_EQUAL(first.tasks.size(), 2u);
  BOOST_TEST(first.trials == 20u);
  uint64_t total = 0;
  for (auto& t : first.tasks) {
    BOOST_TEST_CONTEXT(t.task.task.name()) {
      BOOST_TEST(t.trials >= 4u);  // every task had its warm-up slice
      BOOST_TEST(t.measured == t.trials);
      BOOST_TEST((t.best.ok() && t.best.gflops > 0));
    }
    total += t.trials;
  }
  BOOST_TEST(total == 20u);
  // conv2 does 18 times the work of conv1: after the warm-up, the slices go to it.
  BOOST_TEST(first.tasks[1].trials > first.tasks[0].trials);
  {
    compiler::tuning_records store(o.base.store_dir);
    for (auto& t : first.tasks)
      BOOST_TEST(store.load(t.task.task).size() == t.trials);
  }
  // More trials continue from the store.
  o.trials = 28;
  auto second = tuning::schedule_model_tuning(client.sys(), model, o, measurers);
  BOOST_TEST(second.trials == 28u);
  uint64_t measured = 0;
  for (auto& t : second.tasks)
    measured += t.measured;
  BOOST_TEST(measured == 8u);
  // A new task of a similar model starts its cost model from the closest
  // task's records (the 1x1 convolution at half the width is closest to
  // the 1x1 one at full width).
  o.transfer = true;
  o.trials = 28 + 8;
  auto transferred = tuning::schedule_model_tuning(client.sys(), two_conv_model(28), o, measurers);
  BOOST_REQUIRE_EQUAL(transferred.tasks.size(), 2u);
  BOOST_TEST(transferred.tasks[0].transferred_from == first.tasks[0].task.task.name());
  for (auto& t : transferred.tasks)
    BOOST_TEST((t.best.ok() && t.best.gflops > 0), t.task.task.name());
}

BOOST_AUTO_TEST_CASE(records_survive_kill_9_of_the_tuner_and_the_next_run_continues) {
  auto store = dir.file("killed");
  auto log = dir.file("tune.log");
  auto tuner = child_process::spawn({test::troupe_binary(), "tune", "--op", "matmul", "--shape",
                                     "64,64,64", "--trials", "400", "--batch", "4", "--store", store,
                                     "--repeats", "3"},
                                    log);
  BOOST_REQUIRE_MESSAGE(tuner, test::why(tuner));
  // Wait for progress (every 10 % of 400: after 40 records), then kill -9.
  auto progressed = test::wait_until([&] {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.find("40/400") != std::string::npos;
  }, 60s);
  BOOST_REQUIRE_MESSAGE(progressed >= 0, "troupe tune made no progress");
  tuner->signal(SIGKILL);
  BOOST_REQUIRE(tuner->wait_for(5s).has_value());
  size_t kept = 0;
  {
    compiler::tuning_records records(store);
    kept = records.trials({"matmul", {64, 64, 64}});
  }
  BOOST_TEST(kept >= 40u);
  measurers = local_measurers(1);
  auto o = options(kept + 4);
  o.store_dir = store;
  o.batch = 4;
  auto resumed = tuning::run_tuning(client.sys(), o, measurers);
  BOOST_TEST(resumed.resumed == kept);
  BOOST_TEST(resumed.measured == 4u);
  BOOST_TEST(distinct_configs(resumed.records).size() == kept + 4);
}

BOOST_AUTO_TEST_CASE(measurers_on_other_nodes_measure_for_a_cluster_tuner) {
  start("m1", {"--service", "tuning_measurer=tuning.measurer.m1"});
  start("m2", {"--service", "tuning_measurer=tuning.measurer.m2", "--seed",
               cluster.address_of("m1")});
  auto c = client_of("m1");
  BOOST_REQUIRE_GE(test::wait_until([&] {
    auto names = c.directory();
    if (!names)
      return false;
    int found = 0;
    for (auto& e : *names)
      found += e.name.rfind("tuning.measurer.", 0) == 0;
    return found == 2;
  }, 15s), 0.0);
  auto jsonl = dir.file("records.jsonl");
  auto result = test::run_command(test::troupe_binary() + " tune --op matmul --shape 64,64,64 "
                                  "--trials 8 --batch 4 --repeats 3 --store " + dir.file("cluster")
                                  + " --cluster " + cluster.address_of("m1") + " --export " + jsonl
                                  + " --plot " + dir.file("progress.png") + " 2>&1");
  BOOST_TEST_MESSAGE(result.output);
  BOOST_REQUIRE_EQUAL(result.status, 0);
  BOOST_TEST(result.output.find("2 measurer(s)") != std::string::npos);
  std::ifstream in(jsonl);
  std::string line;
  size_t lines = 0, on_m1 = 0, on_m2 = 0;
  while (std::getline(in, line)) {
    lines += line.find("\"device\"") != std::string::npos;
    // Each record names the node that measured it: the work was spread.
    on_m1 += line.find("\"device\":\"m1@") != std::string::npos;
    on_m2 += line.find("\"device\":\"m2@") != std::string::npos;
  }
  // 8 trials, then the 4 best re-measured together on one measurer.
  BOOST_TEST(result.output.find("best (confirmed)") != std::string::npos);
  BOOST_TEST(lines == 12u);
  BOOST_TEST(on_m1 + on_m2 == 12u);
  BOOST_TEST(on_m1 >= 2u);
  BOOST_TEST(on_m2 >= 2u);
  std::ifstream png(dir.file("progress.png"), std::ios::binary);
  char signature[8] = {};
  png.read(signature, 8);
  BOOST_TEST(std::string(signature + 1, 3) == "PNG");
}

BOOST_AUTO_TEST_CASE(troupe_tune_refuses_a_bad_task_clearly) {
  auto result = test::run_command(test::troupe_binary() + " tune --op gemv --store "
                                  + dir.file("bad") + " 2>&1");
  BOOST_TEST(result.status == 2);
  BOOST_TEST(result.output.find("unknown tuning op 'gemv'") != std::string::npos, result.output);
  auto shape = test::run_command(test::troupe_binary() + " tune --op matmul --shape 64,64 --store "
                                 + dir.file("bad") + " 2>&1");
  BOOST_TEST(shape.status == 2);
  BOOST_TEST(shape.output.find("needs 3 shape values") != std::string::npos, shape.output);
}

BOOST_AUTO_TEST_SUITE_END()
