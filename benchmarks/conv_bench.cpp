// ResNet-18's convolutions (and two depthwise ones), batch 1, fp32, with a
// fused ReLU: Troupe's compiled NCHW16c kernels against oneDNN's (its own
// preferred blocked layouts, chosen with format_tag::any) in the same run.
// Timed: one convolution + ReLU function on blocked data (a depthwise row
// times the depthwise_conv2d_nchwc group that transform_layout makes of a
// groups = C conv2d); layout transforms and weight packing are outside the
// timed region for both. Compare times, not GFLOP/s. The sides' timed
// rounds interleave, the best round of each counts; with --records the
// untuned schedule is a third side. Prints a table and one JSON object on
// the last line.
//
//   conv_bench [--threads 1] [--min-seconds 0.05] [--rounds 9] [--records STORE]
#include "benchmarks/interleaved_timing.hpp"
#include "benchmarks/random_values.hpp"
#include "compiler/codegen/thread_pool.hpp"
#include "compiler/executor/graph_executor.hpp"
#include "compiler/ops/conv.hpp"
#include "compiler/passes/transform_layout.hpp"
#include "compiler/tuning/graph_tasks.hpp"
#include "compiler/tuning/tuning_records.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <chrono>
#include <memory>
#include <cstdlib>
#include <functional>
#include <random>
#include <stdexcept>

#include <unistd.h>
#include "benchmarks/cli_parse.hpp"

using namespace troupe::compiler;
using troupe::bench::random_values;

namespace {

struct layer {
  const char* name;
  int64_t c, h, w, k, r, stride, pad, groups;
};


std::function<void()> onednn_runner(const layer& l, int64_t oh, int64_t ow) {
  using namespace dnnl;
  using tag = memory::format_tag;
  using dt = memory::data_type;
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  memory::dims src{1, l.c, l.h, l.w}, dst{1, l.k, oh, ow}, bias{l.k};
  memory::dims weights = l.groups == 1 ? memory::dims{l.k, l.c, l.r, l.r}
                                       : memory::dims{l.groups, l.k / l.groups, l.c / l.groups, l.r, l.r};
  auto desc = convolution_forward::desc(
      prop_kind::forward_inference, algorithm::convolution_direct, memory::desc(src, dt::f32, tag::any),
      memory::desc(weights, dt::f32, tag::any), memory::desc(bias, dt::f32, tag::x),
      memory::desc(dst, dt::f32, tag::any), {l.stride, l.stride}, {l.pad, l.pad}, {l.pad, l.pad});
  post_ops ops;
  ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
  primitive_attr attr;
  attr.set_post_ops(ops);
  convolution_forward::primitive_desc pd(desc, attr, eng);
  memory source(pd.src_desc(), eng), weight(pd.weights_desc(), eng), b(pd.bias_desc(), eng),
      destination(pd.dst_desc(), eng);
  auto fill = [](memory& m, unsigned seed) {
    auto values = random_values(static_cast<int64_t>(m.get_desc().get_size() / 4), seed);
    std::copy(values.begin(), values.end(), static_cast<float*>(m.get_data_handle()));
  };
  fill(source, 1);
  fill(weight, 2);
  fill(b, 3);
  // oneDNN's objects are reference-counted handles: the runner owns copies.
  convolution_forward conv(pd);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, source}, {DNNL_ARG_WEIGHTS, weight},
                                       {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, destination}};
  return [eng, s, conv, args]() mutable {
    conv.execute(s, args);
    s.wait();
  };
}

