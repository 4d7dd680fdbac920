#include "compiler/schedules/depthwise_schedule.hpp"

#include "compiler/schedules/injective_schedule.hpp"
#include <algorithm>

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

namespace troupe::compiler {

namespace {

// Pixels per register tile: a divisor of OW from 4 to 8 (7 or 8
// accumulators leave registers for the input vectors each tap reuses), else
// the whole row when it is short, else the largest divisor up to 14.
int64_t pick_reg_n(int64_t width) {
  for (int64_t n = std::min<int64_t>(width, 8); n >= 4; --n)
    if (width % n == 0)
      return n;
  if (width <= 14)
    return width;
  for (int64_t n = 14; n > 1; --n)
    if (width % n == 0)
      return n;
  return 1;
}

} // namespace

int64_t default_depthwise_reg_n(int64_t width) {
  return pick_reg_n(width);
}

void schedule_depthwise_conv2d_nchwc(schedule& s, const tensor& master, const tensor& output,
                                     const depthwise_config& config) {
  tensor accumulator = master;
  if (master == output)
    accumulator = s.cache_write(master);
  // The padding reads inline: its selects are per pixel and tap, which the
  // unrolled tile turns into a few scalar compares, and no padded copy of
  // the input is written.
  for (auto& input : direct_inputs(s.at(accumulator).op))
    if (input->kind == tensor_kind::compute && s.at(input).attach != attach_kind::inlined)
      s.compute_inline(input);
  auto& axes = output->axes;  // n, cb, oh, ow, c
  int64_t reg_n = config.reg_n > 0 ? config.reg_n : pick_reg_n(axes[3].extent);
  auto plane = s.fuse(output, axes[0].var, axes[1].var);
  s.parallel(output, plane);
  auto [owo, owi] = s.split(output, axes[3].var, reg_n);
  if (config.reg_h > 1) {
    // A tile of reg_h rows: an input row feeds the taps of every row of
    // the tile that reads it.
    auto [oho, ohi] = s.split(output, axes[2].var, config.reg_h);
    s.reorder(output, {plane, oho, owo, ohi, owi, axes[4].var});
    s.unroll(output, ohi);
  }
  s.unroll(output, owi);
  s.vectorize(output, axes[4].var);
  s.compute_at(accumulator, output, owo);
  auto leaves = s.at(accumulator).leaf_vars;  // n, cb, oh, ow, c, ry, rx
  auto ry = leaves[5], rx = leaves[6], row = leaves[2], pixel = leaves[3], lane = leaves[4];
  s.reorder(accumulator, {ry, rx, row, pixel, lane});
  s.unroll(accumulator, ry);
  s.unroll(accumulator, rx);
  s.unroll(accumulator, row);
  s.unroll(accumulator, pixel);
  s.vectorize(accumulator, lane);
}

} // namespace troupe::compiler
