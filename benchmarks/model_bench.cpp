// Whole models, batch as exported: Troupe's compiled graph against libtorch
// (TorchScript, the same weights) in the same process, interleaved blocks
// of runs; fused against unfused; the static memory plan against one
// buffer per tensor. And the fused dense+bias+relu against plain dense and
// against the three operators unfused. Prints a table and one JSON object
// on the last line. The models come from compiler_compare.sh (torch.onnx
// export and torch.jit.trace of the same module).
//
//   model_bench --models DIR --names resnet18,mlp [--threads 1]
#include "compiler/codegen/thread_pool.hpp"
#include "compiler/executor/graph_executor.hpp"
#include "compiler/frontend/onnx_import.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <ATen/Parallel.h>
#include <torch/script.h>

#include <chrono>
#include <fstream>
#include <random>
#include "benchmarks/cli_parse.hpp"
#include "runtime/blas_kernels.hpp"

using namespace troupe::compiler;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <class F>
double best_seconds(F&& run, int runs) {
  double best = 1e30;
  for (int i = 0; i < runs; ++i) {
    double start = now();
    run();
    best = std::min(best, now() - start);
  }
  return best;
}

std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot open " + path + " (run benchmarks/compiler_compare.sh)");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> values(bytes.size() / 4);
  std::memcpy(values.data(), bytes.data(), values.size() * 4);
  return values;
}

std::vector<float> random_values(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-0.05f, 0.05f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v)
    x = dist(rng);
  return v;
}

struct dense_times {
  double plain, fused, unfused;
};

// dense(x[batch, k], W[n, k]) alone; with bias and relu fused; the same
// three operators as separate functions.
dense_times dense_epilogue(int64_t batch, int64_t k, int64_t n, int runs) {
  auto build = [&](bool epilogue) {
    graph g;
    int x = g.add_input("x", {batch, k});
    int w = g.add_constant("w", {n, k}, random_values(n * k, 1));
    int y = g.add_op("dense", {x, w}, {}, {}, "dense");
    if (epilogue) {
      int b = g.add_constant("b", {n}, random_values(n, 2));
      y = g.add_op("relu", {g.add_op("bias_add", {y, b}, {{"axis", {1}}}, {}, "bias")}, {}, {}, "relu");
    }
    g.mark_output(y);
    return g;
  };
  graph_executor plain(optimize_graph(build(false)));
  graph_executor fused(optimize_graph(build(true)));
  graph_executor unfused(optimize_graph(build(true), {true, true, false}));
  auto input = random_values(batch * k, 3);
  std::vector<float> output(static_cast<size_t>(batch * n));
  auto time = [&](graph_executor& e) {
    return best_seconds([&] { e.run({input.data()}, {output.data()}); }, runs);
  };
  dense_times t{1e30, 1e30, 1e30};
  for (int round = 0; round < 3; ++round) {
    t.plain = std::min(t.plain, time(plain));
    t.fused = std::min(t.fused, time(fused));
    t.unfused = std::min(t.unfused, time(unfused));
  }
  return t;
}

} // namespace