/// Our compiled layer; with `records`, its tuned schedule when they hold
/// one (`*tuned` says whether any was applied).
std::function<void()> troupe_runner(const layer& l, tuning_records* records, bool* tuned) {
  graph g;
  int out;
  if (l.groups == 1) {
    int64_t cb = 1;
    for (int64_t d = std::min<int64_t>(16, l.c); d > 1; --d)
      if (l.c % d == 0) {
        cb = d;
        break;
      }
    int data = g.add_input("data", {1, l.c / cb, l.h, l.w, cb});
    int weight = g.add_constant("weight", {l.k / 16, l.c / cb, l.r, l.r, cb, 16},
                                random_values(l.k * l.c * l.r * l.r, 2));
    int bias = g.add_constant("bias", {l.k}, random_values(l.k, 3));
    int conv = g.add_op("conv2d_nchwc", {data, weight, bias},
                        {{"strides", {l.stride, l.stride}}, {"pads", {l.pad, l.pad}}}, {}, "conv");
    out = g.add_op("relu", {conv}, {}, {}, "relu");
  } else {
    // Depthwise: the graph transform_layout makes of a plain groups = C
    // conv2d (checked here), with its blocked input fed directly.
    int64_t block = 16;
    graph plain;
    int x = plain.add_input("data", {1, l.c, l.h, l.w});
    int w = plain.add_constant("weight", {l.c, 1, l.r, l.r}, random_values(l.c * l.r * l.r, 2));
    plain.mark_output(plain.add_op("conv2d", {x, w},
                                   {{"strides", {l.stride, l.stride}}, {"pads", {l.pad, l.pad}},
                                    {"groups", {l.groups}}}, {}, "conv"));
    bool blocked = false;
    for (auto& n : transform_layout(plain).nodes)
      blocked = blocked || n.op == "depthwise_conv2d_nchwc";
    if (!blocked)
      throw std::runtime_error(fmt::format("{}: transform_layout left the depthwise conv NCHW", l.name));
    int data = g.add_input("data", {1, l.c / block, l.h, l.w, block});
    int weight = g.add_constant("weight", {l.c, 1, l.r, l.r}, random_values(l.c * l.r * l.r, 2));
    int packed = g.add_op("pack_depthwise_weight", {weight}, {{"block", {block}}}, {}, "packed");
    int conv = g.add_op("depthwise_conv2d_nchwc", {data, packed},
                        {{"strides", {l.stride, l.stride}}, {"pads", {l.pad, l.pad}}}, {}, "conv");
    out = g.add_op("relu", {conv}, {}, {}, "relu");
  }
  g.mark_output(out);
  auto optimized = optimize_graph(g, {false, false, true});
  // The best tuned schedule of this convolution, if a records store has one.
  tuned_configs configs;
  if (records && l.groups == 1)
    for (auto& t : extract_tuning_tasks(optimized))
      if (auto best = records->best(t.task))
        configs[t.task.name()] = best->config;
  struct compiled {
    std::unique_ptr<graph_executor> executor;
    std::vector<float> input, output;
  };
  auto c = std::make_shared<compiled>();
  c->executor = std::make_unique<graph_executor>(optimized, configs);
  auto& model = c->executor->model();
  *tuned = c->executor->tuned_function_count() > 0;
  c->input = random_values(model.elements(model.inputs[0]), 1);
  c->output.resize(static_cast<size_t>(model.elements(model.outputs[0])));
  return [c] { c->executor->run({c->input.data()}, {c->output.data()}); };
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"ResNet-18 convolutions: Troupe's compiler against oneDNN"};
  int threads = 1;
  double min_seconds = 0.05;
  app.add_option("--threads", threads, "threads for both");
  app.add_option("--min-seconds", min_seconds, "length of one timed round");
  int rounds = 9;
  app.add_option("--rounds", rounds, "timed rounds of each side, interleaved (the best counts)");
  std::string records_dir;
  app.add_option("--records", records_dir, "a tuning records store (troupe tune --store): layers "
                                           "with a tuned schedule use it (marked * in the table)");
  TROUPE_BENCH_PARSE(app, argc, argv);
  // oneDNN (Debian's OpenMP build) reads OMP_NUM_THREADS when the OpenMP
  // runtime loads: set it and re-exec, else it uses every core.
  auto wanted = std::to_string(threads);
  auto* current = std::getenv("OMP_NUM_THREADS");
  if (!current || wanted != current) {
    setenv("OMP_NUM_THREADS", wanted.c_str(), 1);
    execv("/proc/self/exe", argv);
  }
  set_compiler_threads(threads);
  std::unique_ptr<tuning_records> records;
  if (!records_dir.empty())
    records = std::make_unique<tuning_records>(records_dir);
  std::vector<layer> layers = {
      {"r18 7x7 s2 224 3->64", 3, 224, 224, 64, 7, 2, 3, 1},
      {"r18 3x3 56 64->64", 64, 56, 56, 64, 3, 1, 1, 1},
      {"r18 3x3 s2 56 64->128", 64, 56, 56, 128, 3, 2, 1, 1},
      {"r18 3x3 28 128->128", 128, 28, 28, 128, 3, 1, 1, 1},
      {"r18 3x3 s2 28 128->256", 128, 28, 28, 256, 3, 2, 1, 1},
      {"r18 3x3 14 256->256", 256, 14, 14, 256, 3, 1, 1, 1},
      {"r18 3x3 s2 14 256->512", 256, 14, 14, 512, 3, 2, 1, 1},
      {"r18 3x3 7 512->512", 512, 7, 7, 512, 3, 1, 1, 1},
      {"dw 3x3 112 32", 32, 112, 112, 32, 3, 1, 1, 32},
      {"dw 3x3 14 512", 512, 14, 14, 512, 3, 1, 1, 512},
  };
  // With --records the untuned schedule runs too, in the same interleaved
  // rounds: what tuning buys is measured in the same machine states.
  bool compare_untuned = records != nullptr;
  fmt::print("{:<26} {:>11} {:>11} {:>8}", "layer", "troupe ms", "oneDNN ms", "speed");
  if (compare_untuned)
    fmt::print(" {:>11} {:>8}", "untuned ms", "speed");
  fmt::print("\n");
  std::string json = fmt::format("{{\"benchmark\":\"conv\",\"threads\":{},\"rounds\":{},\"layers\":[",
                                 threads, rounds);
  double dense_sum = 0, depthwise_sum = 0, untuned_sum = 0;
  int dense_count = 0, depthwise_count = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    auto& l = layers[i];
    int64_t oh = ops::conv_output_size(l.h, l.r, l.stride, l.pad);
    int64_t ow = ops::conv_output_size(l.w, l.r, l.stride, l.pad);
    bool tuned = false, untuned_flag = false;
    std::vector<std::function<void()>> runs{troupe_runner(l, records.get(), &tuned),
                                            onednn_runner(l, oh, ow)};
    if (compare_untuned)
      runs.push_back(troupe_runner(l, nullptr, &untuned_flag));
    auto best = troupe::bench::interleaved_best_seconds(runs, min_seconds, rounds);
    double ours = best[0], theirs = best[1];
    double speed = theirs / ours;  // 1.0: as fast as oneDNN
    (l.groups == 1 ? dense_sum : depthwise_sum) += speed;
    ++(l.groups == 1 ? dense_count : depthwise_count);
    fmt::print("{:<26} {:>10.3f}{} {:>11.3f} {:>8.2f}", l.name, ours * 1e3, tuned ? "*" : " ",
               theirs * 1e3, speed);
    json += fmt::format("{}{{\"layer\":\"{}\",\"troupe_ms\":{:.3f},\"onednn_ms\":{:.3f},\"speed\":{:.3f}",
                        i ? "," : "", l.name, ours * 1e3, theirs * 1e3, speed);
    if (compare_untuned) {
      double untuned_speed = theirs / best[2];
      if (l.groups == 1)
        untuned_sum += untuned_speed;
      fmt::print(" {:>11.3f} {:>8.2f}", best[2] * 1e3, untuned_speed);
      json += fmt::format(",\"untuned_ms\":{:.3f},\"untuned_speed\":{:.3f}", best[2] * 1e3,
                          untuned_speed);
    }
    fmt::print("\n");
    json += "}";
  }
  fmt::print("mean speed against oneDNN: conv {:.2f}, depthwise {:.2f}", dense_sum / dense_count,
             depthwise_sum / depthwise_count);
  if (compare_untuned)
    fmt::print("; untuned conv {:.2f}", untuned_sum / dense_count);
  fmt::print("\n");
  json += fmt::format("],\"mean_conv_speed\":{:.3f},\"mean_depthwise_speed\":{:.3f}", dense_sum / dense_count,
                      depthwise_sum / depthwise_count);
  if (compare_untuned)
    json += fmt::format(",\"mean_untuned_conv_speed\":{:.3f}", untuned_sum / dense_count);
  fmt::print("{}}}\n", json);
  return 0;
}
