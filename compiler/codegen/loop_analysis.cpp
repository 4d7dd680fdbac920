#include "compiler/codegen/loop_analysis.hpp"

namespace troupe::compiler {

bool depends_on(const expr& e, const expr_node* var) {
  if (!e)
    return false;
  if (e.get() == var)
    return true;
  for (auto& arg : e->args)
    if (depends_on(arg, var))
      return true;
  return false;
}

std::optional<int64_t> stride_of(const expr& e, const expr_node* var) {
  if (!depends_on(e, var))
    return 0;
  auto both = [&](auto combine) -> std::optional<int64_t> {
    auto a = stride_of(e->args[0], var);
    auto b = stride_of(e->args[1], var);
    if (!a || !b)
      return std::nullopt;
    return combine(*a, *b);
  };
  auto scaled = [&](const expr& operand, int64_t factor) -> std::optional<int64_t> {
    auto stride = stride_of(operand, var);
    if (!stride)
      return std::nullopt;
    return *stride * factor;
  };
  int64_t factor = 0;
  switch (e->op) {
    case expr_op::var: return 1;
    case expr_op::add: return both([](int64_t a, int64_t b) { return a + b; });
    case expr_op::sub: return both([](int64_t a, int64_t b) { return a - b; });
    case expr_op::mul:
      if (is_const_int(e->args[0], &factor))
        return scaled(e->args[1], factor);
      if (is_const_int(e->args[1], &factor))
        return scaled(e->args[0], factor);
      return std::nullopt;
    default: return std::nullopt;
  }
}

namespace {

// Integer division by a non-constant: in a lane masked off by a guard the
// divisor may be zero, which traps even though no result is kept.
bool divides_by_variable(const expr& e) {
  if (!e)
    return false;
  if ((e->op == expr_op::div || e->op == expr_op::mod) && e->type == dtype::i64
      && !is_const_int(e->args[1]))
    return true;
  for (auto& arg : e->args)
    if (divides_by_variable(arg))
      return true;
  return false;
}

bool vectorizable(const stmt& s, const expr_node* var, bool guarded) {
  switch (s->op) {
    case stmt_op::seq:
      for (auto& child : s->body)
        if (!vectorizable(child, var, guarded))
          return false;
      return true;
    case stmt_op::if_then_else:
      if (guarded && divides_by_variable(s->condition))
        return false;
      for (auto& branch : s->body)
        if (!vectorizable(branch, var, guarded || depends_on(s->condition, var)))
          return false;
      return true;
    case stmt_op::store:
      if (guarded && (divides_by_variable(s->index) || divides_by_variable(s->value)))
        return false;
      return depends_on(s->index, var) || !depends_on(s->value, var);
    default: return false;
  }
}

}  // namespace

bool vectorizable(const stmt& s, const expr_node* var) {
  return vectorizable(s, var, false);
}

void references::add(const expr& e) {
  if (!e)
    return;
  if (e->op == expr_op::var && seen_.insert(e.get()).second)
    vars.push_back(e.get());
  if (e->target && seen_.insert(e->target.get()).second)
    buffers.push_back(e->target.get());
  for (auto& arg : e->args)
    add(arg);
}

void references::add(const stmt& s) {
  if (!s)
    return;
  add(s->loop_var);
  add(s->min);
  add(s->extent);
  add(s->index);
  add(s->value);
  add(s->condition);
  if (s->target && seen_.insert(s->target.get()).second)
    buffers.push_back(s->target.get());
  for (auto& b : s->call_buffers)
    if (seen_.insert(b.get()).second)
      buffers.push_back(b.get());
  for (auto& e : s->call_offsets)
    add(e);
  for (auto& e : s->call_scalars)
    add(e);
  for (auto& child : s->body)
    add(child);
}

}  // namespace troupe::compiler
