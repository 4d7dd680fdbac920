// The serving pipeline's actors together: batchers in front of containers,
// apps choosing models, answering by the deadline, learning from feedback
// and persisting what they learned. The containers here are small real
// models (the sum of the input) with a configurable cost per batch. This
// file holds the apps' tests; batcher.test.cpp the batchers'.
#define BOOST_TEST_MODULE pipeline
#include <boost/test/unit_test.hpp>

#include "tests/serving/pipeline_fixture.hpp"

namespace {

app_spec spec_of(const std::string& name, const std::string& policy, int64_t slo_us,
                 std::vector<std::string> models) {
  app_spec s;
  s.name = name;
  s.policy = policy;
  s.slo_us = slo_us;
  s.default_output = "-1";
  s.models = std::move(models);
  return s;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(pipeline, fixture)

// -- app ----------------------------------------------------------------------

/// A sink whose answer can be awaited from the test thread.
struct awaited_answer {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<caf::expected<predictions>> calls;

  prediction_sink_ptr sink() {
    return std::make_shared<prediction_sink>([this](caf::expected<predictions> ps) {
      std::lock_guard<std::mutex> guard{mtx};
      calls.push_back(std::move(ps));
      cv.notify_all();
    });
  }

  /// The first answer, or an error after 5 s.
  caf::expected<predictions> wait() {
    std::unique_lock<std::mutex> lock{mtx};
    if (!cv.wait_for(lock, 5s, [this] { return !calls.empty(); }))
      return make_error(errc::timeout, "the sink was never called");
    return calls.front();
  }
};

BOOST_AUTO_TEST_CASE(a_sink_answers_once_and_says_so_when_dropped_unanswered) {
  awaited_answer twice;
  {
    auto sink = twice.sink();
    prediction p;
    p.output = "first";
    sink->deliver({p});
    p.output = "second";
    sink->deliver({p});
  }  // destroyed after answering: no further call
  BOOST_REQUIRE_EQUAL(twice.calls.size(), 1u);
  BOOST_REQUIRE(twice.calls.front());
  BOOST_CHECK_EQUAL(twice.calls.front()->front().output, "first");
  awaited_answer dropped;
  dropped.sink().reset();
  BOOST_REQUIRE_EQUAL(dropped.calls.size(), 1u);
  BOOST_REQUIRE(!dropped.calls.front());
  BOOST_CHECK(is(dropped.calls.front().error(), errc::unavailable));
}

BOOST_AUTO_TEST_CASE(an_app_answers_a_local_caller_through_its_sink) {
  auto model = std::make_shared<sum_model>();
  auto app = app_with(spec_of("add", "single", 100'000, {"sum"}),
                      {{"sum:1", {batcher_for(model, "sum:1")}}});
  awaited_answer one, many;
  caf::anon_send(app, predict_atom::value, query_inputs{numbers({2, 3})}, one.sink());
  caf::anon_send(app, predict_atom::value, query_inputs{numbers({1}), numbers({4, 4})},
                 many.sink());
  auto p = one.wait();
  BOOST_REQUIRE_MESSAGE(p, test::why(p));
  BOOST_REQUIRE_EQUAL(p->size(), 1u);
  BOOST_CHECK_EQUAL(p->front().output, "5");
  BOOST_CHECK(!p->front().is_default);
  auto ps = many.wait();
  BOOST_REQUIRE_MESSAGE(ps, test::why(ps));
  BOOST_REQUIRE_EQUAL(ps->size(), 2u);
  BOOST_CHECK_EQUAL((*ps)[0].output, "1");
  BOOST_CHECK_EQUAL((*ps)[1].output, "8");
  // An app that is gone: the message is dropped, and with it the sink,
  // which answers that the app went away instead of leaving the caller
  // waiting.
  self->send_exit(app, caf::exit_reason::user_shutdown);
  self->wait_for(app);
  awaited_answer orphan;
  caf::anon_send(app, predict_atom::value, query_inputs{numbers({1})}, orphan.sink());
  auto gone = orphan.wait();
  BOOST_REQUIRE(!gone);
  BOOST_CHECK(is(gone.error(), errc::unavailable));
  BOOST_CHECK_NE(describe(gone.error()).find("the app went away"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_app_answers_with_its_model_output) {
  auto model = std::make_shared<sum_model>();
  auto app = app_with(spec_of("add", "single", 100'000, {"sum"}),
                      {{"sum:1", {batcher_for(model, "sum:1")}}});
  auto p = ask<prediction>(app, predict_atom::value, numbers({2, 3}));
  BOOST_REQUIRE_MESSAGE(p, test::why(p));
  BOOST_CHECK_EQUAL(p->output, "5");
  BOOST_CHECK(!p->is_default);
  BOOST_CHECK(p->models_used == std::vector<std::string>{"sum:1"});
  BOOST_CHECK(p->models_missing.empty());
  auto batch = ask<predictions>(app, predict_atom::value,
                                query_inputs{numbers({1}), numbers({2, 2}), numbers({})});
  BOOST_REQUIRE(batch);
  BOOST_REQUIRE_EQUAL(batch->size(), 3u);
  BOOST_CHECK_EQUAL((*batch)[0].output, "1");
  BOOST_CHECK_EQUAL((*batch)[1].output, "4");
  BOOST_CHECK_EQUAL((*batch)[2].output, "0");
  BOOST_CHECK_EQUAL((*batch)[1].query_id, (*batch)[0].query_id + 1);  // in row order
  BOOST_CHECK_EQUAL((*batch)[2].query_id, (*batch)[0].query_id + 2);
}

BOOST_AUTO_TEST_CASE(queries_waiting_in_the_app_travel_to_a_replica_as_one_group) {
  // A stand-in batcher that answers at once and counts what reaches it.
  struct seen {
    std::atomic<uint64_t> messages{0};
    std::atomic<uint64_t> rows{0};
  };
  auto counts = std::make_shared<seen>();
  auto sum = [](const query_input& x) {
    double total = 0;
    for (auto v : x.numbers)
      total += v;
    return std::to_string(static_cast<long long>(total));
  };
  auto counting = client.sys().spawn(
    [counts, sum](batcher_actor::pointer) -> batcher_actor::behavior_type {
      return {
        [counts, sum](predict_atom, const query_input& x, int64_t) {
          ++counts->messages;
          ++counts->rows;
          return sum(x);
        },
        [counts, sum](predict_atom, const query_inputs& xs, int64_t) {
          ++counts->messages;
          counts->rows += xs.size();
          model_outputs out;
          for (auto& x : xs)
            out.push_back(sum(x));
          return out;
        },
        [](stats_atom) { return batcher_stats{}; },
        [](set_target_atom, int64_t) {},
        [](caf::tick_atom) {},
        [](deadline_atom, uint64_t) {},
      };
    });
  spawned.push_back(caf::actor_cast<caf::actor>(counting));
  auto app = app_with(spec_of("grouped", "single", 2'000'000, {"sum"}), {{"sum:1", {counting}}});
  // A burst that waits in the app's mailbox (many() holds the scheduler
  // while it sends: on a loaded machine the app would otherwise keep up
  // with the sender, and each query would go alone).
  auto results = many<prediction, app_actor>(app, 200, [](size_t i) {
    return numbers({double(i), 1});
  });
  for (size_t i = 0; i < results.size(); ++i) {
    BOOST_REQUIRE_MESSAGE(results[i], test::why(results[i]));
    BOOST_CHECK_EQUAL(results[i]->output, std::to_string(i + 1));
    BOOST_CHECK(!results[i]->is_default);
  }
  BOOST_CHECK_EQUAL(counts->rows.load(), 200u);
  BOOST_TEST_MESSAGE("200 queries reached the replica in " << counts->messages.load()
                                                           << " messages");
  BOOST_CHECK_LE(counts->messages.load(), 2u);
}

BOOST_AUTO_TEST_CASE(a_model_too_slow_for_the_slo_gives_the_default_output_by_the_deadline) {
  auto model = std::make_shared<sum_model>();
  model->per_batch = 300ms;
  auto app = app_with(spec_of("strict", "single", 20'000, {"slow"}),
                      {{"slow:1", {batcher_for(model, "slow:1")}}});
  auto started = std::chrono::steady_clock::now();
  auto p = ask<prediction>(app, predict_atom::value, numbers({1}));
  auto took = std::chrono::steady_clock::now() - started;
  BOOST_REQUIRE(p);
  BOOST_CHECK(p->is_default);
  BOOST_CHECK_EQUAL(p->output, "-1");
  BOOST_CHECK_NE(p->default_explanation.find("SLO of 20000 us"), std::string::npos);
  BOOST_CHECK(p->models_missing == std::vector<std::string>{"slow:1"});
  BOOST_CHECK_LT(std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), 100);  // not the model's 300 ms
}

BOOST_AUTO_TEST_CASE(the_slo_counts_from_when_the_caller_got_the_query) {
  // The HTTP frontend stamps the sink before it parses the body: a query
  // that spent 190 ms of its 200 ms before the app has 10 ms left, not 200.
  auto model = std::make_shared<sum_model>();
  model->per_batch = 300ms;
  auto app = app_with(spec_of("late", "single", 200'000, {"slow"}),
                      {{"slow:1", {batcher_for(model, "slow:1")}}});
  awaited_answer late;
  auto started = std::chrono::steady_clock::now();
  auto sink = std::make_shared<prediction_sink>(
    [&late](caf::expected<predictions> ps) {
      std::lock_guard<std::mutex> guard{late.mtx};
      late.calls.push_back(std::move(ps));
      late.cv.notify_all();
    },
    started - 190ms);
  caf::anon_send(app, predict_atom::value, query_inputs{numbers({1})}, std::move(sink));
  auto ps = late.wait();
  auto took = std::chrono::steady_clock::now() - started;
  BOOST_REQUIRE_MESSAGE(ps, test::why(ps));
  BOOST_REQUIRE_EQUAL(ps->size(), 1u);
  BOOST_CHECK(ps->front().is_default);
  BOOST_CHECK_LT(std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), 100);
}

BOOST_AUTO_TEST_CASE(an_ensemble_answers_without_a_straggler_at_the_deadline) {
  auto fast1 = std::make_shared<sum_model>();
  auto fast2 = std::make_shared<sum_model>();
  auto slow = std::make_shared<sum_model>();
  slow->per_batch = 500ms;
  auto app = app_with(spec_of("ensemble", "exp4", 30'000, {"a", "b", "c"}),
                      {{"a:1", {batcher_for(fast1, "a:1")}},
                       {"b:1", {batcher_for(slow, "b:1")}},
                       {"c:1", {batcher_for(fast2, "c:1")}}});
  auto started = std::chrono::steady_clock::now();
  auto p = ask<prediction>(app, predict_atom::value, numbers({4, 5}));
  auto took = std::chrono::steady_clock::now() - started;
  BOOST_REQUIRE(p);
  BOOST_CHECK(!p->is_default);
  BOOST_CHECK_EQUAL(p->output, "9");
  BOOST_CHECK(p->models_missing == std::vector<std::string>{"b:1"});
  BOOST_CHECK_EQUAL(p->models_used.size(), 2u);
  BOOST_CHECK_CLOSE(p->confidence, 1.0, 1e-9);
  BOOST_CHECK_LT(std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), 200);
}

BOOST_AUTO_TEST_CASE(queries_go_to_another_replica_when_one_fails) {
  auto broken = std::make_shared<sum_model>();
  broken->fail = true;
  auto healthy = std::make_shared<sum_model>();
  auto app = app_with(spec_of("failover", "single", 200'000, {"m"}),
                      {{"m:1",
                        {batcher_for(broken, "m:1", {}, 0, 0),
                         batcher_for(healthy, "m:1", {}, 0, 1)}}});
  auto results = many<prediction>(app, 40, [](size_t i) { return numbers({double(i)}); });
  for (size_t i = 0; i < results.size(); ++i) {
    BOOST_REQUIRE(results[i]);
    BOOST_CHECK(!results[i]->is_default);
    BOOST_CHECK_EQUAL(results[i]->output, std::to_string(i));
  }
  BOOST_CHECK_GT(broken->batches.load(), 0u);  // it was tried, and passed over
}

BOOST_AUTO_TEST_CASE(a_batch_request_sends_only_its_cache_misses_in_one_group) {
  auto model = std::make_shared<sum_model>();
  auto cache = std::make_shared<prediction_cache>(1 << 20);
  auto app = app_with(spec_of("rows", "single", 1'000'000, {"sum"}),
                      {{"sum:1", {batcher_for(model, "sum:1")}}}, cache);
  auto warm = ask<prediction>(app, predict_atom::value, numbers({5, 5}));
  BOOST_REQUIRE(warm);
  auto before = model->queries.load();
  query_inputs rows;
  for (int i = 0; i < 50; ++i)
    rows.push_back(numbers({double(i), i == 7 ? 3.0 : 100.0}));
  rows[20] = numbers({5, 5});  // cached
  auto batch = ask<predictions>(app, predict_atom::value, rows);
  BOOST_REQUIRE_MESSAGE(batch, test::why(batch));
  BOOST_REQUIRE_EQUAL(batch->size(), 50u);
  for (int i = 0; i < 50; ++i) {
    auto expected = i == 20 ? 10 : i + (i == 7 ? 3 : 100);
    BOOST_CHECK_EQUAL((*batch)[i].output, std::to_string(expected));
    BOOST_CHECK(!(*batch)[i].is_default);
  }
  BOOST_CHECK_EQUAL(model->queries.load() - before, 49u);  // the cached row never reached it
  BOOST_CHECK_GT(model->largest.load(), 1u);
}

BOOST_AUTO_TEST_CASE(an_apps_metrics_count_every_row_of_a_batch_as_a_query) {
  auto model = std::make_shared<sum_model>();
  auto metrics = std::make_shared<serving_metrics>();
  auto app = app_with(spec_of("metered", "single", 1'000'000, {"sum"}),
                      {{"sum:1", {batcher_for(model, "sum:1")}}}, nullptr, {}, {}, metrics);
  query_inputs rows;
  for (int i = 0; i < 40; ++i)
    rows.push_back(numbers({double(i), 1}));
  auto batch = ask<predictions>(app, predict_atom::value, rows);
  BOOST_REQUIRE_MESSAGE(batch, test::why(batch));
  BOOST_REQUIRE_EQUAL(batch->size(), 40u);
  auto one = ask<prediction>(app, predict_atom::value, numbers({2, 3}));
  BOOST_REQUIRE_MESSAGE(one, test::why(one));
  BOOST_CHECK_EQUAL(one->output, "5");
  auto text = metrics->render();
  BOOST_TEST_MESSAGE(text);
  for (auto line : {"troupe_serving_queries_total{app=\"metered\"} 41",
                    "troupe_serving_latency_us_count{app=\"metered\"} 41",
                    "troupe_serving_latency_us_bucket{app=\"metered\",le=\"+Inf\"} 41"})
    BOOST_CHECK_MESSAGE(text.find(line) != std::string::npos, "no '" << line << "' in /metrics");
}

BOOST_AUTO_TEST_CASE(a_batchs_latency_lands_in_the_buckets_observe_would_choose) {
  // observe_latency counts a batch's rows under one lock; the histogram must
  // read as if each row had been observed alone, at every bucket edge.
  prometheus::Registry registry;
  auto& family = prometheus::BuildHistogram().Name("edges").Help("-").Register(registry);
  prometheus::Histogram::BucketBoundaries bounds{100,    250,    500,    1'000,  2'000,
                                                 5'000,  10'000, 15'000, 20'000, 30'000,
                                                 50'000, 100'000, 250'000, 1'000'000};
  auto& batched = family.Add({{"how", "batched"}}, bounds);
  auto& alone = family.Add({{"how", "alone"}}, bounds);
  for (double us : {0.0, 99.0, 100.0, 100.5, 500.0, 777.0, 1'000'000.0, 2'000'000.0}) {
    observe_latency(&batched, us, 3);
    for (int k = 0; k < 3; ++k)
      alone.Observe(us);
  }
  observe_latency(&batched, 42.0, 1);
  alone.Observe(42.0);
  observe_latency(&batched, 42.0, 0);  // nothing
  observe_latency(nullptr, 42.0, 5);   // no histogram: ignored
  auto a = batched.Collect().histogram;
  auto b = alone.Collect().histogram;
  BOOST_CHECK_EQUAL(a.sample_count, b.sample_count);
  BOOST_CHECK_EQUAL(a.sample_count, 25u);
  BOOST_CHECK_CLOSE(a.sample_sum, b.sample_sum, 1e-9);
  BOOST_REQUIRE_EQUAL(a.bucket.size(), b.bucket.size());
  for (size_t k = 0; k < a.bucket.size(); ++k)
    BOOST_CHECK_MESSAGE(a.bucket[k].cumulative_count == b.bucket[k].cumulative_count,
                        "bucket " << k << ": " << a.bucket[k].cumulative_count << " against "
                                  << b.bucket[k].cumulative_count);
}

BOOST_AUTO_TEST_CASE(a_batch_request_through_an_ensemble_answers_each_row_at_the_deadline) {
  auto fast = std::make_shared<sum_model>();
  auto slow = std::make_shared<sum_model>();
  slow->per_batch = 500ms;
  auto app = app_with(spec_of("rows_ensemble", "exp4", 30'000, {"a", "b"}),
                      {{"a:1", {batcher_for(fast, "a:1")}}, {"b:1", {batcher_for(slow, "b:1")}}});
  auto started = std::chrono::steady_clock::now();
  auto batch = ask<predictions>(app, predict_atom::value,
                                query_inputs{numbers({1, 2}), numbers({3, 4}), numbers({5})});
  auto took = std::chrono::steady_clock::now() - started;
  BOOST_REQUIRE_MESSAGE(batch, test::why(batch));
  BOOST_REQUIRE_EQUAL(batch->size(), 3u);
  std::vector<std::string> expected{"3", "7", "5"};
  for (size_t i = 0; i < 3; ++i) {
    BOOST_CHECK_EQUAL((*batch)[i].output, expected[i]);
    BOOST_CHECK((*batch)[i].models_missing == std::vector<std::string>{"b:1"});
  }
  BOOST_CHECK_LT(std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), 200);
}

BOOST_AUTO_TEST_CASE(models_that_share_a_batchs_rows_each_get_every_row_intact) {
  // A model with one replica gets the batch's rows moved into its request,
  // not copied, unless another model's request shares them: both models of
  // an ensemble must still see every row as sent.
  auto a = std::make_shared<sum_model>();
  auto b = std::make_shared<sum_model>();
  auto app = app_with(spec_of("shared_rows", "exp4", 1'000'000, {"a", "b"}),
                      {{"a:1", {batcher_for(a, "a:1")}}, {"b:1", {batcher_for(b, "b:1")}}});
  query_inputs rows;
  for (int i = 0; i < 30; ++i)
    rows.push_back(numbers({double(i), 2}));
  auto batch = ask<predictions>(app, predict_atom::value, rows);
  BOOST_REQUIRE_MESSAGE(batch, test::why(batch));
  BOOST_REQUIRE_EQUAL(batch->size(), 30u);
  for (size_t i = 0; i < 30; ++i) {
    BOOST_CHECK_EQUAL((*batch)[i].output, std::to_string(i + 2));
    // Both agreed, so both are in the answer.
    BOOST_CHECK((*batch)[i].models_used == (std::vector<std::string>{"a:1", "b:1"}));
    BOOST_CHECK((*batch)[i].models_missing.empty());
  }
  BOOST_CHECK_EQUAL(a->queries.load(), 30u);
  BOOST_CHECK_EQUAL(b->queries.load(), 30u);
  // And a single query, alone in its request, moved or not.
  auto one = ask<prediction>(app, predict_atom::value, numbers({4, 5}));
  BOOST_REQUIRE_MESSAGE(one, test::why(one));
  BOOST_CHECK_EQUAL(one->output, "9");
  BOOST_CHECK((one->models_used == std::vector<std::string>{"a:1", "b:1"}));
}

BOOST_AUTO_TEST_CASE(an_exp3_batch_request_splits_rows_by_arm_and_answers_them_in_order) {
  auto a = std::make_shared<sum_model>();
  auto b = std::make_shared<sum_model>();
  auto app = app_with(spec_of("rows_exp3", "exp3", 1'000'000, {"a", "b"}),
                      {{"a:1", {batcher_for(a, "a:1")}}, {"b:1", {batcher_for(b, "b:1")}}});
  query_inputs rows;
  for (int i = 0; i < 60; ++i)
    rows.push_back(numbers({double(i), 1}));
  auto batch = ask<predictions>(app, predict_atom::value, rows);
  BOOST_REQUIRE_MESSAGE(batch, test::why(batch));
  BOOST_REQUIRE_EQUAL(batch->size(), 60u);
  for (size_t i = 0; i < 60; ++i) {
    BOOST_CHECK_EQUAL((*batch)[i].output, std::to_string(i + 1));
    BOOST_CHECK_EQUAL((*batch)[i].query_id, (*batch)[0].query_id + i);
  }
  // Exp3 draws an arm per row: both models got some rows, in one group each.
  BOOST_CHECK_GT(a->queries.load(), 0u);
  BOOST_CHECK_GT(b->queries.load(), 0u);
  BOOST_CHECK_EQUAL(a->queries.load() + b->queries.load(), 60u);
}

BOOST_AUTO_TEST_CASE(a_batch_request_goes_to_another_replica_when_one_fails) {
  auto broken = std::make_shared<sum_model>();
  broken->fail = true;
  auto healthy = std::make_shared<sum_model>();
  auto app = app_with(spec_of("rows_failover", "single", 500'000, {"m"}),
                      {{"m:1",
                        {batcher_for(broken, "m:1", {}, 0, 0),
                         batcher_for(healthy, "m:1", {}, 0, 1)}}});
  for (int round = 0; round < 2; ++round) {  // the round-robin starts once at each replica
    query_inputs rows;
    for (int i = 0; i < 10; ++i)
      rows.push_back(numbers({double(i + 10 * round)}));
    auto batch = ask<predictions>(app, predict_atom::value, rows);
    BOOST_REQUIRE_MESSAGE(batch, test::why(batch));
    for (int i = 0; i < 10; ++i) {
      BOOST_CHECK(!(*batch)[i].is_default);
      BOOST_CHECK_EQUAL((*batch)[i].output, std::to_string(i + 10 * round));
    }
  }
  BOOST_CHECK_GT(broken->batches.load(), 0u);
}

BOOST_AUTO_TEST_CASE(a_cached_prediction_is_answered_without_the_model) {
  auto model = std::make_shared<sum_model>();
  auto cache = std::make_shared<prediction_cache>(1 << 20);
  auto app = app_with(spec_of("cached", "single", 100'000, {"sum"}),
                      {{"sum:1", {batcher_for(model, "sum:1")}}}, cache);
  auto first = ask<prediction>(app, predict_atom::value, numbers({7, 7}));
  BOOST_REQUIRE(first);
  auto calls = model->queries.load();
  auto second = ask<prediction>(app, predict_atom::value, numbers({7, 7}));
  BOOST_REQUIRE(second);
  BOOST_CHECK_EQUAL(second->output, "14");
  BOOST_CHECK_EQUAL(model->queries.load(), calls);
  BOOST_CHECK_EQUAL(cache->stats().hits, 1u);
}

BOOST_AUTO_TEST_CASE(feedback_moves_exp3_to_the_right_model_and_the_state_persists) {
  test::temp_dir dir;
  auto store = spawn_state_store(client.sys(), {dir.file("db"), false, 1 << 20});
  BOOST_REQUIRE(store);
  auto right = std::make_shared<sum_model>();
  auto wrong = std::make_shared<sum_model>();
  wrong->offset = "0";  // "5" becomes "50"
  auto cache = std::make_shared<prediction_cache>(1 << 20);
  auto models = std::vector<app_model>{{"wrong:1", {batcher_for(wrong, "wrong:1")}},
                                       {"right:1", {batcher_for(right, "right:1")}}};
  auto app = app_with(spec_of("bandit", "exp3", 200'000, {"wrong", "right"}), models, cache,
                      *store);
  for (int i = 0; i < 150; ++i) {
    feedback fb{0, numbers({double(i % 10)}), std::to_string(i % 10)};
    auto ok = ask<bool>(app, feedback_atom::value, fb);
    BOOST_REQUIRE_MESSAGE(ok, test::why(ok));
  }
  auto answers = many<prediction>(app, 200, [](size_t i) { return numbers({double(i % 10)}); });
  size_t right_answers = 0;
  for (auto& a : answers)
    right_answers += a && a->models_used == std::vector<std::string>{"right:1"};
  BOOST_CHECK_GT(right_answers, 150u);
  // The learned state is in the store; a new app starts from it.
  auto saved = ask<std::string>(*store, caf::get_atom::value, policy_state_key("bandit"));
  BOOST_REQUIRE(saved);
  auto restarted = app_with(spec_of("bandit", "exp3", 200'000, {"wrong", "right"}), models, cache,
                            *store, *saved);
  answers = many<prediction>(restarted, 200, [](size_t i) { return numbers({double(i % 10)}); });
  right_answers = 0;
  for (auto& a : answers)
    right_answers += a && a->models_used == std::vector<std::string>{"right:1"};
  BOOST_CHECK_GT(right_answers, 150u);
  caf::anon_send_exit(*store, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(an_app_without_models_or_with_foreign_state_is_refused) {
  app_options opts;
  opts.spec = spec_of("empty", "exp4", 1000, {});
  auto none = spawn_app(client.sys(), opts);
  BOOST_REQUIRE(!none);
  BOOST_CHECK_NE(describe(none.error()).find("app 'empty'"), std::string::npos);
  auto model = std::make_shared<sum_model>();
  opts.spec = spec_of("x", "exp4", 1000, {"m"});
  opts.models = {{"m:1", {batcher_for(model, "m:1")}}};
  opts.policy_state = R"({"policy":"exp4","weights":[1,1]})";
  auto bad = spawn_app(client.sys(), opts);
  BOOST_REQUIRE(!bad);
  BOOST_CHECK_NE(describe(bad.error()).find("2 weights, the app has 1 models"), std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
