// The pure parts of the pipeline: AIMD batch sizing and the prediction cache.
#define BOOST_TEST_MODULE batching_and_cache
#include <boost/test/unit_test.hpp>

#include <random>
#include <unordered_map>

#include "actors/serving/aimd_batch_sizer.hpp"
#include "actors/serving/lateness_envelope.hpp"
#include "actors/serving/flat_index.hpp"
#include "actors/serving/prediction_cache.hpp"
#include "messages/serving_types.hpp"

using namespace troupe;
using namespace troupe::serving;

BOOST_AUTO_TEST_SUITE(aimd)

BOOST_AUTO_TEST_CASE(full_batches_under_the_target_grow_the_limit_additively) {
  aimd_batch_sizer s{{/*target*/ 1000, /*initial*/ 1, /*min*/ 1, /*max*/ 64, /*inc*/ 4, 0.9}};
  BOOST_CHECK_EQUAL(s.limit(), 1u);
  s.observe(1, 100);
  BOOST_CHECK_EQUAL(s.limit(), 5u);
  s.observe(5, 100);
  BOOST_CHECK_EQUAL(s.limit(), 9u);
}

BOOST_AUTO_TEST_CASE(partial_batches_do_not_grow_the_limit) {
  aimd_batch_sizer s{{1000, 8, 1, 64, 4, 0.9}};
  s.observe(3, 100);
  BOOST_CHECK_EQUAL(s.limit(), 8u);
}

BOOST_AUTO_TEST_CASE(a_batch_over_the_target_shrinks_the_limit_multiplicatively) {
  aimd_batch_sizer s{{1000, 40, 1, 64, 4, 0.9}};
  s.observe(40, 5000);
  BOOST_CHECK_EQUAL(s.limit(), 36u);
  s.observe(10, 5000);  // a small batch that misses says the limit is far off
  BOOST_CHECK_EQUAL(s.limit(), 9u);
}

BOOST_AUTO_TEST_CASE(the_limit_converges_to_what_the_model_can_do_within_the_target) {
  // A model whose batch of n takes 100 + 50 n us; target 2 ms -> n <= 38.
  aimd_batch_sizer s{{2000, 1, 1, 512, 4, 0.9}};
  for (int i = 0; i < 500; ++i) {
    auto n = s.limit();
    s.observe(n, static_cast<int64_t>(100 + 50 * n));
  }
  BOOST_CHECK_GE(s.limit(), 30u);
  BOOST_CHECK_LE(s.limit(), 42u);
  auto profile = s.profile();
  BOOST_REQUIRE(!profile.empty());
  BOOST_CHECK_GT(profile.back().mean_latency_us, 1000.0);
}

