#include "compiler/tuning/graph_tasks.hpp"

#include <algorithm>

namespace troupe::compiler {

namespace {

// The value of ints[key] when both of its values are equal (square).
std::optional<int64_t> square(const graph_node& n, const std::string& key, int64_t fallback) {
  auto found = n.ints.find(key);
  if (found == n.ints.end())
    return fallback;
  auto& v = found->second;
  if (v.size() != 2 || v[0] != v[1])
    return std::nullopt;
  return v[0];
}

// search_space.cpp's channel block: the largest divisor of C up to 16.
int64_t channel_block(int64_t channels) {
  for (int64_t d = std::min<int64_t>(16, channels); d > 1; --d)
    if (channels % d == 0)
      return d;
  return 1;
}

// A "depthwise_conv2d_nchwc" node with 16 channels a block: the
// depthwise_conv2d task {C, H, W, R, stride, pad}.
std::optional<tuning_task> depthwise_task_of(const graph& g, const graph_node& n) {
  auto& data = g.node(n.inputs[0]).shape;    // [N, C/16, H, W, 16]
  auto& weight = g.node(n.inputs[1]).shape;  // [C/16, R, R, 16]
  if (data.size() != 5 || weight.size() != 4 || data[0] != 1 || data[4] != 16
      || weight[1] != weight[2])
    return std::nullopt;
  auto stride = square(n, "strides", 1);
  auto pad = square(n, "pads", 0);
  if (!stride || !pad)
    return std::nullopt;
  return tuning_task{"depthwise_conv2d", {data[1] * 16, data[2], data[3], weight[1], *stride, *pad}};
}

} // namespace

std::optional<tuning_task> tuning_task_of(const graph& g, const graph_node& n) {
  if (n.inputs.size() < 2)
    return std::nullopt;
  if (n.op == "depthwise_conv2d_nchwc")
    return depthwise_task_of(g, n);
  if (n.op != "conv2d_nchwc")
    return std::nullopt;
  auto& data = g.node(n.inputs[0]).shape;    // [N, C/cb, H, W, cb]
  auto& weight = g.node(n.inputs[1]).shape;  // [K/ob, C/cb, R, R, cb, ob]
  if (data.size() != 5 || weight.size() != 6 || data[0] != 1)
    return std::nullopt;
  int64_t c = data[1] * data[4];
  if (data[4] != channel_block(c) || weight[5] != 16 || weight[2] != weight[3])
    return std::nullopt;
  auto stride = square(n, "strides", 1);
  auto pad = square(n, "pads", 0);
  if (!stride || !pad)
    return std::nullopt;
  return tuning_task{"conv2d", {c, data[2], data[3], weight[0] * 16, weight[2], *stride, *pad}};
}

std::vector<graph_task> extract_tuning_tasks(const graph& optimized) {
  std::vector<graph_task> tasks;
  for (auto& n : optimized.nodes) {
    auto task = tuning_task_of(optimized, n);
    if (!task)
      continue;
    auto name = task->name();
    auto found = std::find_if(tasks.begin(), tasks.end(),
                              [&](const graph_task& t) { return t.task.name() == name; });
    if (found == tasks.end())
      tasks.push_back({*task, 1});
    else
      ++found->nodes;
  }
  return tasks;
}

} // namespace troupe::compiler
