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

bool vectorizable(const stmt& s, const expr_node* var) {
  switch (s->op) {
    case stmt_op::seq:
      for (auto& child : s->body)
        if (!vectorizable(child, var))
          return false;
      return true;
    case stmt_op::store: return depends_on(s->index, var) || !depends_on(s->value, var);
    default: return false;
  }
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
  for (auto& child : s->body)
    add(child);
}

}  // namespace troupe::compiler
