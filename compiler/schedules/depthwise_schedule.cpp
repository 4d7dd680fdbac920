#include "compiler/schedules/depthwise_schedule.hpp"

#include "compiler/schedules/injective_schedule.hpp"

namespace troupe::compiler {

void schedule_depthwise_conv2d(schedule& s, const tensor& master, const tensor& output) {
  for (auto& input : direct_inputs(s.at(master).op))
    if (input->kind == tensor_kind::compute && s.at(input).attach != attach_kind::at) {
      s.compute_root(input);
      schedule_injective(s, input);
    }
  tensor accumulator = master;
  if (master == output)
    accumulator = s.cache_write(master);
  auto& axes = output->axes;  // n, c, y, x
  auto plane = s.fuse(output, axes[0].var, axes[1].var);
  s.parallel(output, plane);
  int64_t width = axes[3].extent;
  int64_t lanes = width % 16 == 0 ? 16 : width % 8 == 0 ? 8 : width <= 16 ? width : 0;
  if (lanes > 0) {
    auto [xo, xi] = s.split(output, axes[3].var, lanes);
    s.vectorize(output, xi);
  }
  s.compute_at(accumulator, output, axes[2].var);
  auto leaves = s.at(accumulator).leaf_vars;  // n, c, y, x, ry, rx
  auto x = leaves[3], ry = leaves[4], rx = leaves[5];
  if (lanes > 0) {
    auto [xo, xi] = s.split(accumulator, x, lanes);
    s.reorder(accumulator, {xo, ry, rx, xi});
    s.vectorize(accumulator, xi);
  } else {
    s.reorder(accumulator, {ry, rx, x});
  }
  s.unroll(accumulator, ry);
  s.unroll(accumulator, rx);
}

} // namespace troupe::compiler
