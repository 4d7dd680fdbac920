#include "compiler/passes/fuse_operators.hpp"

#include "compiler/graph/op_registry.hpp"
#include "compiler/ir/compile_error.hpp"

#include <algorithm>
#include <map>

namespace troupe::compiler {

namespace {

bool is_source(const graph_node& n) { return n.op == "input" || n.op == "constant"; }

} // namespace

graph fuse_operators(const graph& g) {
  graph result = g;
  auto users = g.users();
  std::vector<int> group(g.nodes.size(), -1);
  std::map<int, op_pattern> pattern;  // by group id (the id of its first node)
  auto is_output = [&](int id) {
    return std::find(g.outputs.begin(), g.outputs.end(), id) != g.outputs.end();
  };
  auto fusable_producer = [&](int input) {
    return !is_source(g.node(input)) && users[static_cast<size_t>(input)].size() == 1
           && !is_output(input);
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    auto& n = g.nodes[i];
    if (is_source(n))
      continue;
    int id = static_cast<int>(i);
    auto kind = lookup_op(n.op).pattern;
    group[i] = id;
    pattern[id] = kind;
    if (kind == op_pattern::injective) {
      for (int input : n.inputs) {
        if (!fusable_producer(input))
          continue;
        int producer_group = group[static_cast<size_t>(input)];
        auto producer_kind = pattern.at(producer_group);
        if (producer_kind == op_pattern::injective
            || producer_kind == op_pattern::complex_out_fusable) {
          group[i] = producer_group;
          pattern.erase(id);
          break;
        }
      }
    } else if (kind == op_pattern::reduction) {
      for (int input : n.inputs) {
        if (!fusable_producer(input))
          continue;
        int producer_group = group[static_cast<size_t>(input)];
        if (pattern.at(producer_group) != op_pattern::injective)
          continue;
        for (auto& member : group)
          if (member == producer_group)
            member = id;
        pattern.erase(producer_group);
      }
    }
  }
  // Number groups by the position of their output (the last member).
  std::map<int, int> last_member;
  for (size_t i = 0; i < group.size(); ++i)
    if (group[i] >= 0)
      last_member[group[i]] = static_cast<int>(i);
  std::vector<std::pair<int, int>> by_output;
  for (auto& [key, last] : last_member)
    by_output.push_back({last, key});
  std::sort(by_output.begin(), by_output.end());
  std::map<int, int> number;
  for (size_t k = 0; k < by_output.size(); ++k)
    number[by_output[k].second] = static_cast<int>(k);
  for (size_t i = 0; i < group.size(); ++i)
    result.nodes[i].fusion_group = group[i] >= 0 ? number.at(group[i]) : -1;
  return result;
}

fusion_groups groups_of(const graph& g) {
  fusion_groups result;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    int k = g.nodes[i].fusion_group;
    if (k < 0) {
      if (g.nodes[i].op != "input" && g.nodes[i].op != "constant")
        throw compile_error("groups_of: the graph is not fused (run fuse_operators)");
      continue;
    }
    if (static_cast<size_t>(k) >= result.members.size()) {
      result.members.resize(static_cast<size_t>(k) + 1);
      result.output.resize(static_cast<size_t>(k) + 1, -1);
    }
    result.members[static_cast<size_t>(k)].push_back(static_cast<int>(i));
    result.output[static_cast<size_t>(k)] = static_cast<int>(i);
  }
  return result;
}

} // namespace troupe::compiler
