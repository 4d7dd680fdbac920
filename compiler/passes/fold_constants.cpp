#include "compiler/passes/fold_constants.hpp"

#include "compiler/graph/op_registry.hpp"
#include "compiler/ir/interpreter.hpp"
#include "compiler/lower/lower.hpp"

namespace troupe::compiler {

namespace {

std::vector<float> evaluate(const graph& g, const graph_node& n) {
  std::vector<tensor> inputs;
  for (int input : n.inputs)
    inputs.push_back(placeholder(g.node(input).shape, g.node(input).name));
  auto out = lookup_op(n.op).build(n, inputs);
  schedule s({out});
  auto args = inputs;
  args.push_back(out);
  auto func = lower(s, args, "fold_" + n.name);
  std::vector<float> result(static_cast<size_t>(element_count(out)));
  std::vector<void*> pointers;
  for (int input : n.inputs)
    pointers.push_back(const_cast<float*>(g.node(input).data->data()));
  pointers.push_back(result.data());
  interpret(func, pointers);
  return result;
}

} // namespace

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
    auto values = evaluate(result, n);
    n.op = "constant";
    n.inputs.clear();
    n.ints.clear();
    n.floats.clear();
    n.data = std::make_shared<const std::vector<float>>(std::move(values));
  }
  return remove_dead_nodes(result);
}

} // namespace troupe::compiler
