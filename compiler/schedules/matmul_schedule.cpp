#include "compiler/schedules/matmul_schedule.hpp"

#include "compiler/ir/compile_error.hpp"

#include <fmt/format.h>

namespace troupe::compiler {

matmul_kernel make_matmul(int64_t m, int64_t n, int64_t k, const matmul_config& config) {
  if (config.tile_m <= 0 || config.tile_n <= 0 || config.unroll_k <= 0)
    throw compile_error("matmul schedule: tile and unroll sizes must be positive");
  if (n % config.tile_n != 0)
    throw compile_error(fmt::format("matmul schedule: tile_n {} does not divide N = {}",
                                    config.tile_n, n));
  matmul_kernel kernel;
  int64_t nr = config.tile_n;
  kernel.a = placeholder({m, k}, "A");
  kernel.b = placeholder({k, n}, "B");
  auto& b = kernel.b;
  kernel.packed_b = compute({n / nr, k, nr}, [&](const std::vector<expr>& i) {
    return read(b, {i[1], i[0] * int_imm(nr) + i[2]});
  }, "B.packed");
  auto r = reduce_axis(k, "k");
  auto& a = kernel.a;
  auto& packed = kernel.packed_b;
  kernel.c = compute({m, n}, [&](const std::vector<expr>& i) {
    return sum(read(a, {i[0], r.var}) * read(packed, {i[1] / int_imm(nr), r.var, i[1] % int_imm(nr)}),
               {r});
  }, "C");
  kernel.sched = std::make_unique<schedule>(std::vector<tensor>{kernel.c});
  auto& s = *kernel.sched;
  auto& c = kernel.c;

  // Packing: one panel per task, rows of nr contiguous floats.
  auto& p_axes = packed->axes;
  if (config.parallel)
    s.parallel(packed, p_axes[0].var);
  s.vectorize(packed, p_axes[2].var);

  if (config.tensorize) {
    int64_t kb = config.block_k > 0 ? config.block_k : k;
    if (k % kb != 0 || m % config.tile_m != 0)
      throw compile_error(fmt::format("matmul schedule: a tensorized kernel needs tile_m | M and "
                                      "block_k | K (M = {}, K = {})", m, k));
    auto tiles = s.tile(c, c->axes[0].var, c->axes[1].var, config.tile_m, nr);
    auto [ko, ki] = s.split(c, r.var, kb);
    // j.o, i.o, k.o outside; the kernel's i.i, j.i, k.i inside.
    s.reorder(c, {tiles[1], tiles[0], ko, tiles[2], tiles[3], ki});
    s.tensorize(c, tiles[2], gemm_accumulate_intrinsic(config.tile_m, nr, kb));
    if (config.parallel)
      s.parallel(c, tiles[1]);
    return kernel;
  }
  auto local = s.cache_write(c);
  auto tiles = s.tile(c, c->axes[0].var, c->axes[1].var, config.tile_m, nr);
  // tiles: i.o, j.o, i.i, j.i
  if (config.columns_outer)
    s.reorder(c, {tiles[1], tiles[0]});
  s.vectorize(c, tiles[3]);
  s.compute_at(local, c, tiles[config.columns_outer ? 0 : 1]);
  auto& l = s.at(local);
  auto li = l.leaf_vars[0], lj = l.leaf_vars[1], lk = l.leaf_vars[2];
  auto [ko, ki] = s.split(local, lk, config.unroll_k);
  s.reorder(local, {ko, ki, li, lj});
  s.unroll(local, ki);
  s.unroll(local, li);
  s.vectorize(local, lj);
  if (config.parallel)
    s.parallel(c, config.columns_outer ? tiles[1] : tiles[0]);
  return kernel;
}

} // namespace troupe::compiler
