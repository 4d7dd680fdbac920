// troupe tune: the autotuner on one operator, or on every task of a model
// (--model: the task scheduler shares the trials among them). The explorer
// and cost model run here; measurers are local worker processes
// (--measurers N) or every tuning_measurer registered in a cluster
// (--cluster HOST:PORT).
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <unistd.h>

#include "actors/tuning/confirm_finalists.hpp"
#include "actors/tuning/measurer_actor.hpp"
#include "actors/tuning/task_scheduler.hpp"
#include "actors/tuning/tuner.hpp"
#include "apps/command.hpp"
#include "compiler/executor/graph_executor.hpp"
#include "compiler/frontend/onnx_import.hpp"
#include "compiler/ir/compile_error.hpp"
#include "compiler/tuning/plot_png.hpp"
#include "compiler/tuning/tuning_records.hpp"
#include "messages/errors.hpp"
#include "runtime/child_process.hpp"
#include "runtime/cluster_client.hpp"
#include "runtime/node.hpp"

namespace troupe {

namespace {

struct tune_command_options {
  std::string op = "matmul";
  std::vector<int64_t> shape{1024, 1024, 1024};
  uint64_t trials = 200;
  uint64_t batch = 16;
  uint64_t seed = 1;
  std::string store = "troupe-tuning";
  int measurers = 1;
  std::string cluster;
  bool random = false;
  bool compare_random = false;
  int repeats = 5;
  int threads = 1;
  bool no_flush = false;
  int min_repeat_ms = 20;
  int timeout_s = 60;
  std::string export_path;
  std::string plot_path;
  std::string model;       ///< tune every task of this ONNX model
  bool transfer = false;   ///< start new tasks' cost models from similar tasks' records
  size_t confirm = 4;      ///< finalists re-measured together after the search (0: none)
  int confirm_rounds = 3;
};

// "[=====>     ]  64/200 trials  best 143.2 GFLOP/s  3 errors"
void print_progress(const tuning::tune_progress& p, bool tty) {
  constexpr int width = 30;
  int filled = p.trials ? static_cast<int>(width * p.done / p.trials) : width;
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width)
    bar += '>' + std::string(static_cast<size_t>(width - filled - 1), ' ');
  auto line = fmt::format("[{}] {:>5}/{} trials  best {:.1f} GFLOP/s  {} errors", bar, p.done,
                          p.trials, p.best_gflops, p.errors);
  if (tty)
    std::cout << "\r" << line << std::flush;
  else if (p.trials && (p.done % std::max<uint64_t>(1, p.trials / 10) == 0 || p.done == p.trials))
    std::cout << line << std::endl;  // a log file shows progress while it runs
}

std::vector<tuning_measurer_actor> cluster_measurers(caf::actor_system& sys,
                                                     const std::string& seed) {
  auto client = cluster_client::connect(sys, seed, std::chrono::seconds{5});
  if (!client)
    throw std::runtime_error("cannot reach the cluster at " + seed + ": " + describe(client.error()));
  auto names = client->directory();
  if (!names)
    throw std::runtime_error("cannot read the cluster's directory: " + describe(names.error()));
  std::vector<tuning_measurer_actor> found;
  for (auto& entry : *names)
    if (entry.name.rfind("tuning_measurer", 0) == 0 || entry.name.rfind("tuning.measurer", 0) == 0) {
      auto handle = client->lookup_as<tuning_measurer_actor>(entry.name);
      if (handle)
        found.push_back(*handle);
    }
  if (found.empty())
    throw std::runtime_error("no measurer in the cluster at " + seed
                             + " (start nodes with --service tuning_measurer=NAME)");
  return found;
}

// Every tuning_measurer of the cluster, or --measurers local workers.
std::vector<tuning_measurer_actor> make_measurers(caf::actor_system& sys,
                                                  const tune_command_options& o) {
  if (!o.cluster.empty())
    return cluster_measurers(sys, o.cluster);
  std::vector<tuning_measurer_actor> measurers;
  auto worker = (std::filesystem::path{self_executable()}.parent_path() / "troupe-measure").string();
  for (int i = 0; i < std::max(1, o.measurers); ++i)
    measurers.push_back(tuning::spawn_measurer(sys, worker));
  return measurers;
}

tuning::tune_options base_options(const tune_command_options& o) {
  tuning::tune_options options;
  options.batch = o.batch;
  options.seed = o.seed;
  options.random = o.random;
  options.store_dir = o.store;
  options.repeats = o.repeats;
  options.threads = o.threads;
  options.flush = !o.no_flush;
  options.min_repeat_ms = o.min_repeat_ms;
  options.measure_timeout = std::chrono::seconds{o.timeout_s};
  return options;
}

tuning::tune_summary tune_once(caf::actor_system& sys, const tune_command_options& o,
                               const std::vector<tuning_measurer_actor>& measurers, bool random,
                               const std::string& store) {
  auto options = base_options(o);
  options.task = {o.op, o.shape};
  options.trials = o.trials;
  options.random = random;
  options.store_dir = store;
  bool tty = isatty(STDOUT_FILENO);
  std::cout << fmt::format("{} search, {} trials in batches of {}, {} measurer(s), records in {}\n",
                           random ? "random" : "model-guided", o.trials, o.batch, measurers.size(),
                           store);
  auto summary = tuning::run_tuning(sys, options, measurers,
                                    [tty](const tuning::tune_progress& p) { print_progress(p, tty); });
  if (tty)
    std::cout << "\n";
  return summary;
}

void print_summary(const tune_command_options& o, const tuning::tune_summary& s) {
  compiler::tuning_task task{o.op, o.shape};
  auto space = compiler::space_of(task);
  std::cout << fmt::format("{}: {} records ({} resumed, {} measured now), {} errors, {:.1f} s\n",
                           task.name(), s.records.size(), s.resumed, s.measured, s.errors, s.seconds);
  auto valid = s.records;
  valid.erase(std::remove_if(valid.begin(), valid.end(), [](auto& r) { return !r.ok(); }),
              valid.end());
  std::sort(valid.begin(), valid.end(), [](auto& a, auto& b) { return a.gflops > b.gflops; });
  std::cout << fmt::format("  {:>4}  {:>10}  {:>9}  {}\n", "rank", "GFLOP/s", "ms", "config");
  for (size_t i = 0; i < std::min<size_t>(5, valid.size()); ++i)
    std::cout << fmt::format("  {:>4}  {:>10.1f}  {:>9.3f}  {}\n", i + 1, valid[i].gflops,
                             valid[i].seconds * 1e3, space.describe(valid[i].config));
  if (!valid.empty()) {
    double best = valid.front().gflops;
    auto reach = [&](double share) {
      for (size_t i = 0; i < s.best_so_far.size(); ++i)
        if (s.best_so_far[i] >= share * best)
          return i + 1;
      return s.best_so_far.size();
    };
    std::cout << fmt::format("  trials to reach 90 % of the best: {}, 95 %: {}\n", reach(0.9),
                             reach(0.95));
  }
}

// The finalists of `task` re-measured together (confirm_finalists); prints
// them and returns the fastest confirmed one (error when none).
compiler::measure_result confirm(caf::actor_system& sys, const tune_command_options& o,
                                 const std::vector<tuning_measurer_actor>& measurers,
                                 const compiler::tuning_task& task, bool verbose) {
  compiler::measure_result none;
  none.error = "not confirmed";
  if (o.confirm == 0 || o.confirm_rounds <= 0)
    return none;
  auto options = base_options(o);
  options.task = task;
  auto finalists = tuning::confirm_finalists(sys, options, measurers, o.confirm, o.confirm_rounds);
  if (finalists.empty())
    return none;
  if (verbose) {
    auto space = compiler::space_of(task);
    std::cout << fmt::format("confirming: the {} best configs{}, {} interleaved rounds on one "
                             "measurer\n", o.confirm,
                             compiler::default_config(task) ? " and the template's default" : "",
                             o.confirm_rounds);
    std::cout << fmt::format("  {:>9}  {:>9}  {}\n", "confirmed", "trial", "config (GFLOP/s)");
    for (auto& f : finalists)
      std::cout << fmt::format("  {:>9}  {:>9}  {}{}\n",
                               f.confirmed.ok() ? fmt::format("{:.1f}", f.confirmed.gflops)
                                                : "error",
                               f.trial_gflops > 0 ? fmt::format("{:.1f}", f.trial_gflops) : "-",
                               space.describe(f.config), f.is_default ? "  (default)" : "");
  }
  return finalists.front().confirmed;
}

// --model: the task scheduler over the model's tasks, then one table.
int tune_model(caf::actor_system& sys, const tune_command_options& o,
               const std::vector<tuning_measurer_actor>& measurers) {
  auto optimized = compiler::optimize_graph(compiler::import_onnx(o.model));
  auto tasks = compiler::extract_tuning_tasks(optimized);
  std::cout << fmt::format("{}: {} tuning tasks, {} trials in slices of {}, {} measurer(s), "
                           "records in {}{}\n", o.model, tasks.size(), o.trials, o.batch,
                           measurers.size(), o.store, o.transfer ? ", transfer" : "");
  if (tasks.empty()) {
    std::cout << "nothing to tune (no blocked convolution with batch 1)\n";
    return exit_ok;
  }
  tuning::model_tune_options options;
  options.trials = o.trials;
  options.transfer = o.transfer;
  options.base = base_options(o);
  auto summary = tuning::schedule_model_tuning(
    sys, optimized, options, measurers, [](size_t i, const tuning::model_tune_summary& s) {
      auto& t = s.tasks[i];
      std::cout << fmt::format("  {:>5} trials  {:<28} slice {:>2}  {:>4} records  best {:.1f} "
                               "GFLOP/s{}\n", s.trials, t.task.task.name(), t.slices, t.trials,
                               t.best.gflops,
                               t.transferred_from.empty() ? "" : "  (model from "
                                                                   + t.transferred_from + ")");
    });
  std::cout << fmt::format("{} records over {} tasks, {:.1f} s\n", summary.trials,
                           summary.tasks.size(), summary.seconds);
  if (o.confirm > 0) {
    std::cout << fmt::format("confirming each task's {} best configs and its default ({} "
                             "interleaved rounds)\n", o.confirm, o.confirm_rounds);
    for (auto& t : summary.tasks) {
      auto confirmed = confirm(sys, o, measurers, t.task.task, false);
      if (confirmed.ok())
        t.best = confirmed;
    }
  }
  std::cout << fmt::format("  {:<28}  {:>5}  {:>6}  {:>10}  {:>9}\n", "task", "nodes", "trials",
                           o.confirm > 0 ? "confirmed" : "GFLOP/s", "ms");
  bool all_tuned = true;
  for (auto& t : summary.tasks) {
    bool tuned = t.best.ok() && t.best.gflops > 0;
    all_tuned = all_tuned && tuned;
    std::cout << fmt::format("  {:<28}  {:>5}  {:>6}  {:>10.1f}  {:>9}\n", t.task.task.name(),
                             t.task.nodes, t.trials, t.best.gflops,
                             tuned ? fmt::format("{:.3f}", t.best.seconds * 1e3) : "-");
  }
  std::cout << fmt::format("compile with the best records: troupe compile {} -o MODEL.troupe "
                           "--records {}\n", o.model, o.store);
  return all_tuned ? exit_ok : exit_failure;
}

int run_tune(const tune_command_options& o) {
  node_config defaults;
  auto cfg = make_actor_system_config(defaults);
  caf::actor_system sys{*cfg};
  try {
    if (!o.model.empty()) {
      auto measurers = make_measurers(sys, o);
      auto rc = tune_model(sys, o, measurers);
      if (o.cluster.empty())
        for (auto& m : measurers)
          caf::anon_send_exit(m, caf::exit_reason::user_shutdown);
      return rc;
    }
    compiler::tuning_task task{o.op, o.shape};
    auto space = compiler::space_of(task);
    std::cout << fmt::format("tuning {} ({} configs, {:.3f} GFLOP per run)\n", task.name(),
                             space.size(), task.flops() / 1e9);
    auto measurers = make_measurers(sys, o);
    auto guided = tune_once(sys, o, measurers, o.random, o.store);
    print_summary(o, guided);
    auto confirmed = confirm(sys, o, measurers, task, true);
    if (confirmed.ok())
      std::cout << fmt::format("best (confirmed): {:.1f} GFLOP/s, {:.3f} ms  {}\n", confirmed.gflops,
                               confirmed.seconds * 1e3, space.describe(confirmed.config));
    std::vector<compiler::plot_series> series{
      {o.random ? "random" : "model-guided", guided.best_so_far, 0x1f77b4}};
    if (o.compare_random && !o.random) {
      auto random = tune_once(sys, o, measurers, true, o.store + "/random");
      print_summary(o, random);
      series.push_back({"random", random.best_so_far, 0xd62728});
    }
    if (!o.export_path.empty()) {
      compiler::tuning_records store(o.store);
      auto n = store.export_json_lines(o.export_path);
      std::cout << fmt::format("exported {} records to {}\n", n, o.export_path);
    }
    if (!o.plot_path.empty()) {
      compiler::write_progress_png(o.plot_path, series, task.name() + " gflops");
      std::cout << "wrote " << o.plot_path << "\n";
    }
    if (o.cluster.empty())
      for (auto& m : measurers)
        caf::anon_send_exit(m, caf::exit_reason::user_shutdown);
    return guided.best.ok() && guided.best.gflops > 0 ? exit_ok : exit_failure;
  } catch (const compiler::compile_error& e) {
    std::cerr << "troupe tune: " << e.what() << "\n";
    return exit_bad_usage;
  } catch (const std::exception& e) {
    std::cerr << "troupe tune: " << e.what() << "\n";
    return exit_failure;
  }
}

} // namespace

