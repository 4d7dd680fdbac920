#include "compiler/schedules/conv2d_schedule.hpp"

#include "compiler/schedules/injective_schedule.hpp"

namespace troupe::compiler {

namespace {

int64_t pick_reg_n(int64_t width) {
  for (int64_t n = std::min<int64_t>(width, 14); n > 1; --n)
    if (width % n == 0)
      return n;
  return 1;
}

} // namespace

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
  int64_t oc_tile = config.oc_tile > 0 ? config.oc_tile : (reg_n < 8 && axes[1].extent % 2 == 0 ? 2 : 1);
  auto [owo, owi] = s.split(out, axes[3].var, reg_n);
  s.vectorize(out, axes[4].var);
  expr channels = axes[1].var;
  if (oc_tile > 1) {
    auto [oco, oci_tile] = s.split(out, axes[1].var, oc_tile);
    // n, oc.o.o, oh, ow.o, oc.o.i, ow.i, oc.i
    s.reorder(out, {axes[0].var, oco, axes[2].var, owo, oci_tile, owi, axes[4].var});
    channels = oco;
  }
  auto rows = s.fuse(out, channels, axes[2].var);
  auto tasks = s.fuse(out, axes[0].var, rows);
  s.parallel(out, tasks);
  s.compute_at(accumulator, out, owo);
  auto leaves = s.at(accumulator).leaf_vars;  // n, oc.o, oh, ow, oc.i, rco, ry, rx, rci
  auto oc = leaves[1], ow = leaves[3], oci = leaves[4];
  s.reorder(accumulator, {leaves[5], leaves[6], leaves[7], leaves[8], oc, ow, oci});
  s.unroll(accumulator, oc);
  s.unroll(accumulator, ow);
  s.vectorize(accumulator, oci);
}

} // namespace troupe::compiler
