// The autotuner on matmul: model-guided against random search, several
// seeds, the same trial budget; then the best tuned config against OpenBLAS
// (its AVX-512 kernels, see matmul_bench) in this process. Reports, as
// the median over seeds: the final best, the trials to reach 90 % and 95 %
// of it, and the trials model-guided search needs to reach random
// search's final best (and 98 % of it: this VM's timing noise); then each
// seed's guided best re-measured with random's best, interleaved in the
// same worker (--remeasure-rounds), as a ratio. Random
// search may get a larger budget (--random-trials: the issue's "random
// search's 1000-trial best"); configs the template refuses are never
// proposed, so a budget above the admissible configs measures them all.
// Prints a table and one JSON object on the last line.
//
//   tune_bench --size 1024 --trials 250 --random-trials 1000 --seeds 5 [--threads 1]
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include <CLI/CLI.hpp>
#include <cblas.h>
#include <fmt/format.h>
#include <unistd.h>

#include "actors/tuning/measurer_actor.hpp"
#include "actors/tuning/tuner.hpp"
#include "benchmarks/tuning_stats.hpp"
#include "runtime/blas_kernels.hpp"
#include "compiler/codegen/jit.hpp"
#include "compiler/codegen/thread_pool.hpp"
#include "compiler/tuning/measure_protocol.hpp"
#include "runtime/child_process.hpp"
#include "runtime/node.hpp"
#include "benchmarks/cli_parse.hpp"

extern "C" void openblas_set_num_threads(int);

using namespace troupe;
using troupe::bench::median;
using troupe::bench::trials_to_reach;

