#include "actors/tuning/task_scheduler.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <map>

#include "compiler/tuning/tuning_records.hpp"

namespace troupe::tuning {

namespace {

bool valid(const compiler::measure_result& r) { return r.ok() && r.gflops > 0; }

// The records of the store's task most similar to `task` (same op, the
// closest flops on a log scale, at least one valid record), or none. The
// store is open only during this call (run_tuning opens it next).
std::pair<std::string, std::vector<compiler::tuning_record>>
similar_records(const std::string& store_dir, const compiler::tuning_task& task) {
  compiler::tuning_records store(store_dir);
  std::map<std::string, std::vector<compiler::tuning_record>> by_task;
  for (auto& r : store.all())
    if (r.task.op == task.op && r.task.name() != task.name())
      by_task[r.task.name()].push_back(r);
  std::string chosen;
  double distance = std::numeric_limits<double>::infinity();
  for (auto& [name, records] : by_task) {
    bool any_valid = false;
    for (auto& r : records)
      any_valid = any_valid || valid(r.result);
    if (!any_valid)
      continue;
    double d = std::abs(std::log(records.front().task.flops() / task.flops()));
    if (d < distance) {
      distance = d;
      chosen = name;
    }
  }
  if (chosen.empty())
    return {};
  return {chosen, std::move(by_task[chosen])};
}

} // namespace

model_tune_summary schedule_model_tuning(
  caf::actor_system& sys, const compiler::graph& optimized, const model_tune_options& options,
  const std::vector<tuning_measurer_actor>& measurers,
  const std::function<void(size_t, const model_tune_summary&)>& on_slice) {
  auto start = std::chrono::steady_clock::now();
  model_tune_summary summary;
  uint64_t batch = std::max<uint64_t>(1, options.base.batch);
  std::vector<double> weight, gain;
  std::vector<bool> exhausted;
  {
    compiler::tuning_records store(options.base.store_dir);
    for (auto& t : compiler::extract_tuning_tasks(optimized)) {
      task_tune_result result;
      result.task = t;
      result.trials = store.trials(t.task);
      if (auto best = store.best(t.task))
        result.best = *best;
      summary.trials += result.trials;
      summary.tasks.push_back(result);
      weight.push_back(static_cast<double>(t.nodes) * t.task.flops());
      gain.push_back(0);
      exhausted.push_back(false);
    }
  }
  auto& tasks = summary.tasks;
  // Resumed records count as the slices they would have taken.
  auto slices_of = [&](size_t i) { return (tasks[i].trials + batch - 1) / batch + tasks[i].slices; };
  while (summary.trials < options.trials) {
    size_t next = tasks.size(), unstarted = 0;
    for (size_t i = 0; i < tasks.size(); ++i)
      if (!exhausted[i] && slices_of(i) == 0 && unstarted++ == 0)
        next = i;
    uint64_t left = options.trials - summary.trials;
    uint64_t slice = std::min(batch, left);
    if (unstarted > 0) {
      slice = std::min(batch, std::max<uint64_t>(1, left / unstarted));
    } else {
      double best_score = -1;
      for (size_t i = 0; i < tasks.size(); ++i) {
        if (exhausted[i])
          continue;
        double score = weight[i] * (1 + gain[i]) / static_cast<double>(slices_of(i));
        if (score > best_score) {
          best_score = score;
          next = i;
        }
      }
    }
    if (next == tasks.size())
      break;  // every space is exhausted
    auto& t = tasks[next];
    auto o = options.base;
    o.task = t.task.task;
    o.trials = t.trials + slice;
    o.transfer.clear();
    if (options.transfer && t.trials == 0) {
      auto [from, records] = similar_records(o.store_dir, o.task);
      t.transferred_from = from;
      o.transfer = std::move(records);
    }
    auto before = t.best;
    auto run = run_tuning(sys, o, measurers);
    uint64_t added = run.records.size() - std::min<uint64_t>(run.records.size(), t.trials);
    if (run.records.size() < o.trials)
      exhausted[next] = true;  // the explorer had nothing left to propose
    t.trials = run.records.size();
    t.measured += run.measured;
    t.slices += 1;
    summary.trials += added;
    if (valid(run.best) && (!valid(t.best) || run.best.seconds < t.best.seconds))
      t.best = run.best;
    if (!valid(before))
      gain[next] = valid(t.best) ? 1.0 : 0.0;
    else
      gain[next] = std::max(0.0, (before.seconds - t.best.seconds) / before.seconds);
    if (on_slice)
      on_slice(next, summary);
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

} // namespace troupe::tuning
