// The serving pipeline's actors together: batchers in front of containers,
// apps choosing models, answering by the deadline, learning from feedback
// and persisting what they learned. The containers here are small real
// models (the sum of the input) with a configurable cost per batch.
#define BOOST_TEST_MODULE pipeline
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/serving/app.hpp"
#include "actors/serving/batcher.hpp"
#include "messages/errors.hpp"
#include "runtime/state_store.hpp"
#include "tests/support/test_support.hpp"

using namespace troupe;
using namespace troupe::serving;
using namespace std::chrono_literals;

namespace {

/// What a test container does and how it reports what it saw.
struct sum_model {
  std::chrono::microseconds per_batch{0};
  std::chrono::microseconds per_query{0};
  bool fail = false;
  std::string offset;  // appended to each output, to tell models apart
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> queries{0};
  std::atomic<uint64_t> largest{0};
};

/// A detached container: like a real one, it blocks its own thread while
/// it computes.
model_container_actor spawn_sum_container(caf::actor_system& sys,
                                          std::shared_ptr<sum_model> model) {
  return sys.spawn<caf::detached>(
    [model](model_container_actor::pointer) -> model_container_actor::behavior_type {
      return {
        [model](predict_atom, const query_inputs& batch) -> caf::result<model_outputs> {
          ++model->batches;
          model->queries += batch.size();
          if (batch.size() > model->largest)
            model->largest = batch.size();
          std::this_thread::sleep_for(model->per_batch + model->per_query * batch.size());
          if (model->fail)
            return make_error(errc::io_failure, "this container always fails");
          model_outputs out;
          for (auto& x : batch) {
            double sum = 0;
            for (auto v : x.numbers)
              sum += v;
            out.push_back(std::to_string(static_cast<long long>(sum)) + model->offset);
          }
          return out;
        },
      };
    });
}

query_input numbers(std::vector<double> xs) {
  return query_input{input_kind::doubles, std::move(xs), {}};
}

struct fixture {
  test::client_system client;
  caf::scoped_actor self{client.sys()};
  // Batchers and apps keep timers at their queries' deadlines, which keep
  // them alive; a test stops what it spawned so that shutdown is immediate.
  std::vector<caf::actor> spawned;

