// Operator fusion by the four patterns of the TVM paper: injective
// operators join the group of their producer when that producer is
// injective or complex-out-fusable (conv + bias + add + relu becomes one
// function, its epilogue applied while the result is still in registers);
// a reduction absorbs the injective group that feeds it; opaque operators
// stay alone. A producer whose value is needed elsewhere (several users, or
// a graph output) is not fused away.
#pragma once

#include "compiler/graph/graph.hpp"

namespace troupe::compiler {

/// Sets fusion_group on every computing node; groups are numbered in
/// execution order (the order of their outputs).
graph fuse_operators(const graph& g);

/// The members of each group, in node order; and each group's output.
struct fusion_groups {
  std::vector<std::vector<int>> members;
  std::vector<int> output;
};
fusion_groups groups_of(const graph& g);

} // namespace troupe::compiler