command_runner add_tune_command(CLI::App& app) {
  auto o = std::make_shared<tune_command_options>();
  auto* cmd = app.add_subcommand("tune", "Autotune an operator's schedule (explorer, cost model, "
                                         "measurers as actors; records in a RocksDB store)");
  cmd->add_option("--op", o->op, "the operator: matmul (shape M,N,K), conv2d (NCHWc, shape "
                                 "C,H,W,K,R,stride,pad) or depthwise_conv2d (NCHW16c, shape "
                                 "C,H,W,R,stride,pad)")->capture_default_str();
  cmd->add_option("--shape", o->shape, "the operator's shape")->delimiter(',')->capture_default_str();
  cmd->add_option("--trials", o->trials, "measurements to reach (records already in the store "
                                         "count: a stopped run resumes); with --model, over all "
                                         "its tasks")->capture_default_str();
  cmd->add_option("--batch", o->batch, "configs measured per round; the cost model retrains "
                                       "after each")->capture_default_str();
  cmd->add_option("--seed", o->seed, "seed of the explorer, the cost model and the inputs")
    ->capture_default_str();
  cmd->add_option("--store", o->store, "the records store (a directory)")->capture_default_str();
  cmd->add_option("--measurers", o->measurers, "local measurer worker processes")
    ->capture_default_str();
  cmd->add_option("--cluster", o->cluster, "HOST:PORT of a cluster member: use every "
                                           "tuning_measurer service in the cluster instead");
  cmd->add_flag("--random", o->random, "random search (no cost model)");
  cmd->add_flag("--compare-random", o->compare_random,
                "also run random search with the same budget (records in STORE/random)");
  cmd->add_option("--repeats", o->repeats, "timed runs per measurement (the record keeps their median)")
    ->capture_default_str();
  cmd->add_option("--min-repeat-ms", o->min_repeat_ms,
                  "the warm-up runs at least this long, and with --no-flush each timed repeat "
                  "runs the candidate until it lasts this long (a core idle during retraining "
                  "starts slow)")
    ->check(CLI::Range(0, 10000))
    ->capture_default_str();
  cmd->add_flag("--no-flush", o->no_flush,
                "time back-to-back warm runs instead of flushing the caches before each (as a "
                "layer runs inside a model)");
  cmd->add_option("--threads", o->threads, "threads of the candidates' parallel loops")
    ->capture_default_str();
  cmd->add_option("--timeout-s", o->timeout_s, "seconds a measurement may take, round trip")
    ->capture_default_str();
  cmd->add_option("--export", o->export_path, "write all records as JSON lines to this file");
  cmd->add_option("--plot", o->plot_path, "write best GFLOP/s against trials as a PNG");
  cmd->add_option("--model", o->model,
                  "tune every task of this ONNX model (its blocked and depthwise convolutions) instead of --op: "
                  "the trials are shared among the tasks in slices of --batch, weighted by "
                  "nodes x flops, improving tasks first; compile with troupe compile --records");
  cmd->add_option("--confirm", o->confirm,
                  "after the search, re-measure this many of the best configs and the template's "
                  "default together, interleaved in one measurer; the fastest confirmed one becomes "
                  "the task's best record (0: keep the best single trial)")
    ->capture_default_str();
  cmd->add_option("--confirm-rounds", o->confirm_rounds, "interleaved rounds of --confirm")
    ->capture_default_str();
  cmd->add_flag("--transfer", o->transfer,
                "with --model: a task without records starts its cost model from the records of "
                "the store's most similar task (same op, closest flops)");
  return [o] { return run_tune(*o); };
}

} // namespace troupe
