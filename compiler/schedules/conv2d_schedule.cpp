#include "compiler/schedules/conv2d_schedule.hpp"

#include "compiler/schedules/injective_schedule.hpp"

#include <algorithm>
#include <vector>

namespace troupe::compiler {

namespace {

int64_t pick_reg_n(int64_t width) {
  for (int64_t n = std::min<int64_t>(width, 14); n > 1; --n)
    if (width % n == 0)
      return n;
  return 1;
}

// Narrow tiles take two channel blocks: enough accumulators to hide FMA latency.
int64_t pick_oc_tile(int64_t reg_n, int64_t channel_blocks) {
  return reg_n < 8 && channel_blocks % 2 == 0 ? 2 : 1;
}

} // namespace

conv2d_config default_conv2d_config(int64_t width, int64_t channel_blocks) {
  conv2d_config c;
  c.reg_n = pick_reg_n(width);
  c.oc_tile = pick_oc_tile(c.reg_n, channel_blocks);
  return c;
}

void schedule_conv2d_nchwc(schedule& s, const tensor& master, const tensor& output,
                           const conv2d_config& config) {
  // Padding (a direct input of the master, named "<conv>.pad"): its own
  // parallel, vectorized stage.
  for (auto& input : direct_inputs(s.at(master).op))
    if (input->kind == tensor_kind::compute && s.at(input).attach != attach_kind::at) {
      s.compute_root(input);
      schedule_injective(s, input);
    }
  tensor accumulator = master;
  tensor out = output;
  if (master == output)
    accumulator = s.cache_write(master);
  auto& axes = out->axes;  // n, oc.o, oh, ow, oc.i
  int64_t reg_n = config.reg_n > 0 ? config.reg_n : pick_reg_n(axes[3].extent);
  int64_t oc_tile = config.oc_tile > 0 ? config.oc_tile : pick_oc_tile(reg_n, axes[1].extent);
  int64_t reg_h = std::max<int64_t>(1, config.reg_h);
  // n, oc.o, oh, ow, oc.i becomes n, oc.o.o, oh.o, ow.o | oh.i, oc.o.i, ow.i, oc.i:
  // the loops right of the bar make one register tile.
  auto [owo, owi] = s.split(out, axes[3].var, reg_n);
  s.vectorize(out, axes[4].var);
  expr channels = axes[1].var, rows = axes[2].var;
  std::vector<expr> tile;
  if (reg_h > 1) {
    auto [oho, ohi] = s.split(out, axes[2].var, reg_h);
    rows = oho;
    tile.push_back(ohi);
  }
  if (oc_tile > 1) {
    auto [oco, oci_tile] = s.split(out, axes[1].var, oc_tile);
    channels = oco;
    tile.push_back(oci_tile);
  }
  if (!tile.empty()) {
    std::vector<expr> order{axes[0].var, channels, rows, owo};
    order.insert(order.end(), tile.begin(), tile.end());
    order.push_back(owi);
    order.push_back(axes[4].var);
    s.reorder(out, order);
  }
  auto bands = s.fuse(out, channels, rows);
  auto tasks = s.fuse(out, axes[0].var, bands);
  s.parallel(out, tasks);
  s.compute_at(accumulator, out, owo);
  auto leaves = s.at(accumulator).leaf_vars;  // n, oc.o, oh, ow, oc.i, rco, ry, rx, rci
  auto oc = leaves[1], oh = leaves[2], ow = leaves[3], oci = leaves[4];
  auto rco = leaves[5], ry = leaves[6], rx = leaves[7], rci = leaves[8];
  if (config.taps_outer)
    s.reorder(accumulator, {ry, rx, rco, rci, oh, oc, ow, oci});
  else
    s.reorder(accumulator, {rco, ry, rx, rci, oh, oc, ow, oci});
  if (config.unroll_taps)
    s.unroll(accumulator, rx);
  s.unroll(accumulator, oh);
  s.unroll(accumulator, oc);
  s.unroll(accumulator, ow);
  s.vectorize(accumulator, oci);
}

} // namespace troupe::compiler
