// One NCHWc convolution under given tuning configs, two ways each: the
// tuner's standalone candidate (what `troupe tune` measures: the
// convolution alone) and the layer as a model runs it (graph_executor:
// padding, convolution, bias and ReLU fused, the config applied as a tuned
// record). Interleaved rounds, warm caches, the best round each. Shows
// whether what the tuner ranks is what a model gets.
//
//   conv_config_bench --shape 256,14,14,512,3,2,1 --config 7,4,1,0,0 --config 7,2,1,0,0
#include "benchmarks/interleaved_timing.hpp"
#include "benchmarks/random_values.hpp"
#include "compiler/codegen/jit.hpp"
#include "compiler/codegen/thread_pool.hpp"
#include "compiler/executor/graph_executor.hpp"
#include "compiler/ir/compile_error.hpp"
#include "compiler/tuning/graph_tasks.hpp"
#include "compiler/tuning/search_space.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>
#include <random>
#include <sstream>
#include "benchmarks/cli_parse.hpp"

using namespace troupe::compiler;
using troupe::bench::random_values;

namespace {


tuning_config parse_config(const std::string& text) {
  tuning_config config;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ','))
    config.push_back(std::stoll(part));
  return config;
}

// The convolution + bias + ReLU layer of conv_bench, with `config` as its
// tuned record (empty: the template's default).
std::function<void()> layer_runner(const tuning_task& task, const tuning_config& config) {
  auto& s = task.shape;  // C, H, W, K, R, stride, pad
  int64_t c = s[0], h = s[1], w = s[2], k = s[3], r = s[4];
  int64_t cb = 1;
  for (int64_t d = std::min<int64_t>(16, c); d > 1; --d)
    if (c % d == 0) {
      cb = d;
      break;
    }
  graph g;
  int data = g.add_input("data", {1, c / cb, h, w, cb});
  int weight = g.add_constant("weight", {k / 16, c / cb, r, r, cb, 16}, random_values(k * c * r * r, 2));
  int bias = g.add_constant("bias", {k}, random_values(k, 3));
  int conv = g.add_op("conv2d_nchwc", {data, weight, bias},
                      {{"strides", {s[5], s[5]}}, {"pads", {s[6], s[6]}}}, {}, "conv");
  g.mark_output(g.add_op("relu", {conv}, {}, {}, "relu"));
  auto optimized = optimize_graph(g, {false, false, true});
  tuned_configs configs;
  if (!config.empty())
    for (auto& t : extract_tuning_tasks(optimized))
      configs[t.task.name()] = config;
  struct compiled {
    std::unique_ptr<graph_executor> executor;
    std::vector<float> input, output;
  };
  auto x = std::make_shared<compiled>();
  x->executor = std::make_unique<graph_executor>(optimized, configs);
  if (!config.empty() && x->executor->tuned_function_count() == 0)
    throw std::runtime_error("the layer's task is not " + task.name());
  auto& model = x->executor->model();
  x->input = random_values(model.elements(model.inputs[0]), 1);
  x->output.resize(static_cast<size_t>(model.elements(model.outputs[0])));
  return [x] { x->executor->run({x->input.data()}, {x->output.data()}); };
}

std::function<void()> candidate_runner(jit_module& jit, const tuning_task& task,
                                       const tuning_config& config, const std::string& name) {
  auto fn = jit.compile(build_candidate(task, config, name));
  auto buffers = std::make_shared<std::vector<std::vector<float>>>();
  auto args = std::make_shared<std::vector<void*>>();
  unsigned seed = 1;
  for (auto n : parameter_sizes(task))
    buffers->push_back(random_values(n, seed++));
  for (auto& b : *buffers)
    args->push_back(b.data());
  return [fn, buffers, args] { fn(args->data()); };
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"One convolution under tuning configs: the tuner's candidate against the model's layer"};
  std::vector<int64_t> shape{256, 14, 14, 512, 3, 2, 1};
  std::vector<std::string> configs;
  double min_seconds = 0.05;
  int rounds = 9;
  app.add_option("--shape", shape, "C,H,W,K,R,stride,pad")->delimiter(',')->capture_default_str();
  app.add_option("--config", configs, "a conv2d config (reg_n,oc_tile,reg_h,taps_outer,unroll_taps); "
                                      "repeatable; the default config is always added")
    ->required();
  app.add_option("--min-seconds", min_seconds, "length of one timed round");
  app.add_option("--rounds", rounds, "interleaved rounds (the best counts)");
  TROUPE_BENCH_PARSE(app, argc, argv);
  try {
    set_compiler_threads(1);
    tuning_task task{"conv2d", shape};
    auto d = default_config(task);
    std::vector<tuning_config> list;
    if (d)
      list.push_back(*d);
    for (auto& text : configs) {
      auto config = parse_config(text);
      auto why = config_refusal(task, config);
      if (!why.empty())
        throw compile_error("config " + text + ": " + why);
      if (std::find(list.begin(), list.end(), config) == list.end())
        list.push_back(config);
    }
    jit_module jit;
    std::vector<std::function<void()>> runs;
    for (size_t i = 0; i < list.size(); ++i) {
      runs.push_back(candidate_runner(jit, task, list[i], fmt::format("candidate{}", i)));
      runs.push_back(layer_runner(task, list[i]));
    }
    auto best = troupe::bench::interleaved_best_seconds(runs, min_seconds, rounds);
    auto space = space_of(task);
    fmt::print("{}: {} interleaved rounds, warm, 1 thread\n", task.name(), rounds);
    fmt::print("{:>14} {:>14}  {}\n", "candidate ms", "layer ms", "config");
    for (size_t i = 0; i < list.size(); ++i)
      fmt::print("{:>14.3f} {:>14.3f}  {}{}\n", best[2 * i] * 1e3, best[2 * i + 1] * 1e3,
                 space.describe(list[i]), d && list[i] == *d ? "  (default)" : "");
  } catch (const std::exception& e) {
    fmt::print(stderr, "conv_config_bench: {}\n", e.what());
    return 1;
  }
  return 0;
}
