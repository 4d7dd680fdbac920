#include "compiler/ir/stmt.hpp"

#include "compiler/ir/compile_error.hpp"

#include <fmt/format.h>

namespace troupe::compiler {

const char* to_string(loop_kind kind) {
  switch (kind) {
    case loop_kind::serial: return "for";
    case loop_kind::parallel: return "parallel";
    case loop_kind::vectorized: return "vectorized";
    case loop_kind::unrolled: return "unrolled";
  }
  return "?";
}

namespace {

std::shared_ptr<stmt_node> node(stmt_op op) {
  auto result = std::make_shared<stmt_node>();
  result->op = op;
  return result;
}

} // namespace

stmt for_loop(expr loop_var, expr min, expr extent, loop_kind kind, stmt body) {
  if (!loop_var || loop_var->op != expr_op::var || loop_var->type != dtype::i64)
    throw compile_error("a loop needs an integer variable");
  if (!min || !extent || min->type != dtype::i64 || extent->type != dtype::i64)
    throw compile_error(fmt::format("loop '{}' needs integer bounds", loop_var->name));
  if ((kind == loop_kind::vectorized || kind == loop_kind::unrolled) && !is_const_int(extent))
    throw compile_error(fmt::format("{} loop '{}' needs a constant extent", to_string(kind),
                                    loop_var->name));
  if (!body)
    throw compile_error(fmt::format("loop '{}' has no body", loop_var->name));
  auto result = node(stmt_op::for_loop);
  result->loop_var = std::move(loop_var);
  result->min = std::move(min);
  result->extent = std::move(extent);
  result->kind = kind;
  result->body = {std::move(body)};
  return result;
}

stmt store(buffer target, expr index, expr value) {
  if (!target || !index || !value)
    throw compile_error("store needs a buffer, an index and a value");
  if (index->type != dtype::i64)
    throw compile_error(fmt::format("store into '{}' with a non-integer index", target->name));
  if (value->type != target->type)
    throw compile_error(fmt::format("store of {} into {} buffer '{}'", to_string(value->type),
                                    to_string(target->type), target->name));
  auto result = node(stmt_op::store);
  result->target = std::move(target);
  result->index = std::move(index);
  result->value = std::move(value);
  return result;
}

stmt seq(std::vector<stmt> statements) {
  std::vector<stmt> flat;
  for (auto& s : statements) {
    if (!s)
      continue;
    if (s->op == stmt_op::seq)
      flat.insert(flat.end(), s->body.begin(), s->body.end());
    else
      flat.push_back(std::move(s));
  }
  if (flat.size() == 1)
    return flat.front();
  auto result = node(stmt_op::seq);
  result->body = std::move(flat);
  return result;
}

stmt allocate(buffer local, stmt body) {
  if (!local || !body)
    throw compile_error("allocate needs a buffer and a body");
  auto result = node(stmt_op::allocate);
  result->target = std::move(local);
  result->body = {std::move(body)};
  return result;
}

stmt if_then_else(expr condition, stmt then_case, stmt else_case) {
  if (!condition || condition->type != dtype::boolean)
    throw compile_error("if needs a boolean condition");
  if (!then_case)
    throw compile_error("if needs a then-branch");
  auto result = node(stmt_op::if_then_else);
  result->condition = std::move(condition);
  result->body = {std::move(then_case)};
  if (else_case)
    result->body.push_back(std::move(else_case));
  return result;
}

} // namespace troupe::compiler

namespace troupe::compiler {

stmt call_extern(std::string callee, std::vector<buffer> buffers, std::vector<expr> offsets,
                 std::vector<expr> scalars) {
  if (callee.empty() || buffers.size() != offsets.size())
    throw compile_error("call_extern needs a name and one offset per buffer");
  for (auto& e : offsets)
    if (!e || e->type != dtype::i64)
      throw compile_error(fmt::format("call of '{}': offsets must be integers", callee));
  for (auto& e : scalars)
    if (!e || e->type != dtype::i64)
      throw compile_error(fmt::format("call of '{}': scalar arguments must be integers", callee));
  auto result = std::make_shared<stmt_node>();
  result->op = stmt_op::call_extern;
  result->callee = std::move(callee);
  result->call_buffers = std::move(buffers);
  result->call_offsets = std::move(offsets);
  result->call_scalars = std::move(scalars);
  return result;
}

} // namespace troupe::compiler
