// The hand-written schedule for fp32 matrix products on a CPU with wide
// vectors: B packed into column panels [N/nr][K][nr] (contiguous for the
// micro-kernel), C computed in mr x nr register tiles (mr rows unrolled, nr
// columns as vectors) with the reduction outside the tile, tiles spread
// over the thread pool. The knobs are the autotuner's search space.
#pragma once

#include "compiler/schedule/schedule.hpp"

namespace troupe::compiler {

struct matmul_config {
  int64_t tile_m = 8;     ///< rows of the register tile (unrolled)
  int64_t tile_n = 32;    ///< columns of the register tile (vector lanes); divides N
  int64_t unroll_k = 4;   ///< reduction steps unrolled inside the micro-kernel
  bool columns_outer = true;  ///< iterate column panels outside row tiles (B panel stays in L2)
  bool parallel = true;
  /// Tensorize the register tile with the AVX-512 gemm kernel
  /// (gemm_accumulate_intrinsic) instead of generating it.
  bool tensorize = false;
  /// Reduction block of the tensorized kernel (0: all of K).
  int64_t block_k = 0;
};

struct matmul_kernel {
  tensor a, b, packed_b, c;
  std::unique_ptr<schedule> sched;
  /// The function's parameters: A [M, K], B [K, N], C [M, N].
  std::vector<tensor> args() const { return {a, b, c}; }
};

/// C = A x B with `config`'s schedule. Throws compile_error when tile_n
/// does not divide N or a knob is not positive.
matmul_kernel make_matmul(int64_t m, int64_t n, int64_t k, const matmul_config& config);

} // namespace troupe::compiler
