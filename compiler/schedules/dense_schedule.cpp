#include "compiler/schedules/dense_schedule.hpp"

#include <algorithm>

namespace troupe::compiler {

void schedule_dense_packed(schedule& s, const tensor& master, const tensor& output,
                           int64_t panel_width) {
  tensor accumulator = master;
  tensor out = output;
  if (master == output)
    accumulator = s.cache_write(master);
  int64_t rows = out->shape[0];
  int64_t tile_m = std::min<int64_t>(rows, 8);
  auto tiles = s.tile(out, out->axes[0].var, out->axes[1].var, tile_m, panel_width);
  s.reorder(out, {tiles[1], tiles[0]});
  s.vectorize(out, tiles[3]);
  s.compute_at(accumulator, out, tiles[0]);
  auto& acc = s.at(accumulator);
  auto i = acc.leaf_vars[0], j = acc.leaf_vars[1], k = acc.leaf_vars[2];
  auto [ko, ki] = s.split(accumulator, k, 4);
  s.reorder(accumulator, {ko, ki, i, j});
  s.unroll(accumulator, ki);
  s.unroll(accumulator, i);
  s.vectorize(accumulator, j);
  s.parallel(out, tiles[1]);
}

} // namespace troupe::compiler
