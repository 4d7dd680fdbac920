#include "compiler/graph/graph.hpp"

#include "compiler/graph/op_registry.hpp"
#include "compiler/ir/compile_error.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>
#include <set>
#include <sstream>

namespace troupe::compiler {

const char* to_string(op_pattern pattern) {
  switch (pattern) {
    case op_pattern::injective: return "injective";
    case op_pattern::reduction: return "reduction";
    case op_pattern::complex_out_fusable: return "complex-out-fusable";
    case op_pattern::opaque: return "opaque";
    case op_pattern::source: return "source";
  }
  return "?";
}

int graph::add_input(const std::string& name, std::vector<int64_t> shape) {
  graph_node n;
  n.name = name;
  n.op = "input";
  n.shape = std::move(shape);
  nodes.push_back(std::move(n));
  int id = static_cast<int>(nodes.size()) - 1;
  inputs.push_back(id);
  return id;
}

int graph::add_constant(const std::string& name, std::vector<int64_t> shape,
                        std::vector<float> values) {
  int64_t count = 1;
  for (auto d : shape)
    count *= d;
  if (count != static_cast<int64_t>(values.size()))
    throw compile_error(fmt::format("constant '{}' of shape {} needs {} values, got {}", name, shape,
                                    count, values.size()));
  graph_node n;
  n.name = name;
  n.op = "constant";
  n.shape = std::move(shape);
  n.data = std::make_shared<const std::vector<float>>(std::move(values));
  nodes.push_back(std::move(n));
  return static_cast<int>(nodes.size()) - 1;
}

int graph::add_op(const std::string& op, std::vector<int> op_inputs,
                  std::map<std::string, std::vector<int64_t>> op_ints,
                  std::map<std::string, double> op_floats, const std::string& name) {
  auto& info = lookup_op(op);
  for (int input : op_inputs)
    if (input < 0 || input >= static_cast<int>(nodes.size()))
      throw compile_error(fmt::format("{} '{}': input {} does not exist", op, name, input));
  graph_node n;
  n.name = name.empty() ? fmt::format("{}_{}", op, nodes.size()) : name;
  n.op = op;
  n.inputs = std::move(op_inputs);
  n.ints = std::move(op_ints);
  n.floats = std::move(op_floats);
  n.shape = info.infer_shape(*this, n);
  nodes.push_back(std::move(n));
  return static_cast<int>(nodes.size()) - 1;
}

void graph::mark_output(int id) {
  if (id < 0 || id >= static_cast<int>(nodes.size()))
    throw compile_error(fmt::format("output {} does not exist", id));
  outputs.push_back(id);
}

std::vector<std::vector<int>> graph::users() const {
  std::vector<std::vector<int>> result(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    for (int input : nodes[i].inputs)
      result[static_cast<size_t>(input)].push_back(static_cast<int>(i));
  return result;
}

int64_t graph::elements(int id) const {
  int64_t count = 1;
  for (auto d : node(id).shape)
    count *= d;
  return count;
}

void graph::validate() const {
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto& n = nodes[i];
    for (int input : n.inputs)
      if (input < 0 || input >= static_cast<int>(i))
        throw compile_error(fmt::format("node '{}' reads node {} which does not come before it",
                                        n.name, input));
    if (n.shape.empty())
      throw compile_error(fmt::format("node '{}' has no shape", n.name));
    if (n.op != "input" && n.op != "constant")
      lookup_op(n.op);
  }
  if (outputs.empty())
    throw compile_error("the graph has no outputs");
}

std::string print(const graph& g) {
  std::ostringstream out;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    auto& n = g.nodes[i];
    out << fmt::format("%{} = {}(", i, n.op);
    for (size_t k = 0; k < n.inputs.size(); ++k)
      out << (k ? ", " : "") << "%" << n.inputs[k];
    out << fmt::format(") {} {}", n.name, n.shape);
    for (auto& [key, value] : n.ints)
      out << fmt::format(" {}={}", key, value);
    for (auto& [key, value] : n.strings)
      out << fmt::format(" {}={}", key, value);
    if (n.fusion_group >= 0)
      out << " group=" << n.fusion_group;
    out << "\n";
  }
  out << fmt::format("outputs {}\n", g.outputs);
  return out.str();
}

graph sort_topologically(const graph& g) {
  graph ordered;
  std::vector<int> renumber(g.nodes.size(), -1);
  std::vector<int> state(g.nodes.size(), 0);  // 0 new, 1 visiting, 2 placed
  std::function<void(int)> place = [&](int id) {
    auto index = static_cast<size_t>(id);
    if (state[index] == 2)
      return;
    if (state[index] == 1)
      throw compile_error(fmt::format("node '{}' depends on itself", g.node(id).name));
    state[index] = 1;
    for (int input : g.node(id).inputs)
      place(input);
    auto n = g.node(id);
    for (auto& input : n.inputs)
      input = renumber[static_cast<size_t>(input)];
    renumber[index] = static_cast<int>(ordered.nodes.size());
    ordered.nodes.push_back(std::move(n));
    state[index] = 2;
  };
  for (size_t id = 0; id < g.nodes.size(); ++id)
    place(static_cast<int>(id));
  for (int input : g.inputs)
    ordered.inputs.push_back(renumber[static_cast<size_t>(input)]);
  for (int out : g.outputs)
    ordered.outputs.push_back(renumber[static_cast<size_t>(out)]);
  return ordered;
}

graph remove_dead_nodes(const graph& g) {
  std::vector<bool> live(g.nodes.size(), false);
  for (int out : g.outputs)
    live[static_cast<size_t>(out)] = true;
  for (size_t i = g.nodes.size(); i-- > 0;)
    if (live[i])
      for (int input : g.nodes[i].inputs)
        live[static_cast<size_t>(input)] = true;
  for (int input : g.inputs)
    live[static_cast<size_t>(input)] = true;
  graph result;
  std::vector<int> renumber(g.nodes.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!live[i])
      continue;
    auto n = g.nodes[i];
    for (auto& input : n.inputs)
      input = renumber[static_cast<size_t>(input)];
    renumber[i] = static_cast<int>(result.nodes.size());
    result.nodes.push_back(std::move(n));
  }
  for (int input : g.inputs)
    result.inputs.push_back(renumber[static_cast<size_t>(input)]);
  for (int out : g.outputs)
    result.outputs.push_back(renumber[static_cast<size_t>(out)]);
  return result;
}

} // namespace troupe::compiler
