// The batcher of one model replica, in front of a real (summing) container:
// batches, AIMD, pipelining, deadlines and the watchdog. Part of the
// pipeline test module (pipeline.test.cpp defines it).
#include <boost/test/unit_test.hpp>

#include "tests/serving/pipeline_fixture.hpp"

BOOST_FIXTURE_TEST_SUITE(batcher, fixture)

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

BOOST_AUTO_TEST_CASE(groups_and_single_queries_split_over_batches_each_get_their_own_rows) {
  // Batches of at most 16 from two groups and single queries queued
  // together: groups are cut across batches, and batches mix callers.
  auto model = std::make_shared<sum_model>();
  model->per_batch = 1ms;
  auto b = batcher_for(model, "sum:1", {/*target*/ 5'000'000, 16, 16, 16, 0, 0.9}, 0, 0, 1);
  auto group_of = [](size_t n, double base) {
    query_inputs g;
    for (size_t i = 0; i < n; ++i)
      g.push_back(numbers({base + double(i)}));
    return g;
  };
  using group_handle =
    decltype(self->request(b, 10s, predict_atom::value, query_inputs{}, int64_t{}));
  using single_handle =
    decltype(self->request(b, 10s, predict_atom::value, query_input{}, int64_t{}));
  std::vector<group_handle> groups;
  std::vector<single_handle> singles;
  {
    fixture::scheduler_hold hold{client.sys()};
    groups.push_back(self->request(b, 10s, predict_atom::value, group_of(10, 100), int64_t{5'000'000}));
    singles.push_back(self->request(b, 10s, predict_atom::value, numbers({7}), int64_t{5'000'000}));
    groups.push_back(self->request(b, 10s, predict_atom::value, group_of(25, 1000), int64_t{5'000'000}));
    singles.push_back(self->request(b, 10s, predict_atom::value, numbers({8}), int64_t{5'000'000}));
  }
  const double bases[] = {100, 1000};
  const size_t sizes[] = {10, 25};
  for (size_t g = 0; g < groups.size(); ++g) {
    model_outputs got;
    groups[g].receive([&](model_outputs& out) { got = std::move(out); },
                      [&](caf::error& e) { BOOST_ERROR("group " << g << ": " << describe(e)); });
    BOOST_REQUIRE_EQUAL(got.size(), sizes[g]);
    for (size_t i = 0; i < got.size(); ++i)
      BOOST_CHECK_EQUAL(got[i], std::to_string(static_cast<long long>(bases[g]) + i));
  }
  std::vector<std::string> single_outputs;
  for (auto& h : singles)
    h.receive([&](std::string& out) { single_outputs.push_back(out); },
              [&](caf::error& e) { BOOST_ERROR(describe(e)); });
  BOOST_CHECK((single_outputs == std::vector<std::string>{"7", "8"}));
  // The first group goes alone (nothing else had arrived; one batch in
  // flight at a time); the other 27 queries wait behind it in the mailbox
  // and go as 16 and 11: rows of the second group in two batches.
  BOOST_CHECK_EQUAL(model->queries.load(), 37u);
  BOOST_CHECK_EQUAL(model->batches.load(), 3u);
  BOOST_CHECK_EQUAL(model->largest.load(), 16u);
  auto stats = ask<batcher_stats>(b, stats_atom::value);
  BOOST_REQUIRE(stats);
  BOOST_CHECK_EQUAL(stats->queued, 0u);
}

BOOST_AUTO_TEST_CASE(a_group_cut_by_a_batch_expires_whole_in_the_queue) {
  // The container takes 200 ms a batch of at most 4: a 10-row group with
  // 50 ms to live gets its first 4 rows in a batch, and the other 6 expire
  // in the queue; the group fails once, with a timeout.
  auto model = std::make_shared<sum_model>();
  model->per_batch = 200ms;
  auto b = batcher_for(model, "slow:1", {/*target*/ 5'000'000, 4, 4, 4, 0, 0.9}, 0, 0, 1);
  query_inputs group;
  for (int i = 0; i < 10; ++i)
    group.push_back(numbers({double(i)}));
  auto r = ask<model_outputs>(b, predict_atom::value, group, int64_t{50'000});
  BOOST_REQUIRE(!r);
  BOOST_CHECK_MESSAGE(is(r.error(), errc::timeout), describe(r.error()));
  auto stats = ask<batcher_stats>(b, stats_atom::value);
  BOOST_REQUIRE(stats);
  BOOST_CHECK_EQUAL(stats->queued, 0u);
  BOOST_CHECK_LE(model->queries.load(), 4u);  // the expired rows never reached the model
  // The replica is free again for a query with time to live.
  auto after = ask<std::string>(b, predict_atom::value, numbers({4, 5}), int64_t{5'000'000});
  BOOST_REQUIRE_MESSAGE(after, test::why(after));
  BOOST_CHECK_EQUAL(*after, "9");
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

BOOST_AUTO_TEST_SUITE_END()
