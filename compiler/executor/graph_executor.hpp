// The graph executor: each fused group of an optimized graph becomes one
// native function (tensor expressions of its members, the group's
// schedule, lowering, LLVM); running the model calls them in order over
// buffers laid out by the static memory plan. Shape mismatches and
// unsupported operators are reported by node name when it is built.
#pragma once

#include "compiler/graph/graph.hpp"
#include "compiler/ir/stmt.hpp"
#include "compiler/passes/plan_memory.hpp"
#include "compiler/tuning/graph_tasks.hpp"

#include <memory>
#include <string>
#include <vector>

namespace troupe::compiler {

struct compile_options {
  bool fold_batch_norm = true;
  bool transform_layout = true;  ///< NCHW[16]c convolutions, packed dense weights
  bool fuse = true;              ///< false: one function per operator
};

/// The pass pipeline: batch-norm folding, layout transformation, constant
/// folding, fusion (or one group per operator).
graph optimize_graph(const graph& g, const compile_options& options = {});

/// One group's native function: its symbol and the nodes its arguments
/// point to (the group's inputs, then its output).
struct group_signature {
  std::string name;
  std::vector<int> arg_nodes;
};

class graph_executor {
public:
  /// Compiles `optimized` (the output of optimize_graph). A group whose
  /// master has a tuning task (tuning_task_of) with a config in `tuned`
  /// is scheduled with that config (conv2d_config_of, depthwise_config_of).
  explicit graph_executor(const graph& optimized, const tuned_configs& tuned = {});
  /// Runs `optimized` with its groups already compiled: `object_code` is
  /// native code for this host defining every function of `functions` (as
  /// saved in an artifact, see artifact.hpp). Nothing is lowered or
  /// optimized; lowered_functions() is empty.
  graph_executor(const graph& optimized, std::vector<group_signature> functions,
                 const std::string& object_code);
  ~graph_executor();
  graph_executor(const graph_executor&) = delete;
  graph_executor& operator=(const graph_executor&) = delete;

  /// One pointer per graph input (in order) and per output, each to the
  /// node's element count of floats. Not reentrant: one run at a time.
  void run(const std::vector<const float*>& inputs, const std::vector<float*>& outputs);
  /// Checks the input sizes (error names the input) and returns the outputs.
  std::vector<std::vector<float>> run(const std::vector<std::vector<float>>& inputs);

  /// Seconds each group's function takes (the best of `repeats` runs of
  /// the whole model), with the group's name: where the time goes.
  std::vector<std::pair<std::string, double>> profile(const std::vector<std::vector<float>>& inputs,
                                                      int repeats = 10);

  const graph& model() const;
  const memory_plan& plan() const;
  size_t function_count() const;
  /// How many groups were compiled with a config from `tuned`.
  size_t tuned_function_count() const;
  /// The lowered program of every group, printed (for debugging).
  std::string lowered_text() const;
  /// The lowered functions, one per group, in execution order.
  const std::vector<lowered_func>& lowered_functions() const;
  /// Each group's function, in execution order.
  std::vector<group_signature> signatures() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::compiler