BOOST_AUTO_TEST_CASE(the_limit_stays_within_min_and_max) {
  aimd_batch_sizer s{{1000, 1, 2, 10, 100, 0.1}};
  BOOST_CHECK_EQUAL(s.limit(), 2u);
  s.observe(2, 10);
  BOOST_CHECK_EQUAL(s.limit(), 10u);
  s.observe(10, 1'000'000);
  BOOST_CHECK_EQUAL(s.limit(), 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cache)

BOOST_AUTO_TEST_CASE(a_stored_output_is_found_by_model_and_input) {
  prediction_cache c{1 << 20};
  query_input a{input_kind::doubles, {1, 2, 3}, {}};
  query_input b{input_kind::doubles, {1, 2, 4}, {}};
  c.put("m:1", hash_input(a), "7");
  BOOST_CHECK_EQUAL(c.get("m:1", hash_input(a)).value_or("miss"), "7");
  BOOST_CHECK(!c.get("m:1", hash_input(b)));
  BOOST_CHECK(!c.get("m:2", hash_input(a)));  // another version is another model
  auto s = c.stats();
  BOOST_CHECK_EQUAL(s.hits, 1u);
  BOOST_CHECK_EQUAL(s.misses, 2u);
  BOOST_CHECK_EQUAL(s.entries, 1u);
}

BOOST_AUTO_TEST_CASE(batched_lookups_and_stores_agree_with_single_ones) {
  prediction_cache c{1 << 20, 4};
  std::vector<uint64_t> hashes;
  std::vector<std::string> outputs;
  for (uint64_t i = 0; i < 300; ++i) {
    hashes.push_back(hash_input(query_input{input_kind::doubles, {double(i), 0.5}, {}}));
    outputs.push_back("out" + std::to_string(i));
  }
  // The first 100 stored one by one, the next 200 as a batch.
  for (size_t k = 0; k < 100; ++k)
    c.put("m:1", hashes[k], outputs[k]);
  c.put_many("m:1", {hashes.begin() + 100, hashes.end()}, {outputs.begin() + 100, outputs.end()});
  auto probe = hashes;
  probe.push_back(hash_input(query_input{input_kind::doubles, {-1}, {}}));  // never stored
  auto found = c.get_many("m:1", probe);
  BOOST_REQUIRE_EQUAL(found.size(), 301u);
  for (size_t k = 0; k < 300; ++k)
    BOOST_CHECK_EQUAL(found[k].value_or("miss"), outputs[k]);
  BOOST_CHECK(!found[300]);
  BOOST_CHECK_EQUAL(c.get("m:1", hashes[250]).value_or("miss"), "out250");
  BOOST_CHECK(!c.get_many("m:2", hashes)[0]);  // another model
  c.put_many("m:3", hashes, {outputs.begin(), outputs.begin() + 10});  // sizes differ: refused
  auto s = c.stats();
  BOOST_CHECK_EQUAL(s.insertions, 300u);
  BOOST_CHECK_EQUAL(s.hits, 301u);
  BOOST_CHECK_EQUAL(s.misses, 301u);
}

BOOST_AUTO_TEST_CASE(batched_stores_keep_the_byte_bound_and_evict) {
  prediction_cache c{64 * 1024, 4};
  std::vector<uint64_t> hashes;
  std::vector<std::string> outputs;
  for (uint64_t i = 0; i < 2'000; ++i) {
    hashes.push_back(i * 7919);
    outputs.push_back(std::string(100, 'x'));
  }
  c.put_many("model:1", hashes, outputs);
  auto s = c.stats();
  BOOST_CHECK_LE(s.bytes, 64u * 1024u);
  BOOST_CHECK_GT(s.evictions, 1'000u);
  // The last rows stored are the ones still there, and they are found.
  auto found = c.get_many("model:1", {hashes.end() - 20, hashes.end()});
  for (auto& f : found)
    BOOST_CHECK_EQUAL(f.value_or("miss"), outputs[0]);
}

BOOST_AUTO_TEST_CASE(inputs_that_differ_only_in_length_hash_differently) {
  BOOST_CHECK_NE(hash_input(query_input{input_kind::doubles, {0.0}, {}}),
                 hash_input(query_input{input_kind::doubles, {0.0, 0.0}, {}}));
  BOOST_CHECK_NE(hash_input(query_input{input_kind::bytes, {}, std::string(3, '\0')}),
                 hash_input(query_input{input_kind::bytes, {}, std::string(4, '\0')}));
  BOOST_CHECK_NE(hash_input(query_input{input_kind::doubles, {1, 2}, {}}),
                 hash_input(query_input{input_kind::doubles, {2, 1}, {}}));
}

BOOST_AUTO_TEST_CASE(inputs_of_different_kinds_hash_differently) {
  query_input a{input_kind::doubles, {1}, {}};
  query_input b{input_kind::ints, {1}, {}};
  query_input c{input_kind::strings, {}, "x"};
  query_input d{input_kind::bytes, {}, "x"};
  BOOST_CHECK_NE(hash_input(a), hash_input(b));
  BOOST_CHECK_NE(hash_input(c), hash_input(d));
  BOOST_CHECK_EQUAL(hash_input(a), hash_input(query_input{input_kind::doubles, {1}, {}}));
}

BOOST_AUTO_TEST_CASE(the_cache_never_holds_more_bytes_than_its_capacity) {
  prediction_cache c{64 * 1024, 4};
  for (uint64_t i = 0; i < 10'000; ++i) {
    c.put("model:1", i * 7919, std::string(100, 'x'));
    BOOST_REQUIRE_LE(c.stats().bytes, 64u * 1024u);
  }
  auto s = c.stats();
  BOOST_CHECK_GT(s.evictions, 9'000u);
  BOOST_CHECK_GT(s.entries, 100u);
}

BOOST_AUTO_TEST_CASE(clock_keeps_entries_that_are_hit_while_cold_ones_stream_past) {
  prediction_cache c{32 * 1024, 1};
  c.put("m:1", 1, "hot");
  for (uint64_t i = 100; i < 2'000; ++i) {
    BOOST_REQUIRE(c.get("m:1", 1));  // the hot entry is hit between inserts
    c.put("m:1", i, "cold");
  }
  BOOST_CHECK_EQUAL(c.get("m:1", 1).value_or("evicted"), "hot");
  BOOST_CHECK(!c.get("m:1", 100));  // the first cold one is long gone
}

BOOST_AUTO_TEST_CASE(a_cache_of_capacity_zero_stores_nothing) {
  prediction_cache c{0};
  c.put("m:1", 1, "x");
  BOOST_CHECK(!c.get("m:1", 1));
  BOOST_CHECK_EQUAL(c.stats().entries, 0u);
}

BOOST_AUTO_TEST_CASE(replacing_an_output_keeps_one_entry) {
  prediction_cache c{1 << 20};
  c.put("m:1", 5, "a");
  c.put("m:1", 5, "bb");
  BOOST_CHECK_EQUAL(c.get("m:1", 5).value_or(""), "bb");
  BOOST_CHECK_EQUAL(c.stats().entries, 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cache_index)

BOOST_AUTO_TEST_CASE(the_flat_index_agrees_with_a_map_through_random_puts_and_erases) {
  // Keys clustered in few home positions (low bits alike) make long probe
  // runs, the case backward-shift deletion must get right. (Key 0 is left
  // out: it shares an entry with key 1, by design.)
  flat_index index;
  std::unordered_map<uint64_t, uint32_t> reference;
  std::mt19937_64 rng{7};
  for (int op = 0; op < 200'000; ++op) {
    uint64_t key = (1 + rng() % 3000) << 20 | (rng() % 4);
    if (rng() % 3 == 0) {
      index.erase(key);
      reference.erase(key);
    } else {
      auto value = static_cast<uint32_t>(rng());
      index.put(key, value);
      reference[key] = value;
    }
    if (op % 1000 == 0)
      BOOST_REQUIRE_EQUAL(index.size(), reference.size());
  }
  BOOST_CHECK_EQUAL(index.size(), reference.size());
  for (uint64_t k = 1; k <= 3000; ++k)
    for (uint64_t low = 0; low < 4; ++low) {
      auto key = k << 20 | low;
      auto found = index.find(key);
      auto expected = reference.find(key);
      BOOST_REQUIRE_EQUAL(found.has_value(), expected != reference.end());
      if (found)
        BOOST_REQUIRE_EQUAL(*found, expected->second);
    }
}

BOOST_AUTO_TEST_CASE(cached_outputs_survive_heavy_eviction_under_the_right_keys) {
  // Many more entries than fit: what remains must answer for its own key.
  prediction_cache cache(64 * 1024, 2);
  for (uint64_t i = 0; i < 20'000; ++i)
    cache.put(i % 2 ? "a:1" : "b:1", i * 0x9e3779b97f4a7c15ULL, std::to_string(i));
  size_t found = 0;
  for (uint64_t i = 0; i < 20'000; ++i)
    if (auto hit = cache.get(i % 2 ? "a:1" : "b:1", i * 0x9e3779b97f4a7c15ULL)) {
      BOOST_REQUIRE_EQUAL(*hit, std::to_string(i));
      ++found;
    }
  BOOST_CHECK_GT(found, 100u);
  BOOST_CHECK_LT(found, 20'000u);
  BOOST_CHECK(!cache.get("c:1", 5 * 0x9e3779b97f4a7c15ULL));  // another model, same input
  BOOST_CHECK_EQUAL(cache.stats().entries, found);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(deadline_lateness)

using us = std::chrono::microseconds;

BOOST_AUTO_TEST_CASE(a_later_firing_raises_the_estimate_at_once) {
  lateness_envelope e{us{2000}};
  BOOST_TEST(e.value().count() == 0);
  e.observe(us{300});
  BOOST_TEST(e.value().count() == 300);
  e.observe(us{1200});
  BOOST_TEST(e.value().count() == 1200);
}

BOOST_AUTO_TEST_CASE(earlier_firings_lower_it_slowly) {
  lateness_envelope e{us{2000}};
  e.observe(us{1280});
  e.observe(us{0});
  BOOST_TEST(e.value().count() == 1260);  // a sixty-fourth of the difference
  for (int i = 0; i < 400; ++i)
    e.observe(us{100});
  BOOST_TEST(e.value().count() >= 100);
  BOOST_TEST(e.value().count() < 110);
}

BOOST_AUTO_TEST_CASE(the_estimate_stays_within_its_cap) {
  lateness_envelope e{us{2000}};
  e.observe(us{50'000'000});  // a process stopped for 50 s
  BOOST_TEST(e.value().count() == 2000);
  e.observe(us{-5});  // a clock that went "back"
  BOOST_TEST(e.value().count() <= 2000);
  BOOST_TEST(e.value().count() >= 0);
}

BOOST_AUTO_TEST_SUITE_END()
