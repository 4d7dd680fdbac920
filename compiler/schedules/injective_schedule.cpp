#include "compiler/schedules/injective_schedule.hpp"

namespace troupe::compiler {

void schedule_injective(schedule& s, const tensor& t, int64_t vector_lanes) {
  auto& axes = s.at(t).op->axes;
  auto reductions = reduction_axes(s.at(t).op);
  if (axes.empty())
    return;
  auto last = axes.back().var;
  int64_t last_extent = axes.back().extent;
  expr vector_var;
  if (last_extent % vector_lanes == 0) {
    auto [outer, inner] = s.split(t, last, vector_lanes);
    vector_var = inner;
  } else if (last_extent <= vector_lanes && last_extent >= 4) {
    vector_var = last;
  }
  if (vector_var) {
    // The vector loop innermost, below any reduction loops.
    std::vector<expr> order;
    for (auto& axis : reductions)
      order.push_back(axis.var);
    order.push_back(vector_var);
    if (!reductions.empty())
      s.reorder(t, order);
    s.vectorize(t, vector_var);
  }
  // Parallel: the outermost loop, fused with the next while it is short.
  auto leaves = s.at(t).leaf_vars;
  auto outer = leaves.front();
  int64_t extent = s.extent(t, outer);
  size_t next = 1;
  while (extent < 8 && next < leaves.size() && !is_reduction_loop(s.at(t), leaves[next])
         && leaves[next] != vector_var) {
    outer = s.fuse(t, outer, leaves[next]);
    extent *= s.extent(t, leaves[next]);
    ++next;
  }
  if (!is_reduction_loop(s.at(t), outer) && outer != vector_var)
    s.parallel(t, outer);
}

} // namespace troupe::compiler
