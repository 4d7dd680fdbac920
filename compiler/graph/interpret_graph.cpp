#include "compiler/graph/interpret_graph.hpp"

#include "compiler/graph/op_registry.hpp"
#include "compiler/ir/compile_error.hpp"
#include "compiler/ir/interpreter.hpp"
#include "compiler/lower/lower.hpp"

#include <fmt/format.h>

#include <cmath>

namespace troupe::compiler {

std::vector<float> interpret_node(const graph& g, const graph_node& n,
                                  const std::vector<const std::vector<float>*>& values) {
  std::vector<tensor> inputs;
  for (int input : n.inputs)
    inputs.push_back(placeholder(g.node(input).shape, g.node(input).name));
  auto out = lookup_op(n.op).build(n, inputs);
  schedule s({out});
  auto args = inputs;
  args.push_back(out);
  auto func = lower(s, args, "interpret_" + n.name);
  std::vector<float> result(static_cast<size_t>(element_count(out)), std::nanf(""));
  std::vector<void*> pointers;
  for (auto* v : values)
    pointers.push_back(const_cast<float*>(v->data()));
  pointers.push_back(result.data());
  interpret(func, pointers);
  return result;
}

std::vector<std::vector<float>> interpret_graph(const graph& g,
                                                const std::vector<std::vector<float>>& inputs) {
  if (inputs.size() != g.inputs.size())
    throw compile_error(fmt::format("the graph takes {} inputs, got {}", g.inputs.size(),
                                    inputs.size()));
  std::vector<std::vector<float>> values(g.nodes.size());
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    if (static_cast<int64_t>(inputs[i].size()) != g.elements(g.inputs[i]))
      throw compile_error(fmt::format("input '{}' needs {} values, got {}",
                                      g.node(g.inputs[i]).name, g.elements(g.inputs[i]),
                                      inputs[i].size()));
    values[static_cast<size_t>(g.inputs[i])] = inputs[i];
  }
  for (size_t id = 0; id < g.nodes.size(); ++id) {
    auto& n = g.nodes[id];
    if (n.op == "input")
      continue;
    if (n.op == "constant") {
      values[id] = *n.data;
      continue;
    }
    std::vector<const std::vector<float>*> operands;
    for (int input : n.inputs)
      operands.push_back(&values[static_cast<size_t>(input)]);
    values[id] = interpret_node(g, n, operands);
  }
  std::vector<std::vector<float>> outputs;
  for (int out : g.outputs)
    outputs.push_back(values[static_cast<size_t>(out)]);
  return outputs;
}

} // namespace troupe::compiler
