// The task scheduler (Ansor's, simplified): tuning a model means tuning
// each of its tasks (compiler/tuning/graph_tasks.hpp), and one trial
// budget is shared among them, slice by slice, each slice one run_tuning
// call that resumes the task from the store.
//
// Which task gets the next slice:
//   1. warm-up: every task gets one slice, in the model's order (a slice
//      is --batch trials, fewer when the budget left cannot give each
//      remaining task a full one);
//   2. then the task with the highest  weight x (1 + gain) / slices,
//      weight = nodes x flops (its share of the model's work),
//      gain    = how much its last slice cut its best time, relatively
//                (1 when the slice found its first valid config),
//      slices  = the slices it has had (resumed records count as slices);
//      ties go to the earlier task. Without gains this is a weighted
//      round-robin; a task that is still improving gets up to twice its
//      share, one that has converged falls back to its weight.
// A task whose search space is exhausted gets no more slices; tuning ends
// when the budget is spent or every space is.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "actors/tuning/tuner.hpp"
#include "compiler/graph/graph.hpp"
#include "compiler/tuning/graph_tasks.hpp"

namespace troupe::tuning {

struct model_tune_options {
  uint64_t trials = 200;  ///< records to reach over all tasks, resumed ones included
  /// Transfer: a task without records starts its cost model from the
  /// records of the store's most similar task (same op, closest flops).
  bool transfer = false;
  /// Everything else (store, batch = the slice size, seed, repeats, ...);
  /// its task, trials and transfer are set per slice.
  tune_options base;
};

/// One task of the model after tuning.
struct task_tune_result {
  compiler::graph_task task;
  uint64_t trials = 0;    ///< its records in the store
  uint64_t measured = 0;  ///< measured by this call
  uint64_t slices = 0;    ///< given by this call
  std::string transferred_from;  ///< the task whose records started its model, if any
  compiler::measure_result best;
};

struct model_tune_summary {
  std::vector<task_tune_result> tasks;
  uint64_t trials = 0;  ///< records of all tasks
  double seconds = 0;
};

/// Tunes the tasks of `optimized` (the output of optimize_graph) within
/// the budget. `on_slice` is called after each slice with the task's
/// index and the summary so far. Throws what run_tuning throws.
model_tune_summary schedule_model_tuning(
  caf::actor_system& sys, const compiler::graph& optimized, const model_tune_options& options,
  const std::vector<tuning_measurer_actor>& measurers,
  const std::function<void(size_t, const model_tune_summary&)>& on_slice = {});

} // namespace troupe::tuning
