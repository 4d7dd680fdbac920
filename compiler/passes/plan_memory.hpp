// Static memory planning: the outputs of fused groups that are neither
// graph inputs nor outputs share a few storage blocks. A block is free
// again once the last group reading its tensor has run; a new tensor takes
// the smallest free block that fits (growing the largest free one if none
// fits), so the peak is close to the largest set of tensors alive at once
// rather than the sum of all of them.
#pragma once

#include "compiler/graph/graph.hpp"

namespace troupe::compiler {

struct memory_plan {
  /// Per node: the storage block holding its value, or -1 (graph inputs,
  /// outputs, constants, and values that stay inside a fused group).
  std::vector<int> storage_of;
  std::vector<int64_t> storage_bytes;
  int64_t planned_bytes = 0;  ///< sum of the blocks
  int64_t naive_bytes = 0;    ///< one buffer per intermediate tensor
};

/// REQUIRES: fuse_operators has run on `g`.
memory_plan plan_memory(const graph& g);

} // namespace troupe::compiler
