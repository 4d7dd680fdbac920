// cache_bench: the prediction cache's cost per row when every row is new
// (scenario (b'') of serving_compare.sh: 512 unique rows per request, each
// a miss, an insertion and, once the cache is full, an eviction).
//
// Two ways through the same cache, rounds interleaved:
//   - one by one: get() then put() per row, what a single-row query costs;
//   - batched: get_many() and put_many() per batch, what an app does with a
//     batch request (rows grouped by shard, one lock each, the index cells
//     prefetched before they are used).
// The cache is filled before timing, so every insertion also evicts.
//
//   cache_bench [--mb 4 16 64] [--batch 512] [--rounds 3] [--seconds 1]
//
// A table goes to stderr, one JSON object to the last stdout line.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "actors/serving/prediction_cache.hpp"
#include "benchmarks/cli_parse.hpp"

namespace {

using troupe::serving::prediction_cache;
using clock_type = std::chrono::steady_clock;

struct options {
  std::vector<uint64_t> mb{4, 16, 64};
  size_t batch = 512;
  int rounds = 3;
  double seconds = 1;
};

struct workload {
  std::mt19937_64 rng{1};
  std::vector<uint64_t> hashes;
  std::vector<std::string> outputs;
  const std::string model = "bench_xgb:1";

  explicit workload(size_t batch) : hashes(batch), outputs(batch, "0.8734215") {}

  void next_batch() {
    for (auto& h : hashes)
      h = rng();
  }
};

void one_by_one(prediction_cache& cache, workload& w) {
  for (auto h : w.hashes)
    if (!cache.get(w.model, h))
      cache.put(w.model, h, w.outputs.front());
}

void batched(prediction_cache& cache, workload& w) {
  auto found = cache.get_many(w.model, w.hashes);
  (void) found;
  cache.put_many(w.model, w.hashes, w.outputs);
}

/// Nanoseconds per row of `step` over about `seconds`.
template <class Step>
double ns_per_row(prediction_cache& cache, workload& w, double seconds, Step step) {
  size_t rows = 0;
  auto start = clock_type::now();
  auto until = start + std::chrono::duration<double>(seconds);
  while (clock_type::now() < until) {
    for (int i = 0; i < 16; ++i) {
      w.next_batch();
      step(cache, w);
      rows += w.hashes.size();
    }
  }
  std::chrono::duration<double, std::nano> spent = clock_type::now() - start;
  return spent.count() / static_cast<double>(rows);
}

/// A cache of `mb` MiB, filled with unique rows so that every later
/// insertion evicts.
prediction_cache filled_cache(uint64_t mb, workload& w) {
  prediction_cache cache(mb << 20);
  while (cache.stats().evictions == 0) {
    w.next_batch();
    cache.put_many(w.model, w.hashes, w.outputs);
  }
  return cache;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"cache_bench: the prediction cache's cost per unique row, one by one against "
               "batched"};
  app.add_option("--mb", o.mb, "cache sizes in MiB")->capture_default_str();
  app.add_option("--batch", o.batch, "rows per batch")->capture_default_str()->check(
    CLI::Range(size_t{1}, size_t{1} << 20));
  app.add_option("--rounds", o.rounds, "interleaved rounds")->capture_default_str()->check(
    CLI::PositiveNumber);
  app.add_option("--seconds", o.seconds, "seconds per measurement")->capture_default_str()
    ->check(CLI::PositiveNumber);
  TROUPE_BENCH_PARSE(app, argc, argv);

  nlohmann::json result = {{"batch", o.batch}, {"rounds", o.rounds}, {"sizes", nlohmann::json::array()}};
  std::cerr << fmt::format("{:>8} {:>22} {:>22} {:>8}\n", "MiB", "one by one ns/row",
                           "batched ns/row", "ratio");
  for (auto mb : o.mb) {
    workload w(o.batch);
    auto single_cache = filled_cache(mb, w);
    auto batch_cache = filled_cache(mb, w);
    std::vector<double> single, many;
    for (int r = 0; r < o.rounds; ++r) {
      single.push_back(ns_per_row(single_cache, w, o.seconds, one_by_one));
      many.push_back(ns_per_row(batch_cache, w, o.seconds, batched));
    }
    auto s = median(single), m = median(many);
    auto entries = batch_cache.stats().entries;
    std::cerr << fmt::format("{:>8} {:>22.1f} {:>22.1f} {:>8.2f}   ({} entries)\n", mb, s, m,
                             s / m, entries);
    result["sizes"].push_back({{"mb", mb},
                               {"entries", entries},
                               {"one_by_one_ns_per_row", single},
                               {"batched_ns_per_row", many},
                               {"median_ratio", s / m}});
  }
  std::cout << result.dump() << std::endl;
}
