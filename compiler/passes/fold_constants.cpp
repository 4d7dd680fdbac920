#include "compiler/passes/fold_constants.hpp"

#include "compiler/graph/interpret_graph.hpp"

namespace troupe::compiler {

graph fold_constants(const graph& g) {
  graph result = g;
  for (auto& n : result.nodes) {
    if (n.op == "input" || n.op == "constant" || n.inputs.empty())
      continue;
    bool all_constant = true;
    for (int input : n.inputs)
      all_constant = all_constant && result.node(input).op == "constant";
    if (!all_constant)
      continue;
    std::vector<const std::vector<float>*> operands;
    for (int input : n.inputs)
      operands.push_back(result.node(input).data.get());
    auto values = interpret_node(result, n, operands);
    n.op = "constant";
    n.inputs.clear();
    n.ints.clear();
    n.floats.clear();
    n.data = std::make_shared<const std::vector<float>>(std::move(values));
  }
  return remove_dead_nodes(result);
}

} // namespace troupe::compiler
