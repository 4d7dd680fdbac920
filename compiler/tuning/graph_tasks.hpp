// The tuning tasks of a model: each blocked convolution of an optimized
// graph is an instance of the conv2d or depthwise_conv2d template (search_space.hpp), so the
// records of its task tell the executor which schedule to compile it with
// (AutoTVM's "apply_history_best"), and a task scheduler can spread a
// trial budget over the tasks a model has.
#pragma once

#include "compiler/graph/graph.hpp"
#include "compiler/tuning/search_space.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace troupe::compiler {

/// A task of a model and how many of its nodes compute it.
struct graph_task {
  tuning_task task;
  int64_t nodes = 0;
};

/// Best configs by tuning_task::name(): what graph_executor applies.
using tuned_configs = std::map<std::string, tuning_config>;

/// The task `n` (a node of `g`) computes: for a "conv2d_nchwc" node with
/// batch 1, square kernel, strides and pads, its data blocked as
/// build_candidate blocks it (the largest divisor of C up to 16) and 16
/// output channels a block, the conv2d task {C, H, W, K, R, stride, pad};
/// for a "depthwise_conv2d_nchwc" node with 16 channels a block, the
/// depthwise_conv2d task {C, H, W, R, stride, pad}. Other nodes have none.
std::optional<tuning_task> tuning_task_of(const graph& g, const graph_node& n);

/// The distinct tasks of `optimized` (the output of optimize_graph with
/// the layout transformation), in the order of their first node.
std::vector<graph_task> extract_tuning_tasks(const graph& optimized);

} // namespace troupe::compiler
