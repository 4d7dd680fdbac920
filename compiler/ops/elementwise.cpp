#include "compiler/ops/elementwise.hpp"

#include "compiler/ir/compile_error.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace troupe::compiler::ops {

namespace {

// The indices into `t` for the output indices `out` of a broadcast.
std::vector<expr> broadcast_indices(const tensor& t, const std::vector<expr>& out) {
  std::vector<expr> indices;
  size_t offset = out.size() - t->shape.size();
  for (size_t d = 0; d < t->shape.size(); ++d)
    indices.push_back(t->shape[d] == 1 ? int_imm(0) : out[offset + d]);
  return indices;
}

tensor broadcast_binary(const tensor& a, const tensor& b, expr_op op, const std::string& name) {
  auto shape = broadcast_shape(a, b);
  return compute(shape, [&](const std::vector<expr>& i) {
    return binary(op, read(a, broadcast_indices(a, i)), read(b, broadcast_indices(b, i)));
  }, name);
}

} // namespace

std::vector<int64_t> broadcast_shape(const tensor& a, const tensor& b) {
  size_t rank = std::max(a->shape.size(), b->shape.size());
  std::vector<int64_t> shape(rank, 1);
  for (size_t d = 0; d < rank; ++d) {
    auto dim = [&](const tensor& t) -> int64_t {
      size_t offset = rank - t->shape.size();
      return d < offset ? 1 : t->shape[d - offset];
    };
    int64_t x = dim(a), y = dim(b);
    if (x != y && x != 1 && y != 1)
      throw compile_error(fmt::format("cannot broadcast '{}' {} with '{}' {}", a->name, a->shape,
                                      b->name, b->shape));
    shape[d] = std::max(x, y);
  }
  return shape;
}

tensor relu(const tensor& x, const std::string& name) {
  return unary(x, [](expr v) { return max_of(v, float_imm(0)); }, name);
}

tensor add(const tensor& a, const tensor& b, const std::string& name) {
  return broadcast_binary(a, b, expr_op::add, name);
}

tensor multiply(const tensor& a, const tensor& b, const std::string& name) {
  return broadcast_binary(a, b, expr_op::mul, name);
}

tensor subtract(const tensor& a, const tensor& b, const std::string& name) {
  return broadcast_binary(a, b, expr_op::sub, name);
}

tensor bias_add(const tensor& x, const tensor& bias, size_t axis, const std::string& name) {
  if (bias->shape.size() != 1 || axis >= x->shape.size() || bias->shape[0] != x->shape[axis])
    throw compile_error(fmt::format("{}: bias '{}' {} does not match axis {} of '{}' {}", name,
                                    bias->name, bias->shape, axis, x->name, x->shape));
  return compute(x->shape, [&](const std::vector<expr>& i) {
    return read(x, i) + read(bias, {i[axis]});
  }, name);
}

tensor unary(const tensor& x, const std::function<expr(expr)>& f, const std::string& name) {
  return compute(x->shape, [&](const std::vector<expr>& i) { return f(read(x, i)); }, name);
}

} // namespace troupe::compiler::ops
