// The tuner's cost model on real measurements: random valid matmul
// candidates are JIT-compiled and timed (1 thread, best of 3 after a
// warm-up), the XGBoost ranking model is trained on the first --train of
// them and scored on the rest by pairwise accuracy (the share of pairs it
// orders as the measurements do; 0.5 is chance), with a learning curve.
// Prints a table and one JSON object on the last line.
//
//   cost_model_bench --size 1024 --count 600 --train 500 [--save data.tsv]
//   cost_model_bench --load data.tsv --train 500     (no measuring)
#include "compiler/codegen/jit.hpp"
#include "compiler/codegen/thread_pool.hpp"
#include "compiler/ir/compile_error.hpp"
#include "compiler/tuning/quick_measure.hpp"
#include "compiler/tuning/cost_model.hpp"
#include "compiler/tuning/features.hpp"
#include "compiler/tuning/search_space.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include "benchmarks/cli_parse.hpp"

using namespace troupe::compiler;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct sample {
  tuning_config config;
  std::vector<float> features;
  double gflops = 0;
};

std::vector<sample> measure_random(const tuning_task& task, size_t count, uint64_t seed) {
  auto space = space_of(task);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint64_t> pick(0, space.size() - 1);
  std::set<uint64_t> seen;
  std::vector<sample> out;
  jit_module jit;
  auto start = std::chrono::steady_clock::now();
  while (out.size() < count && seen.size() < space.size()) {
    auto index = pick(rng);
    if (!seen.insert(index).second)
      continue;
    lowered_func func;
    try {
      func = build_candidate(task, space.at(index), fmt::format("candidate{}", index));
    } catch (const compile_error&) {
      continue;  // invalid for these shapes
    }
    sample s{space.at(index), extract_features(func), 0};
    s.gflops = quick_gflops(jit, task, func);
    out.push_back(std::move(s));
    if (out.size() % 50 == 0)
      fmt::print(stderr, "measured {} in {:.0f} s\n", out.size(), seconds_since(start));
  }
  return out;
}

void save(const std::string& path, const std::vector<sample>& samples) {
  std::ofstream out(path);
  for (auto& s : samples) {
    out << s.gflops;
    for (auto v : s.features)
      out << ' ' << v;
    out << '\n';
  }
}

std::vector<sample> load(const std::string& path) {
  std::ifstream in(path);
  std::vector<sample> samples;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    sample s;
    fields >> s.gflops;
    float v = 0;
    while (fields >> v)
      s.features.push_back(v);
    samples.push_back(std::move(s));
  }
  return samples;
}

double held_out_accuracy(const std::vector<sample>& samples, size_t train) {
  std::vector<std::vector<float>> train_x, test_x;
  std::vector<double> train_y, test_y;
  for (size_t i = 0; i < samples.size(); ++i) {
    bool training = i < train;
    (training ? train_x : test_x).push_back(samples[i].features);
    (training ? train_y : test_y).push_back(samples[i].gflops);
  }
  cost_model model;
  model.train(train_x, train_y);
  return pairwise_accuracy(model.predict(test_x), test_y);
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"The tuner's cost model: pairwise accuracy on measured matmul candidates"};
  int64_t size = 1024;
  size_t count = 600, train = 500;
  uint64_t seed = 42;
  std::string save_path, load_path;
  app.add_option("--size", size, "square matmul size");
  app.add_option("--count", count, "candidates to measure");
  app.add_option("--train", train, "of which the model trains on the first");
  app.add_option("--seed", seed, "picks the random candidates");
  app.add_option("--save", save_path, "write the measurements (gflops, then features) here");
  app.add_option("--load", load_path, "read measurements written by --save instead of measuring");
  TROUPE_BENCH_PARSE(app, argc, argv);

  set_compiler_threads(1);
  tuning_task task{"matmul", {size, size, size}};
  auto start = std::chrono::steady_clock::now();
  auto samples = load_path.empty() ? measure_random(task, count, seed) : load(load_path);
  double measure_seconds = seconds_since(start);
  if (!save_path.empty())
    save(save_path, samples);
  if (samples.size() <= train) {
    fmt::print(stderr, "{} samples: none left to hold out after {} for training\n",
               samples.size(), train);
    return 1;
  }
  double best = 0, worst = HUGE_VAL;
  for (auto& s : samples) {
    best = std::max(best, s.gflops);
    worst = std::min(worst, s.gflops);
  }
  fmt::print("matmul {}: {} candidates ({:.0f} s), {:.1f} to {:.1f} GFLOP/s, {} held out\n", size,
             samples.size(), measure_seconds, worst, best, samples.size() - train);
  fmt::print("{:>8} {:>18}\n", "trained", "pairwise accuracy");
  std::string curve;
  for (size_t n : {50, 100, 200, 300, 400, 500, 1000, 2000}) {
    if (n >= train)
      break;
    // The same held-out tail for every point of the curve.
    std::vector<sample> subset(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(n));
    auto held_out = samples.begin() + static_cast<std::ptrdiff_t>(train);
    subset.insert(subset.end(), held_out, samples.end());
    double a = held_out_accuracy(subset, n);
    fmt::print("{:>8} {:>18.3f}\n", n, a);
    curve += fmt::format("{}\"{}\":{:.3f}", curve.empty() ? "" : ",", n, a);
  }
  start = std::chrono::steady_clock::now();
  double accuracy = held_out_accuracy(samples, train);
  double train_seconds = seconds_since(start);
  fmt::print("{:>8} {:>18.3f}   (train + predict {:.2f} s)\n", train, accuracy, train_seconds);
  fmt::print("{{\"bench\":\"cost_model\",\"size\":{},\"measured\":{},\"train\":{},"
             "\"held_out\":{},\"pairwise_accuracy\":{:.3f},\"curve\":{{{}}},"
             "\"best_gflops\":{:.1f},\"worst_gflops\":{:.1f},\"measure_s\":{:.0f}}}\n",
             size, samples.size(), train, samples.size() - train, accuracy, curve, best, worst,
             measure_seconds);
  return 0;
}
