#include "compiler/schedule/tensor_intrinsic.hpp"

namespace troupe::compiler {

tensor_intrinsic gemm_accumulate_intrinsic(int64_t m, int64_t n, int64_t k) {
  tensor_intrinsic intrinsic;
  intrinsic.name = "gemm_accumulate";
  auto a = placeholder({m, k}, "a");
  auto b = placeholder({k, n}, "b");
  auto r = reduce_axis(k, "r");
  intrinsic.declaration = compute({m, n}, [&](const std::vector<expr>& i) {
    return sum(read(a, {i[0], r.var}) * read(b, {r.var, i[1]}), {r});
  }, "c");
  intrinsic.inputs = {a, b};
  intrinsic.symbol = "troupe_gemm_accumulate_f32";
  return intrinsic;
}

} // namespace troupe::compiler