int main(int argc, char** argv) {
  // libtorch, the baseline, on the BLAS kernels the CPU supports
  // (runtime/blas_kernels.hpp): a fair baseline.
  troupe::reexec_with_better_openblas_kernels(argv);
  CLI::App app{"Whole models: Troupe's compiler against libtorch"};
  std::string dir = "/tmp/troupe-compiler-models";
  std::vector<std::string> names{"resnet18", "mlp"};
  int threads = 1;
  int runs = 20;
  app.add_option("--models", dir, "folder with NAME.onnx, NAME.pt, NAME.in (compiler_compare.sh)");
  app.add_option("--names", names, "models to run")->delimiter(',');
  app.add_option("--threads", threads, "threads for both");
  app.add_option("--runs", runs, "timed runs per block (the best counts)");
  TROUPE_BENCH_PARSE(app, argc, argv);
  set_compiler_threads(threads);
  at::set_num_threads(threads);

  std::string json = fmt::format("{{\"benchmark\":\"models\",\"threads\":{},\"models\":[", threads);
  fmt::print("{:<10} {:>10} {:>10} {:>8} {:>11} {:>10} {:>12} {:>12} {:>9}\n", "model", "troupe ms",
             "torch ms", "speedup", "unfused ms", "compile s", "planned KiB", "naive KiB", "max err");
  for (size_t m = 0; m < names.size(); ++m) {
    auto& name = names[m];
    double start = now();
    auto g = import_onnx(dir + "/" + name + ".onnx");
    graph_executor compiled(optimize_graph(g));
    double compile_seconds = now() - start;
    graph_executor unfused(optimize_graph(g, {true, true, false}));
    auto input = read_floats(dir + "/" + name + ".in");
    auto& model = compiled.model();
    std::vector<float> output(static_cast<size_t>(model.elements(model.outputs[0])));

    auto module = torch::jit::load(dir + "/" + name + ".pt");
    module.eval();
    auto shape = std::vector<int64_t>(model.node(model.inputs[0]).shape);
    auto x = torch::from_blob(input.data(), shape, torch::kFloat32).clone();
    at::Tensor torch_output;
    double ours = 1e30, theirs = 1e30, ours_unfused = 1e30;
    for (int round = 0; round < 3; ++round) {
      ours = std::min(ours, best_seconds([&] { compiled.run({input.data()}, {output.data()}); }, runs));
      ours_unfused = std::min(
          ours_unfused, best_seconds([&] { unfused.run({input.data()}, {output.data()}); }, runs));
      theirs = std::min(theirs, best_seconds([&] {
        c10::InferenceMode guard;
        torch_output = module.forward({x}).toTensor();
      }, runs));
    }
    compiled.run({input.data()}, {output.data()});
    auto reference = torch_output.contiguous();
    double max_error = 0;
    for (size_t i = 0; i < output.size(); ++i) {
      double r = reference.data_ptr<float>()[i];
      max_error = std::max(max_error, std::abs(output[i] - r) / (1 + std::abs(r)));
    }
    auto& plan = compiled.plan();
    fmt::print("{:<10} {:>10.3f} {:>10.3f} {:>8.2f} {:>11.3f} {:>10.2f} {:>12} {:>10} {:>9.1e}\n",
               name, ours * 1e3, theirs * 1e3, theirs / ours, ours_unfused * 1e3, compile_seconds,
               plan.planned_bytes / 1024, plan.naive_bytes / 1024, max_error);
    json += fmt::format("{}{{\"model\":\"{}\",\"troupe_ms\":{:.3f},\"torch_ms\":{:.3f},"
                        "\"speedup\":{:.3f},\"unfused_ms\":{:.3f},\"compile_s\":{:.2f},"
                        "\"planned_bytes\":{},\"naive_bytes\":{},\"max_error\":{:.1e}}}",
                        m ? "," : "", name, ours * 1e3, theirs * 1e3, theirs / ours,
                        ours_unfused * 1e3, compile_seconds, plan.planned_bytes, plan.naive_bytes,
                        max_error);
  }
  auto d = dense_epilogue(64, 1024, 1024, runs);
  fmt::print("dense 64x1024x1024: plain {:.3f} ms, fused +bias+relu {:.3f} ms ({:.3f}x), "
             "three operators unfused {:.3f} ms ({:.3f}x)\n",
             d.plain * 1e3, d.fused * 1e3, d.fused / d.plain, d.unfused * 1e3, d.unfused / d.plain);
  fmt::print("{}],\"dense_plain_ms\":{:.3f},\"dense_fused_ms\":{:.3f},\"dense_unfused_ms\":{:.3f},"
             "\"fused_over_plain\":{:.3f}}}\n",
             json, d.plain * 1e3, d.fused * 1e3, d.unfused * 1e3, d.fused / d.plain);
  return 0;
}
