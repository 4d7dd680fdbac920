#include "compiler/ops/normalization.hpp"

#include "compiler/ir/compile_error.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace troupe::compiler::ops {

namespace {

std::vector<int64_t> without_last(const std::vector<int64_t>& shape) {
  std::vector<int64_t> out(shape.begin(), shape.end() - 1);
  if (out.empty())
    out.push_back(1);
  return out;
}

// Index into a reduced-over-last-axis tensor from full indices.
std::vector<expr> row_of(const std::vector<expr>& i) {
  std::vector<expr> out(i.begin(), i.end() - 1);
  if (out.empty())
    out.push_back(int_imm(0));
  return out;
}

} // namespace

tensor softmax(const tensor& x, const std::string& name) {
  int64_t n = x->shape.back();
  auto k1 = reduce_axis(n, name + ".k1");
  auto k2 = reduce_axis(n, name + ".k2");
  auto rank = x->shape.size();
  auto row_indices = [rank](const std::vector<expr>& row, const expr& last) {
    std::vector<expr> out(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(rank - 1));
    out.push_back(last);
    return out;
  };
  auto maximum = compute(without_last(x->shape), [&](const std::vector<expr>& r) {
    return max_reduce(read(x, row_indices(r, k1.var)), {k1});
  }, name + ".max");
  auto exps = compute(x->shape, [&](const std::vector<expr>& i) {
    return call("exp", {read(x, i) - read(maximum, row_of(i))});
  }, name + ".exp");
  auto total = compute(without_last(x->shape), [&](const std::vector<expr>& r) {
    return sum(read(exps, row_indices(r, k2.var)), {k2});
  }, name + ".sum");
  return compute(x->shape, [&](const std::vector<expr>& i) {
    return read(exps, i) / read(total, row_of(i));
  }, name);
}

tensor layer_norm(const tensor& x, const tensor& gamma, const tensor& beta, double eps,
                  const std::string& name) {
  int64_t n = x->shape.back();
  if (gamma->shape != std::vector<int64_t>{n} || beta->shape != std::vector<int64_t>{n})
    throw compile_error(fmt::format("{}: gamma {} and beta {} must be [{}]", name, gamma->shape,
                                    beta->shape, n));
  auto rank = x->shape.size();
  auto row_indices = [rank](const std::vector<expr>& row, const expr& last) {
    std::vector<expr> out(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(rank - 1));
    out.push_back(last);
    return out;
  };
  auto k1 = reduce_axis(n, name + ".k1");
  auto k2 = reduce_axis(n, name + ".k2");
  auto mean = compute(without_last(x->shape), [&](const std::vector<expr>& r) {
    return sum(read(x, row_indices(r, k1.var)) * float_imm(1.0 / static_cast<double>(n)), {k1});
  }, name + ".mean");
  auto variance = compute(without_last(x->shape), [&](const std::vector<expr>& r) {
    auto centered = read(x, row_indices(r, k2.var)) - read(mean, r);
    return sum(centered * centered * float_imm(1.0 / static_cast<double>(n)), {k2});
  }, name + ".var");
  return compute(x->shape, [&](const std::vector<expr>& i) {
    auto row = row_of(i);
    auto normalized = (read(x, i) - read(mean, row))
                      / call("sqrt", {read(variance, row) + float_imm(eps)});
    return normalized * read(gamma, {i.back()}) + read(beta, {i.back()});
  }, name);
}

tensor batch_norm(const tensor& x, const tensor& gamma, const tensor& beta, const tensor& mean,
                  const tensor& variance, double eps, const std::string& name) {
  if (x->shape.size() < 2)
    throw compile_error(fmt::format("{}: '{}' needs a channel axis", name, x->name));
  int64_t c = x->shape[1];
  for (auto* t : {&gamma, &beta, &mean, &variance})
    if ((*t)->shape != std::vector<int64_t>{c})
      throw compile_error(fmt::format("{}: '{}' {} must be [{}]", name, (*t)->name, (*t)->shape, c));
  return compute(x->shape, [&](const std::vector<expr>& i) {
    auto ch = std::vector<expr>{i[1]};
    auto scale = read(gamma, ch) / call("sqrt", {read(variance, ch) + float_imm(eps)});
    return (read(x, i) - read(mean, ch)) * scale + read(beta, ch);
  }, name);
}

} // namespace troupe::compiler::ops
