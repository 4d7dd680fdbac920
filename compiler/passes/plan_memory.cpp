#include "compiler/passes/plan_memory.hpp"

#include "compiler/passes/fuse_operators.hpp"

#include <algorithm>

namespace troupe::compiler {

memory_plan plan_memory(const graph& g) {
  auto groups = groups_of(g);
  memory_plan plan;
  plan.storage_of.assign(g.nodes.size(), -1);
  std::vector<bool> is_output(g.nodes.size(), false);
  for (int out : g.outputs)
    is_output[static_cast<size_t>(out)] = true;
  // The last group that reads each group output.
  std::vector<int> last_reader(g.nodes.size(), -1);
  for (size_t k = 0; k < groups.members.size(); ++k)
    for (int member : groups.members[k])
      for (int input : g.node(member).inputs)
        if (g.node(input).fusion_group != static_cast<int>(k))
          last_reader[static_cast<size_t>(input)] = static_cast<int>(k);
  std::vector<int> free_blocks;
  std::vector<std::vector<int>> release_after(groups.members.size());
  for (size_t k = 0; k < groups.members.size(); ++k) {
    int out = groups.output[k];
    if (!is_output[static_cast<size_t>(out)]) {
      int64_t bytes = g.elements(out) * 4;
      plan.naive_bytes += bytes;
      // Smallest free block that fits, else grow the largest free block.
      int chosen = -1;
      for (int block : free_blocks)
        if (plan.storage_bytes[static_cast<size_t>(block)] >= bytes
            && (chosen < 0 || plan.storage_bytes[static_cast<size_t>(block)]
                                  < plan.storage_bytes[static_cast<size_t>(chosen)]))
          chosen = block;
      if (chosen < 0 && !free_blocks.empty()) {
        chosen = *std::max_element(free_blocks.begin(), free_blocks.end(), [&](int a, int b) {
          return plan.storage_bytes[static_cast<size_t>(a)] < plan.storage_bytes[static_cast<size_t>(b)];
        });
        plan.storage_bytes[static_cast<size_t>(chosen)] = bytes;
      }
      if (chosen < 0) {
        chosen = static_cast<int>(plan.storage_bytes.size());
        plan.storage_bytes.push_back(bytes);
      }
      free_blocks.erase(std::remove(free_blocks.begin(), free_blocks.end(), chosen), free_blocks.end());
      plan.storage_of[static_cast<size_t>(out)] = chosen;
      int reader = last_reader[static_cast<size_t>(out)];
      // A value nobody reads is free at once (after its own group).
      release_after[static_cast<size_t>(reader >= 0 ? reader : static_cast<int>(k))].push_back(chosen);
    }
    for (int block : release_after[k])
      free_blocks.push_back(block);
  }
  for (auto bytes : plan.storage_bytes)
    plan.planned_bytes += bytes;
  return plan;
}

} // namespace troupe::compiler
