#include "compiler/ops/matmul.hpp"

#include "compiler/ir/compile_error.hpp"

#include <fmt/format.h>

namespace troupe::compiler::ops {

namespace {

void require_rank(const tensor& t, size_t rank, const std::string& op) {
  if (t->shape.size() != rank)
    throw compile_error(fmt::format("{}: '{}' must have {} dimensions, has {}", op, t->name, rank,
                                    t->shape.size()));
}

void require_equal(int64_t a, int64_t b, const std::string& op, const char* what) {
  if (a != b)
    throw compile_error(fmt::format("{}: {} differ ({} vs {})", op, what, a, b));
}

} // namespace

tensor matmul(const tensor& a, const tensor& b, const std::string& name) {
  require_rank(a, 2, name);
  require_rank(b, 2, name);
  require_equal(a->shape[1], b->shape[0], name, "inner dimensions");
  auto k = reduce_axis(a->shape[1], name + ".k");
  return compute({a->shape[0], b->shape[1]}, [&](const std::vector<expr>& i) {
    return sum(read(a, {i[0], k.var}) * read(b, {k.var, i[1]}), {k});
  }, name);
}

tensor dense(const tensor& x, const tensor& w, const std::string& name) {
  require_rank(x, 2, name);
  require_rank(w, 2, name);
  require_equal(x->shape[1], w->shape[1], name, "input features");
  auto k = reduce_axis(x->shape[1], name + ".k");
  return compute({x->shape[0], w->shape[0]}, [&](const std::vector<expr>& i) {
    return sum(read(x, {i[0], k.var}) * read(w, {i[1], k.var}), {k});
  }, name);
}

tensor dense_packed(const tensor& x, const tensor& packed_w, const std::string& name) {
  require_rank(x, 2, name);
  require_rank(packed_w, 3, name);
  require_equal(x->shape[1], packed_w->shape[1], name, "input features");
  int64_t nr = packed_w->shape[2];
  auto k = reduce_axis(x->shape[1], name + ".k");
  return compute({x->shape[0], packed_w->shape[0] * nr}, [&](const std::vector<expr>& i) {
    return sum(read(x, {i[0], k.var})
                   * read(packed_w, {i[1] / int_imm(nr), k.var, i[1] % int_imm(nr)}),
               {k});
  }, name);
}

tensor pack_dense_weight(const tensor& w, int64_t nr, const std::string& name) {
  require_rank(w, 2, name);
  if (nr <= 0 || w->shape[0] % nr != 0)
    throw compile_error(fmt::format("{}: {} outputs of '{}' do not split into panels of {}", name,
                                    w->shape[0], w->name, nr));
  return compute({w->shape[0] / nr, w->shape[1], nr}, [&](const std::vector<expr>& i) {
    return read(w, {i[0] * int_imm(nr) + i[2], i[1]});
  }, name);
}

tensor batch_matmul(const tensor& a, const tensor& b, const std::string& name) {
  require_rank(a, 3, name);
  require_rank(b, 3, name);
  require_equal(a->shape[0], b->shape[0], name, "batch sizes");
  require_equal(a->shape[2], b->shape[1], name, "inner dimensions");
  auto k = reduce_axis(a->shape[2], name + ".k");
  return compute({a->shape[0], a->shape[1], b->shape[2]}, [&](const std::vector<expr>& i) {
    return sum(read(a, {i[0], i[1], k.var}) * read(b, {i[0], k.var, i[2]}), {k});
  }, name);
}

} // namespace troupe::compiler::ops
