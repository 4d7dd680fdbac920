#include "compiler/ir/simplify.hpp"

#include "compiler/ir/mutate.hpp"

#include <cmath>

namespace troupe::compiler {

namespace {

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t floor_mod(int64_t a, int64_t b) { return a - floor_div(a, b) * b; }

expr fold_int(const expr& e, int64_t a, int64_t b) {
  switch (e->op) {
    case expr_op::add: return int_imm(a + b);
    case expr_op::sub: return int_imm(a - b);
    case expr_op::mul: return int_imm(a * b);
    case expr_op::div: return b == 0 ? e : int_imm(floor_div(a, b));
    case expr_op::mod: return b == 0 ? e : int_imm(floor_mod(a, b));
    case expr_op::min: return int_imm(std::min(a, b));
    case expr_op::max: return int_imm(std::max(a, b));
    case expr_op::lt: return bool_imm(a < b);
    case expr_op::le: return bool_imm(a <= b);
    case expr_op::eq: return bool_imm(a == b);
    case expr_op::ne: return bool_imm(a != b);
    case expr_op::logical_and: return bool_imm(a && b);
    case expr_op::logical_or: return bool_imm(a || b);
    default: return e;
  }
}

expr fold_float(const expr& e, double a, double b) {
  auto f = [](double v) { return static_cast<double>(static_cast<float>(v)); };
  switch (e->op) {
    case expr_op::add: return float_imm(f(a + b));
    case expr_op::sub: return float_imm(f(a - b));
    case expr_op::mul: return float_imm(f(a * b));
    case expr_op::div: return float_imm(f(a / b));
    case expr_op::min: return float_imm(std::min(a, b));
    case expr_op::max: return float_imm(std::max(a, b));
    case expr_op::lt: return bool_imm(a < b);
    case expr_op::le: return bool_imm(a <= b);
    case expr_op::eq: return bool_imm(a == b);
    case expr_op::ne: return bool_imm(a != b);
    default: return e;
  }
}

// x / c and x % c for a constant c > 0: terms whose coefficients c
// divides leave the remainder; when the ranges put the rest in [k*c,
// (k+1)*c), the division and the modulo are exact.
expr simplify_div_mod(const expr& e, int64_t c, const var_ranges& ranges) {
  auto form = to_linear_form(e->args[0]);
  linear_form quotient, remainder;
  for (auto& term : form.terms)
    (term.coefficient % c == 0 ? quotient : remainder).terms.push_back(term);
  remainder.constant = form.constant;
  auto rest = bounds_of(remainder, ranges);
  if (rest.bounded && floor_div(rest.lo, c) == floor_div(rest.hi, c)) {
    int64_t k = floor_div(rest.lo, c);
    if (e->op == expr_op::div) {
      for (auto& term : quotient.terms)
        term.coefficient /= c;
      quotient.constant = k;
      return from_linear_form(quotient);
    }
    remainder.constant -= k * c;
    return from_linear_form(remainder);
  }
  if (e->op == expr_op::mod && !quotient.terms.empty())
    return from_linear_form(remainder) % int_imm(c);
  return e;
}

expr simplify_node(const expr& e, const var_ranges& ranges) {
  int64_t a = 0, b = 0;
  auto& args = e->args;
  if (args.size() == 2 && args[0]->type != dtype::f32 && is_const_int(args[0], &a)
      && is_const_int(args[1], &b))
    return fold_int(e, a, b);
  if (args.size() == 2 && args[0]->op == expr_op::bool_imm && args[1]->op == expr_op::bool_imm)
    return fold_int(e, args[0]->int_value, args[1]->int_value);
  if (args.size() == 2 && args[0]->op == expr_op::float_imm && args[1]->op == expr_op::float_imm)
    return fold_float(e, args[0]->float_value, args[1]->float_value);
  switch (e->op) {
    case expr_op::add:
    case expr_op::sub:
    case expr_op::mul:
      if (e->type == dtype::i64)
        return from_linear_form(to_linear_form(e));
      return e;
    case expr_op::div:
    case expr_op::mod:
      if (e->type == dtype::i64 && is_const_int(args[1], &b) && b > 0)
        return simplify_div_mod(e, b, ranges);
      return e;
    case expr_op::min:
    case expr_op::max:
    case expr_op::lt:
    case expr_op::le:
    case expr_op::eq:
    case expr_op::ne: {
      if (args[0]->type != dtype::i64)
        return e;
      auto diff = bounds_of(difference(to_linear_form(args[0]), to_linear_form(args[1])), ranges);
      if (!diff.bounded)
        return e;
      switch (e->op) {
        case expr_op::min:
          if (diff.hi <= 0) return args[0];
          if (diff.lo >= 0) return args[1];
          return e;
        case expr_op::max:
          if (diff.hi <= 0) return args[1];
          if (diff.lo >= 0) return args[0];
          return e;
        case expr_op::lt:
          if (diff.hi < 0) return bool_imm(true);
          if (diff.lo >= 0) return bool_imm(false);
          return e;
        case expr_op::le:
          if (diff.hi <= 0) return bool_imm(true);
          if (diff.lo > 0) return bool_imm(false);
          return e;
        case expr_op::eq:
          if (diff.lo == 0 && diff.hi == 0) return bool_imm(true);
          if (diff.lo > 0 || diff.hi < 0) return bool_imm(false);
          return e;
        default:
          if (diff.lo == 0 && diff.hi == 0) return bool_imm(false);
          if (diff.lo > 0 || diff.hi < 0) return bool_imm(true);
          return e;
      }
    }
    case expr_op::logical_and:
      if (args[0]->op == expr_op::bool_imm) return args[0]->int_value ? args[1] : args[0];
      if (args[1]->op == expr_op::bool_imm) return args[1]->int_value ? args[0] : args[1];
      return e;
    case expr_op::logical_or:
      if (args[0]->op == expr_op::bool_imm) return args[0]->int_value ? args[0] : args[1];
      if (args[1]->op == expr_op::bool_imm) return args[1]->int_value ? args[1] : args[0];
      return e;
    case expr_op::logical_not:
      if (args[0]->op == expr_op::bool_imm) return bool_imm(!args[0]->int_value);
      return e;
    case expr_op::select:
      if (args[0]->op == expr_op::bool_imm) return args[0]->int_value ? args[1] : args[2];
      if (args[1] == args[2]) return args[1];
      return e;
    case expr_op::cast:
      if (e->type == dtype::f32 && is_const_int(args[0], &a))
        return float_imm(static_cast<double>(static_cast<float>(a)));
      return e;
    default:
      return e;
  }
}

stmt simplify_stmt(const stmt& s, var_ranges& ranges, const var_map& replacements) {
  if (!s)
    return s;
  auto simple = [&](const expr& e) { return simplify(substitute(e, replacements), ranges); };
  switch (s->op) {
    case stmt_op::for_loop: {
      auto min = simple(s->min);
      auto extent = simple(s->extent);
      int64_t count = 0;
      if (is_const_int(extent, &count) && count <= 0)
        return nullptr;
      if (count == 1 && s->kind != loop_kind::parallel) {
        auto inner = replacements;
        inner[s->loop_var.get()] = min;
        return simplify_stmt(s->body[0], ranges, inner);
      }
      auto min_range = bounds_of(min, ranges);
      if (min_range.bounded && is_const_int(extent))
        ranges[s->loop_var.get()] = {min_range.lo, min_range.hi + count - 1, true};
      auto body = simplify_stmt(s->body[0], ranges, replacements);
      ranges.erase(s->loop_var.get());
      if (!body)
        return nullptr;
      return for_loop(s->loop_var, min, extent, s->kind, body);
    }
    case stmt_op::store:
      return store(s->target, simple(s->index), simple(s->value));
    case stmt_op::seq: {
      std::vector<stmt> children;
      for (auto& child : s->body)
        if (auto simplified = simplify_stmt(child, ranges, replacements))
          children.push_back(simplified);
      if (children.empty())
        return nullptr;
      return seq(std::move(children));
    }
    case stmt_op::allocate: {
      auto body = simplify_stmt(s->body[0], ranges, replacements);
      return body ? allocate(s->target, body) : nullptr;
    }
    case stmt_op::call_extern: {
      std::vector<expr> offsets, scalars;
      for (auto& e : s->call_offsets)
        offsets.push_back(simple(e));
      for (auto& e : s->call_scalars)
        scalars.push_back(simple(e));
      return call_extern(s->callee, s->call_buffers, offsets, scalars);
    }
    case stmt_op::if_then_else: {
      auto condition = simple(s->condition);
      if (condition->op == expr_op::bool_imm) {
        if (condition->int_value)
          return simplify_stmt(s->body[0], ranges, replacements);
        return s->body.size() > 1 ? simplify_stmt(s->body[1], ranges, replacements) : nullptr;
      }
      auto then_case = simplify_stmt(s->body[0], ranges, replacements);
      auto else_case =
          s->body.size() > 1 ? simplify_stmt(s->body[1], ranges, replacements) : nullptr;
      if (!then_case && !else_case)
        return nullptr;
      if (!then_case)
        return if_then_else(logical_not(condition), else_case);
      return if_then_else(condition, then_case, else_case);
    }
  }
  return s;
}

} // namespace

expr simplify(const expr& e, const var_ranges& ranges) {
  return transform(e, [&](const expr& node) { return simplify_node(node, ranges); });
}

stmt simplify(const stmt& s) {
  var_ranges ranges;
  return simplify_stmt(s, ranges, {});
}

} // namespace troupe::compiler