  ~fixture() {
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  template <class T, class Handle, class... Ts>
  caf::expected<T> ask(const Handle& h, Ts&&... xs) {
    caf::expected<T> result = make_error(errc::timeout, "no answer");
    self->request(h, 10s, std::forward<Ts>(xs)...)
      .receive([&](T& x) { result = std::move(x); }, [&](caf::error& e) { result = e; });
    return result;
  }

  batcher_actor batcher_for(std::shared_ptr<sum_model> model, const std::string& id,
                            aimd_options aimd = {}, int64_t delay_us = 0, uint32_t replica = 0,
                            uint32_t in_flight = 2) {
    batcher_options opts;
    opts.model = id;
    opts.replica = replica;
    opts.aimd = aimd;
    opts.batch_delay_us = delay_us;
    opts.batches_in_flight = in_flight;
    auto container = spawn_sum_container(client.sys(), model);
    auto b = spawn_batcher(client.sys(), container, opts);
    spawned.push_back(caf::actor_cast<caf::actor>(container));
    spawned.push_back(caf::actor_cast<caf::actor>(b));
    return b;
  }

  app_actor app_with(app_spec spec, std::vector<app_model> models,
                     std::shared_ptr<prediction_cache> cache = nullptr,
                     state_store_actor store = {}, std::string state = {}) {
    app_options opts;
    opts.spec = std::move(spec);
    opts.models = std::move(models);
    opts.cache = std::move(cache);
    opts.store = std::move(store);
    opts.policy_state = std::move(state);
    auto app = spawn_app(client.sys(), std::move(opts));
    BOOST_REQUIRE_MESSAGE(app, test::why(app));
    spawned.push_back(caf::actor_cast<caf::actor>(*app));
    return *app;
  }

  /// Sends `n` queries at once (input {i, 1}, `budget_us(i)` to live)
  /// without waiting for their answers.
  auto send_burst(const batcher_actor& b, size_t n,
                  const std::function<int64_t(size_t)>& budget_us) {
    using handle = decltype(self->request(b, 10s, predict_atom::value, query_input{}, int64_t{}));
    std::vector<handle> pending;
    for (size_t i = 0; i < n; ++i)
      pending.push_back(self->request(b, 10s, predict_atom::value, numbers({double(i), 1}),
                                      budget_us(i)));
    return pending;
  }

  /// Waits for the answers of send_burst, in order.
  template <class Handles>
  std::vector<caf::expected<std::string>> answers(Handles& pending) {
    std::vector<caf::expected<std::string>> results;
    for (auto& h : pending) {
      caf::expected<std::string> r = make_error(errc::timeout, "none");
      h.receive([&](std::string& out) { r = out; }, [&](caf::error& e) { r = e; });
      results.push_back(std::move(r));
    }
    return results;
  }

  /// Sends `n` queries at once (input {i, 1}) and waits for all answers.
  std::vector<caf::expected<std::string>> burst(const batcher_actor& b, size_t n,
                                                int64_t budget_us) {
    auto pending = send_burst(b, n, [budget_us](size_t) { return budget_us; });
    return answers(pending);
  }

  /// Every answer is its query's sum, i + 1.
  static void check_sums(const std::vector<caf::expected<std::string>>& results) {
    for (size_t i = 0; i < results.size(); ++i) {
      BOOST_REQUIRE_MESSAGE(results[i], test::why(results[i]));
      BOOST_CHECK_EQUAL(*results[i], std::to_string(i + 1));
    }
  }

  template <class T, class Handle, class... Ts>
  std::vector<caf::expected<T>> many(const Handle& h, size_t n, const std::function<query_input(size_t)>& input) {
    using handle = decltype(self->request(h, 10s, predict_atom::value, query_input{}));
    std::vector<handle> pending;
    for (size_t i = 0; i < n; ++i)
      pending.push_back(self->request(h, 10s, predict_atom::value, input(i)));
    std::vector<caf::expected<T>> results;
    for (auto& p : pending) {
      caf::expected<T> r = make_error(errc::timeout, "none");
      p.receive([&](T& out) { r = std::move(out); }, [&](caf::error& e) { r = e; });
      results.push_back(std::move(r));
    }
    return results;
  }
};

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

// -- batcher ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_batcher_answers_every_query_with_its_own_output_in_batches) {
  auto model = std::make_shared<sum_model>();
  model->per_batch = 2ms;
  auto b = batcher_for(model, "sum:1", {/*target*/ 50'000, 1, 1, 64, 8, 0.9});
  check_sums(burst(b, 300, 5'000'000));
  // 300 queries at 2 ms a batch in far fewer than 300 batches.
  BOOST_CHECK_LT(model->batches.load(), 100u);
  BOOST_CHECK_GT(model->largest.load(), 8u);
  auto stats = ask<batcher_stats>(b, stats_atom::value);
  BOOST_REQUIRE(stats);
  BOOST_CHECK_EQUAL(stats->queries, 300u);
  BOOST_CHECK_GT(stats->mean_batch_size, 3.0);
  BOOST_CHECK_EQUAL(stats->model, "sum:1");
}

BOOST_AUTO_TEST_CASE(a_group_of_queries_in_one_message_gets_its_outputs_in_order) {
  auto model = std::make_shared<sum_model>();
  model->per_batch = 2ms;
  auto b = batcher_for(model, "sum:1", {/*target*/ 50'000, 1, 1, 64, 8, 0.9});
  query_inputs group;
  for (int i = 0; i < 200; ++i)
    group.push_back(numbers({double(i), 2}));
  auto outputs = ask<model_outputs>(b, predict_atom::value, group, int64_t{5'000'000});
  BOOST_REQUIRE_MESSAGE(outputs, test::why(outputs));
  BOOST_REQUIRE_EQUAL(outputs->size(), 200u);
  for (size_t i = 0; i < outputs->size(); ++i)
    BOOST_CHECK_EQUAL((*outputs)[i], std::to_string(i + 2));
  BOOST_CHECK_GT(model->largest.load(), 8u);  // the group was batched, not sent one by one
  auto empty = ask<model_outputs>(b, predict_atom::value, query_inputs{}, int64_t{1'000});
  BOOST_REQUIRE(empty);
  BOOST_CHECK(empty->empty());
  auto late = ask<model_outputs>(b, predict_atom::value, group, int64_t{0});
  BOOST_REQUIRE(!late);
  BOOST_CHECK(is(late.error(), errc::timeout));
}

BOOST_AUTO_TEST_CASE(a_group_that_would_overflow_the_queue_is_refused_whole) {
  auto model = std::make_shared<sum_model>();
  batcher_options opts;
  opts.model = "small:1";
  opts.max_queue = 10;
  auto container = spawn_sum_container(client.sys(), model);
  auto b = spawn_batcher(client.sys(), container, opts);
  spawned.push_back(caf::actor_cast<caf::actor>(container));
  spawned.push_back(caf::actor_cast<caf::actor>(b));
  query_inputs group(11, numbers({1}));
  auto r = ask<model_outputs>(b, predict_atom::value, group, int64_t{1'000'000});
  BOOST_REQUIRE(!r);
  BOOST_CHECK(is(r.error(), errc::unavailable));
  BOOST_CHECK_NE(describe(r.error()).find("refusing 11 more"), std::string::npos);
  BOOST_CHECK_EQUAL(model->queries.load(), 0u);
}

BOOST_AUTO_TEST_CASE(a_full_batch_waits_in_the_container_while_one_runs) {
  // The limit is fixed at 4. The first query goes out alone (the container
  // was idle); while it runs (200 ms), only a *full* batch may follow it,
  // and no more than `in_flight` batches are ever out. The stats request
  // reaches the batcher after all 12 queries (same sender, same mailbox
  // order), while the first batch still runs.
  for (uint32_t in_flight : {1u, 2u}) {
    auto model = std::make_shared<sum_model>();
    model->per_batch = 200ms;
    auto b = batcher_for(model, "gate:1", {/*target*/ 10'000'000, 4, 4, 4, 1, 0.9}, 0, 0,
                         in_flight);
    auto pending = send_burst(b, 12, [](size_t) { return int64_t{5'000'000}; });
    auto stats = ask<batcher_stats>(b, stats_atom::value);
    BOOST_REQUIRE(stats);
    BOOST_CHECK_EQUAL(stats->batches, uint64_t{in_flight});
    BOOST_CHECK_EQUAL(stats->queued, in_flight == 2 ? 7u : 11u);
    check_sums(answers(pending));
    BOOST_CHECK_EQUAL(model->largest.load(), 4u);
  }
}

BOOST_AUTO_TEST_CASE(a_partial_batch_does_not_go_out_behind_a_running_one) {
  auto model = std::make_shared<sum_model>();
  model->per_batch = 200ms;
  auto b = batcher_for(model, "gate:1", {10'000'000, 4, 4, 4, 1, 0.9}, 0, 0, 2);
  auto pending = send_burst(b, 3, [](size_t) { return int64_t{5'000'000}; });
  auto stats = ask<batcher_stats>(b, stats_atom::value);
  BOOST_REQUIRE(stats);
  BOOST_CHECK_EQUAL(stats->batches, 1u);  // the lone first query; the other two wait
  BOOST_CHECK_EQUAL(stats->queued, 2u);
  check_sums(answers(pending));
  BOOST_CHECK_EQUAL(model->batches.load(), 2u);
}

BOOST_AUTO_TEST_CASE(aimd_measures_a_pipelined_batch_from_when_the_one_before_it_ended) {
  // Batches of 4 at 50 ms each, always two out: counted from when it was
  // sent, each batch would seem to take ~100 ms (it waits behind the one
  // running); its own service time is ~50 ms.
  auto model = std::make_shared<sum_model>();
  model->per_batch = 50ms;
  auto b = batcher_for(model, "piped:1", {10'000'000, 4, 4, 4, 1, 0.9}, 0, 0, 2);
  auto results = burst(b, 41, 10'000'000);
  for (auto& r : results)
    BOOST_REQUIRE_MESSAGE(r, test::why(r));
  auto stats = ask<batcher_stats>(b, stats_atom::value);
  BOOST_REQUIRE(stats);
  BOOST_CHECK_EQUAL(stats->batches, 11u);
  BOOST_CHECK_GE(stats->p99_batch_latency_us, 45'000.0);
  BOOST_CHECK_LT(stats->p99_batch_latency_us, 85'000.0);
}

BOOST_AUTO_TEST_CASE(aimd_keeps_batches_of_a_slow_model_under_the_latency_target) {
  // 200 us per query: a 5 ms target allows about 25 per batch.
  auto model = std::make_shared<sum_model>();
  model->per_query = 200us;
  auto b = batcher_for(model, "slow:1", {5'000, 1, 1, 512, 4, 0.9});
  for (int round = 0; round < 4; ++round)
    burst(b, 200, 60'000'000);
  auto stats = ask<batcher_stats>(b, stats_atom::value);
  BOOST_REQUIRE(stats);
  BOOST_CHECK_GE(stats->batch_size_limit, 12u);
  BOOST_CHECK_LE(stats->batch_size_limit, 32u);
}

BOOST_AUTO_TEST_CASE(a_stricter_latency_target_shrinks_the_learned_batches) {
  auto model = std::make_shared<sum_model>();
  model->per_query = 200us;
  auto b = batcher_for(model, "retarget:1", {50'000, 1, 1, 512, 16, 0.9});
  for (int round = 0; round < 3; ++round)
    burst(b, 300, 60'000'000);
  auto loose = ask<batcher_stats>(b, stats_atom::value);
  BOOST_REQUIRE(loose);
  BOOST_CHECK_GT(loose->batch_size_limit, 40u);  // 50 ms allows ~250 per batch
  // An app with a 5 ms batch budget joins: about 25 per batch now.
  caf::anon_send(b, set_target_atom::value, int64_t{5'000});
  for (int round = 0; round < 3; ++round)
    burst(b, 300, 60'000'000);
  auto strict = ask<batcher_stats>(b, stats_atom::value);
  BOOST_REQUIRE(strict);
  // AIMD oscillates around the edge (+16 per good batch, x0.9 per late one):
  // about 25, give or take a step.
  BOOST_CHECK_LE(strict->batch_size_limit, 48u);
  BOOST_CHECK_LT(strict->batch_size_limit, loose->batch_size_limit);
}

BOOST_AUTO_TEST_CASE(queries_that_expire_in_the_queue_are_dropped_with_a_timeout) {
  auto model = std::make_shared<sum_model>();
  model->per_batch = 200ms;
  // One batch at a time: with two, the second query would wait inside the
  // container (where the batcher cannot drop it) and fail by its timeout.
  auto b = batcher_for(model, "sluggish:1", {1'000'000, 1, 1, 1, 1, 0.9}, 0, 0, 1);
  // The first query (1 s to live) occupies the container for 200 ms; the
  // others have 20 ms and expire in the queue. (Had the first one 20 ms
  // too, its batch would time out at its deadline, freeing the replica for
  // a later query whose deadline had not quite come.)
  auto pending = send_burst(b, 5, [](size_t i) { return int64_t{i == 0 ? 1'000'000 : 20'000}; });
  auto results = answers(pending);
  BOOST_REQUIRE(results.front());
  BOOST_CHECK_EQUAL(*results.front(), "1");
  size_t expired = 0;
  for (auto& r : results)
    if (!r && is(r.error(), errc::timeout))
      ++expired;
  BOOST_CHECK_GE(expired, 4u);
  auto stats = ask<batcher_stats>(b, stats_atom::value);
  BOOST_REQUIRE(stats);
  BOOST_CHECK_GE(stats->expired, 4u);
  BOOST_CHECK_LE(model->queries.load(), 1u);  // expired queries never reach the model
}

BOOST_AUTO_TEST_CASE(a_batch_the_container_holds_past_its_deadline_fails_and_frees_the_replica) {
  // The container takes 300 ms; the query has 50 ms. The batcher's watchdog
  // fails the batch at its deadline (not when the container is done) and
  // frees the replica's only slot, so the next query goes out at once and
  // waits in the container's mailbox; the late answer to the first batch
  // is dropped.
  auto model = std::make_shared<sum_model>();
  model->per_batch = 300ms;
  auto b = batcher_for(model, "stuck:1", {1'000'000, 1, 1, 1, 1, 0.9}, 0, 0, 1);
  auto started = std::chrono::steady_clock::now();
  auto late = ask<std::string>(b, predict_atom::value, numbers({1, 2}), int64_t{50'000});
  auto waited_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - started)
                     .count();
  BOOST_REQUIRE(!late);
  BOOST_CHECK(is(late.error(), errc::timeout));
  BOOST_CHECK_NE(describe(late.error()).find("stuck:1 replica 0 did not answer a batch of 1"),
                 std::string::npos);
  BOOST_CHECK_GE(waited_ms, 50);
  BOOST_CHECK_LT(waited_ms, 250);  // before the container answered
  auto next = ask<std::string>(b, predict_atom::value, numbers({3, 4}), int64_t{5'000'000});
  BOOST_REQUIRE_MESSAGE(next, test::why(next));
  BOOST_CHECK_EQUAL(*next, "7");
  auto stats = ask<batcher_stats>(b, stats_atom::value);
  BOOST_REQUIRE(stats);
  BOOST_CHECK_EQUAL(stats->batches, 2u);
  BOOST_CHECK_EQUAL(stats->failed, 1u);
  BOOST_CHECK_EQUAL(model->batches.load(), 2u);
}

BOOST_AUTO_TEST_CASE(a_query_without_time_left_is_refused_at_once) {
  auto model = std::make_shared<sum_model>();
  auto b = batcher_for(model, "m:1");
  auto r = ask<std::string>(b, predict_atom::value, numbers({1}), int64_t{0});
  BOOST_REQUIRE(!r);
  BOOST_CHECK(is(r.error(), errc::timeout));
}

BOOST_AUTO_TEST_CASE(delayed_batching_waits_to_fill_a_batch) {
  auto model = std::make_shared<sum_model>();
  auto b = batcher_for(model, "m:1", {1'000'000, 64, 1, 64, 1, 0.9}, /*delay*/ 30'000);
  // Queries trickle in one per ms; with a 30 ms delay they share batches.
  using handle = decltype(self->request(b, 10s, predict_atom::value, query_input{}, int64_t{}));
  std::vector<handle> pending;
  for (int i = 0; i < 20; ++i) {
    pending.push_back(self->request(b, 10s, predict_atom::value, numbers({1}), int64_t{1'000'000}));
    std::this_thread::sleep_for(1ms);
  }
  for (auto& h : pending)
    h.receive([](std::string&) {}, [](caf::error& e) { BOOST_FAIL(describe(e)); });
  BOOST_CHECK_LE(model->batches.load(), 3u);
}

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
    sink->fail(make_error(errc::io_failure, "too late"));
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
  // A burst: the app is woken by the first query while the others arrive,
  // so they wait in its mailbox and go out together.
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
  BOOST_CHECK_LT(counts->messages.load(), 100u);
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
