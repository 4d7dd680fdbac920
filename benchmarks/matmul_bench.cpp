// fp32 matmul: Troupe's compiled schedule against OpenBLAS (cblas_sgemm)
// in the same process, same inputs, interleaved repeats, 1 or 2 threads.
// Prints a table and one JSON object on the last line.
//
//   matmul_bench --sizes 512,1024,2048 --threads 1 [--tile-m 8 --tile-n 32 --unroll-k 4]
//                [--tensorize --block-k 256]
#include "compiler/codegen/jit.hpp"
#include "compiler/codegen/thread_pool.hpp"
#include "compiler/lower/lower.hpp"
#include "compiler/schedules/matmul_schedule.hpp"

#include <CLI/CLI.hpp>
#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>
#include <thread>

#include <unistd.h>
#include "benchmarks/cli_parse.hpp"
#include "runtime/blas_kernels.hpp"

extern "C" void openblas_set_num_threads(int);

using namespace troupe::compiler;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"fp32 matmul: Troupe's compiler against OpenBLAS"};
  std::vector<int64_t> sizes{512, 1024, 2048};
  int threads = 1;
  int repeats = 7;
  matmul_config config;
  app.add_option("--sizes", sizes, "square sizes to run")->delimiter(',');
  app.add_option("--threads", threads, "threads for both (1 or 2 here)");
  app.add_option("--repeats", repeats, "timed repeats of each (the best counts)");
  app.add_option("--tile-m", config.tile_m, "rows of the register tile");
  app.add_option("--tile-n", config.tile_n, "columns of the register tile");
  app.add_option("--unroll-k", config.unroll_k, "reduction steps unrolled");
  bool rows_outer = !config.columns_outer;
  app.add_flag("--rows-outer", rows_outer,
               "iterate row tiles outside column panels (the knob columns_outer = false)");
  app.add_flag("--tensorize", config.tensorize, "tensorize the tile with the AVX-512 gemm kernel");
  app.add_option("--block-k", config.block_k, "reduction block of the tensorized kernel (0: K)");
  TROUPE_BENCH_PARSE(app, argc, argv);
  config.columns_outer = !rows_outer;

  // A fair baseline: OpenBLAS on the kernels the CPU supports, also where it
  // does not recognise the CPU (runtime/blas_kernels.hpp).
  troupe::reexec_with_better_openblas_kernels(argv);
  fmt::print("OpenBLAS core type: {}\n", std::getenv("OPENBLAS_CORETYPE") ? std::getenv("OPENBLAS_CORETYPE") : "auto");

  set_compiler_threads(threads);
  openblas_set_num_threads(threads);
  config.parallel = threads > 1;
  std::string json = "{\"benchmark\":\"matmul\",\"threads\":" + std::to_string(threads) + ",\"results\":[";
  fmt::print("{:>6} {:>14} {:>14} {:>8} {:>10}\n", "n", "troupe GF/s", "openblas GF/s", "ratio",
             "max err");
  for (size_t index = 0; index < sizes.size(); ++index) {
    int64_t n = sizes[index];
    auto kernel = make_matmul(n, n, n, config);
    auto start = std::chrono::steady_clock::now();
    auto func = lower(*kernel.sched, kernel.args(), fmt::format("matmul_{}", n));
    jit_module jit;
    auto compiled = jit.compile(func);
    double compile_seconds = seconds_since(start);

    size_t count = static_cast<size_t>(n * n);
    std::vector<float> a(count), b(count), c(count), reference(count);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> dist(-1, 1);
    for (auto& x : a) x = dist(rng);
    for (auto& x : b) x = dist(rng);
    void* args[] = {a.data(), b.data(), c.data()};
    // Blocks of repeats, alternating: OpenBLAS's threads spin after a call
    // and would slow a call of ours right after it (and ours after ours).
    // OpenBLAS's idle threads spin for a while after a call (and ours for
    // 0.2 ms): a pause between blocks keeps one side's spinning off the
    // other's measurement.
    auto settle = [] { std::this_thread::sleep_for(std::chrono::milliseconds(300)); };
    double best_troupe = 1e30, best_blas = 1e30;
    for (int round = 0; round < 3; ++round) {
      settle();
      for (int r = 0; r < repeats + 1; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        compiled(args);
        if (r > 0)
          best_troupe = std::min(best_troupe, seconds_since(t0));
      }
      settle();
      for (int r = 0; r < repeats + 1; ++r) {
        auto t1 = std::chrono::steady_clock::now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n),
                    static_cast<int>(n), static_cast<int>(n), 1.0f, a.data(), static_cast<int>(n),
                    b.data(), static_cast<int>(n), 0.0f, reference.data(), static_cast<int>(n));
        if (r > 0)
          best_blas = std::min(best_blas, seconds_since(t1));
      }
    }
    double max_error = 0;
    for (size_t i = 0; i < count; ++i)
      max_error = std::max(max_error, static_cast<double>(std::abs(c[i] - reference[i])));
    double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
    double troupe_gflops = flops / best_troupe / 1e9, blas_gflops = flops / best_blas / 1e9;
    fmt::print("{:>6} {:>14.1f} {:>14.1f} {:>8.3f} {:>10.2e}   (compile {:.2f} s)\n", n,
               troupe_gflops, blas_gflops, troupe_gflops / blas_gflops, max_error, compile_seconds);
    json += fmt::format("{}{{\"n\":{},\"troupe_gflops\":{:.1f},\"openblas_gflops\":{:.1f},"
                        "\"ratio\":{:.3f},\"max_error\":{:.2e}}}",
                        index ? "," : "", n, troupe_gflops, blas_gflops,
                        troupe_gflops / blas_gflops, max_error);
    if (max_error > 1e-2) {
      fmt::print(stderr, "wrong result: max error {} against OpenBLAS\n", max_error);
      return 1;
    }
  }
  fmt::print("{}]}}\n", json);
  return 0;
}