namespace {

double best_seconds(const std::function<void()>& run, int repeats) {
  run();
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    auto start = std::chrono::steady_clock::now();
    run();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Autotuner: model-guided against random search, and the result against OpenBLAS"};
  int64_t size = 1024;
  uint64_t trials = 200;
  int seeds = 3;
  int threads = 1;
  app.add_option("--size", size, "square matmul size");
  app.add_option("--trials", trials, "trial budget of the model-guided search");
  uint64_t random_trials = 0;
  app.add_option("--random-trials", random_trials, "trial budget of the random search (default: --trials)");
  int random_seeds = 0;
  app.add_option("--random-seeds", random_seeds,
                 "seeds that run their own random search (default: all); later seeds compare with "
                 "seed 1's. A budget above the admissible configs measures them all, whatever the seed");
  app.add_option("--seeds", seeds, "seeds (the median counts)");
  app.add_option("--threads", threads, "threads of the candidates and of OpenBLAS");
  int remeasure_rounds = 5;
  app.add_option("--remeasure-rounds", remeasure_rounds,
                 "interleaved rounds re-measuring each seed's guided best with random's best");
  TROUPE_BENCH_PARSE(app, argc, argv);
  if (random_trials == 0)
    random_trials = trials;
  if (random_seeds <= 0 || random_seeds > seeds)
    random_seeds = seeds;
  troupe::reexec_with_better_openblas_kernels(argv);  // see matmul_bench
  node_config defaults;
  auto cfg = make_actor_system_config(defaults);
  caf::actor_system sys{*cfg};
  auto worker = (std::filesystem::path{self_executable()}.parent_path().parent_path() / "apps"
                 / "troupe-measure").string();
  std::vector<tuning_measurer_actor> measurers{tuning::spawn_measurer(sys, worker)};
  compiler::tuning_task task{"matmul", {size, size, size}};
  std::vector<double> guided_best, random_best, to90, to95, to_random, to_random98, random_measured;
  compiler::measure_result overall;
  std::vector<compiler::tuning_config> guided_configs;  // each seed's best
  compiler::tuning_config random_config;                // random search's best (seed 1)
  tuning::tune_summary first_random;  // reused by the seeds after --random-seeds
  for (int seed = 1; seed <= seeds; ++seed) {
    tuning::tune_summary runs[2];
    for (int random = 0; random < 2; ++random) {
      if (random == 1 && seed > random_seeds) {
        runs[1] = first_random;
        continue;
      }
      tuning::tune_options o;
      o.task = task;
      o.trials = random == 1 ? random_trials : trials;
      o.batch = 16;
      o.seed = static_cast<uint64_t>(seed);
      o.random = random == 1;
      o.threads = threads;
      o.store_dir = fmt::format("/tmp/tune_bench.{}.{}.{}", getpid(), seed, random);
      runs[random] = tuning::run_tuning(sys, o, measurers);
      std::filesystem::remove_all(o.store_dir);
      if (random == 1 && seed == 1)
        first_random = runs[1];
    }
    auto& guided = runs[0];
    auto& random = runs[1];
    guided_best.push_back(guided.best.gflops);
    random_best.push_back(random.best.gflops);
    to90.push_back(static_cast<double>(trials_to_reach(guided.best_so_far, 0.9 * guided.best.gflops)));
    to95.push_back(static_cast<double>(trials_to_reach(guided.best_so_far, 0.95 * guided.best.gflops)));
    to_random.push_back(static_cast<double>(trials_to_reach(guided.best_so_far, random.best.gflops)));
    to_random98.push_back(
      static_cast<double>(trials_to_reach(guided.best_so_far, 0.98 * random.best.gflops)));
    random_measured.push_back(static_cast<double>(random.records.size()));
    if (guided.best.gflops > overall.gflops)
      overall = guided.best;
    guided_configs.push_back(guided.best.config);
    if (seed == 1)
      random_config = random.best.config;
    fmt::print("seed {}: guided best {:.1f} GFLOP/s (90 % at trial {}, 95 % at {}), random best {:.1f} "
               "after {} trials, guided reached it at trial {} (98 % of it at {})\n",
               seed, guided.best.gflops, to90.back(), to95.back(), random.best.gflops,
               random.records.size(), to_random.back(), to_random98.back());
  }
  // Each seed's guided best against random search's best, re-measured
  // through the same worker and protocol as the tuning (cold caches),
  // round by round: on this VM the same config measures up to 30 %
  // apart from one second to the next, so a best found minutes apart
  // says little; the best of several interleaved rounds does.
  std::vector<compiler::tuning_config> distinct{random_config};
  for (auto& config : guided_configs)
    if (std::find(distinct.begin(), distinct.end(), config) == distinct.end())
      distinct.push_back(config);
  std::vector<double> remeasured(distinct.size(), 0.0);
  {
    caf::scoped_actor self{sys};
    for (int round = 0; round < remeasure_rounds; ++round)
      for (size_t i = 0; i < distinct.size(); ++i) {
        compiler::measure_request request;
        request.task = task;
        request.config = distinct[i];
        request.threads = threads;
        request.check = false;
        self->request(measurers.front(), std::chrono::minutes(2), measure_atom::value,
                      compiler::request_to_json(request))
          .receive(
            [&](const std::string& record) {
              auto result = compiler::record_from_json(record).second;
              if (result.ok())
                remeasured[i] = std::max(remeasured[i], result.gflops);
            },
            [&](const caf::error& err) {
              fmt::print(stderr, "re-measurement failed: {}\n", caf::to_string(err));
            });
      }
  }
  for (auto& m : measurers)
    caf::anon_send_exit(m, caf::exit_reason::user_shutdown);
  std::vector<double> guided_vs_random;
  size_t same_config = 0;
  for (auto& config : guided_configs) {
    auto i = static_cast<size_t>(std::find(distinct.begin(), distinct.end(), config) - distinct.begin());
    guided_vs_random.push_back(remeasured[0] > 0 ? remeasured[i] / remeasured[0] : 0.0);
    same_config += config == random_config;
  }

  // The guided searches' best config (by re-measurement) against OpenBLAS,
  // same process, same inputs.
  if (!guided_configs.empty())
    overall.config = guided_configs[static_cast<size_t>(
      std::max_element(guided_vs_random.begin(), guided_vs_random.end()) - guided_vs_random.begin())];
  compiler::set_compiler_threads(threads);
  openblas_set_num_threads(threads);
  auto func = compiler::build_candidate(task, overall.config, "tuned");
  compiler::jit_module jit;
  auto fn = jit.compile(func);
  std::vector<float> a(static_cast<size_t>(size * size)), b(a.size()), c(a.size()), r(a.size());
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (auto& x : a) x = dist(rng);
  for (auto& x : b) x = dist(rng);
  void* args[] = {a.data(), b.data(), c.data()};
  auto n = static_cast<int>(size);
  double ours = 1e30, blas = 1e30;
  for (int round = 0; round < 3; ++round) {
    ours = std::min(ours, best_seconds([&] { fn(args); }, 5));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    blas = std::min(blas, best_seconds([&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n,
                  0.0f, r.data(), n);
    }, 5));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  double flops = task.flops();
  double ratio = blas / ours;

  fmt::print("re-measured together ({} rounds, best of each): guided's best over random's best per "
             "seed:", remeasure_rounds);
  for (auto v : guided_vs_random)
    fmt::print(" {:.3f}", v);
  fmt::print(" (median {:.3f}; the same config as random's in {} of {} seeds)\n",
             median(guided_vs_random), same_config, guided_configs.size());
  auto random_budget = static_cast<double>(random_trials);
  fmt::print("median over {} seeds: guided ({} trials) best {:.1f} GFLOP/s, random ({} trials, {} "
             "measured) best {:.1f}; trials to 90 % {}, to 95 % {}; guided reached random's best at "
             "trial {} ({:.0f} % of random's budget), 98 % of it at trial {} ({:.0f} %)\n",
             seeds, trials, median(guided_best), random_trials, median(random_measured),
             median(random_best), median(to90), median(to95), median(to_random),
             100.0 * median(to_random) / random_budget, median(to_random98),
             100.0 * median(to_random98) / random_budget);
  fmt::print("tuned config vs OpenBLAS: {:.1f} vs {:.1f} GFLOP/s ({:.3f})\n", flops / ours / 1e9,
             flops / blas / 1e9, ratio);
  fmt::print("{{\"benchmark\":\"tune\",\"size\":{},\"trials\":{},\"random_trials\":{},\"seeds\":{},"
             "\"guided_best\":{:.1f},\"random_best\":{:.1f},\"random_measured\":{},"
             "\"trials_to_90\":{},\"trials_to_95\":{},\"trials_to_random_best\":{},"
             "\"trials_to_98pct_random_best\":{},\"tuned_gflops\":{:.1f},\"openblas_gflops\":{:.1f},"
             "\"ratio\":{:.3f},\"remeasured_guided_over_random\":{:.3f},\"same_config_as_random\":{}}}\n",
             size, trials, random_trials, seeds, median(guided_best), median(random_best),
             median(random_measured), median(to90), median(to95), median(to_random),
             median(to_random98), flops / ours / 1e9, flops / blas / 1e9, ratio,
             median(guided_vs_random), same_config);
  return 0;
}
