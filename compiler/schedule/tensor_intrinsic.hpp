// A hardware intrinsic declared in the tensor expression language (TVM's
// tensorize): what it computes, as a compute over placeholders, and the
// native kernel that computes it. schedule::tensorize replaces the loops
// below a chosen loop of a stage with a call of the kernel when those loops
// compute what the declaration computes (checked when lowering).
//
// Kernel ABI: void symbol(T* output, const T* inputs..., then the strides
// in elements of every dimension of the output and of each input in
// `inputs` order, then the extents of the declaration's axes (data axes,
// then reduction axes)), all integers int64_t. For a reduction the kernel
// accumulates into the output: lowering keeps the initialization.
#pragma once

#include "compiler/te/tensor.hpp"

#include <string>
#include <vector>

namespace troupe::compiler {

struct tensor_intrinsic {
  std::string name;
  /// What it computes: reads only `inputs`, indexed by plain axes.
  tensor declaration;
  std::vector<tensor> inputs;
  /// The native kernel (registered with the JIT, see codegen/microkernels.hpp).
  std::string symbol;
};

/// C[m, n] += A[m, k] * B[k, n] for one register tile: AVX-512 kernel
/// (8 x 32 tiles of zmm accumulators) with a portable fallback.
tensor_intrinsic gemm_accumulate_intrinsic(int64_t m, int64_t n, int64_t k);

} // namespace troupe::compiler
