#include "compiler/te/tensor.hpp"

#include "compiler/ir/compile_error.hpp"

#include <fmt/format.h>

#include <limits>
#include <set>

namespace troupe::compiler {

namespace {

void check_shape(const std::vector<int64_t>& shape, const std::string& name) {
  for (auto extent : shape)
    if (extent <= 0)
      throw compile_error(fmt::format("tensor '{}' has a non-positive dimension {}", name, extent));
}

void collect_reads(const expr& e, std::vector<tensor>& out, std::set<const tensor_node*>& seen) {
  if (!e)
    return;
  if (e->op == expr_op::tensor_read && seen.insert(e->source.get()).second)
    out.push_back(e->source);
  for (auto& arg : e->args)
    collect_reads(arg, out, seen);
}

expr make_reduce(reduce_kind combiner, expr source, std::vector<iter_var> axes) {
  if (!source)
    throw compile_error("reduction of a missing expression");
  if (axes.empty())
    throw compile_error("reduction without axes");
  for (auto& axis : axes)
    if (!axis.is_reduction)
      throw compile_error(fmt::format("'{}' is not a reduction axis (use reduce_axis)",
                                      axis.var->name));
  expr identity;
  bool is_float = source->type == dtype::f32;
  switch (combiner) {
    case reduce_kind::sum: identity = is_float ? float_imm(0) : int_imm(0); break;
    case reduce_kind::max:
      identity = is_float ? float_imm(-std::numeric_limits<float>::infinity())
                          : int_imm(std::numeric_limits<int64_t>::min());
      break;
    case reduce_kind::min:
      identity = is_float ? float_imm(std::numeric_limits<float>::infinity())
                          : int_imm(std::numeric_limits<int64_t>::max());
      break;
  }
  auto node = std::make_shared<expr_node>();
  node->op = expr_op::reduce;
  node->type = source->type;
  node->combiner = combiner;
  node->args = {std::move(source), std::move(identity)};
  node->axes = std::move(axes);
  return node;
}

} // namespace

tensor placeholder(std::vector<int64_t> shape, std::string name, dtype type) {
  check_shape(shape, name);
  auto node = std::make_shared<tensor_node>();
  node->name = std::move(name);
  node->shape = std::move(shape);
  node->type = type;
  node->kind = tensor_kind::placeholder;
  return node;
}

tensor compute(std::vector<int64_t> shape, const index_formula& formula, std::string name) {
  check_shape(shape, name);
  auto node = std::make_shared<tensor_node>();
  node->name = std::move(name);
  node->shape = std::move(shape);
  node->kind = tensor_kind::compute;
  std::vector<expr> indices;
  static const char* axis_names[] = {"i", "j", "k", "l", "m", "n", "o", "p"};
  for (size_t d = 0; d < node->shape.size(); ++d) {
    std::string axis_name = d < 8 ? axis_names[d] : fmt::format("ax{}", d);
    iter_var axis{make_var(node->name + "." + axis_name), node->shape[d], false};
    indices.push_back(axis.var);
    node->axes.push_back(std::move(axis));
  }
  node->body = formula(indices);
  if (!node->body)
    throw compile_error(fmt::format("the formula of '{}' returned no expression", node->name));
  node->type = node->body->type;
  return node;
}

iter_var reduce_axis(int64_t extent, std::string name) {
  if (extent <= 0)
    throw compile_error(fmt::format("reduction axis '{}' needs a positive extent, got {}", name,
                                    extent));
  return iter_var{make_var(std::move(name)), extent, true};
}

expr sum(expr source, std::vector<iter_var> axes) {
  return make_reduce(reduce_kind::sum, std::move(source), std::move(axes));
}

expr max_reduce(expr source, std::vector<iter_var> axes) {
  return make_reduce(reduce_kind::max, std::move(source), std::move(axes));
}

expr min_reduce(expr source, std::vector<iter_var> axes) {
  return make_reduce(reduce_kind::min, std::move(source), std::move(axes));
}

expr read(const tensor& t, std::vector<expr> indices) {
  if (!t)
    throw compile_error("read of a missing tensor");
  if (indices.size() != t->shape.size())
    throw compile_error(fmt::format("tensor '{}' has {} dimensions, read with {} indices", t->name,
                                    t->shape.size(), indices.size()));
  for (auto& index : indices)
    if (!index || index->type != dtype::i64)
      throw compile_error(fmt::format("tensor '{}' read with a non-integer index", t->name));
  auto node = std::make_shared<expr_node>();
  node->op = expr_op::tensor_read;
  node->type = t->type;
  node->source = t;
  node->args = std::move(indices);
  return node;
}

const std::vector<iter_var>& reduction_axes(const tensor& t) {
  static const std::vector<iter_var> none;
  if (t && t->body && t->body->op == expr_op::reduce)
    return t->body->axes;
  return none;
}

std::vector<tensor> direct_inputs(const tensor& t) {
  std::vector<tensor> out;
  std::set<const tensor_node*> seen;
  if (t->kind == tensor_kind::compute)
    collect_reads(t->body, out, seen);
  return out;
}

std::vector<tensor> topological_order(const std::vector<tensor>& outputs) {
  std::vector<tensor> order;
  std::set<const tensor_node*> done;
  std::set<const tensor_node*> visiting;
  std::function<void(const tensor&)> visit = [&](const tensor& t) {
    if (done.count(t.get()))
      return;
    if (!visiting.insert(t.get()).second)
      throw compile_error(fmt::format("tensor '{}' depends on itself", t->name));
    for (auto& input : direct_inputs(t))
      visit(input);
    visiting.erase(t.get());
    done.insert(t.get());
    order.push_back(t);
  };
  for (auto& t : outputs)
    visit(t);
  return order;
}

int64_t element_count(const tensor& t) {
  int64_t count = 1;
  for (auto extent : t->shape)
    count *= extent;
  return count;
}

} // namespace troupe::compiler
