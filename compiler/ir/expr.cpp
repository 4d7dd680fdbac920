#include "compiler/ir/expr.hpp"

#include "compiler/ir/compile_error.hpp"

#include <fmt/format.h>

namespace troupe::compiler {

const char* to_string(dtype type) {
  switch (type) {
    case dtype::f32: return "f32";
    case dtype::i64: return "i64";
    case dtype::boolean: return "bool";
  }
  return "?";
}

buffer make_buffer(std::string name, dtype type, int64_t elements) {
  if (elements <= 0)
    throw compile_error(fmt::format("buffer '{}' needs a positive size, got {}", name, elements));
  auto node = std::make_shared<buffer_node>();
  node->name = std::move(name);
  node->type = type;
  node->elements = elements;
  return node;
}

namespace {

std::shared_ptr<expr_node> node(expr_op op, dtype type) {
  auto result = std::make_shared<expr_node>();
  result->op = op;
  result->type = type;
  return result;
}

bool is_arithmetic(expr_op op) {
  switch (op) {
    case expr_op::add: case expr_op::sub: case expr_op::mul: case expr_op::div:
    case expr_op::mod: case expr_op::min: case expr_op::max:
      return true;
    default:
      return false;
  }
}

bool is_comparison(expr_op op) {
  return op == expr_op::lt || op == expr_op::le || op == expr_op::eq || op == expr_op::ne;
}

void require(const expr& e, const char* what) {
  if (!e)
    throw compile_error(fmt::format("{}: missing operand", what));
}

// An integer literal next to a float expression means the float.
expr literal_like(const expr& other, int64_t value) {
  return other && other->type == dtype::f32 ? float_imm(static_cast<double>(value))
                                            : int_imm(value);
}

} // namespace

expr int_imm(int64_t value) {
  auto result = node(expr_op::int_imm, dtype::i64);
  result->int_value = value;
  return result;
}

expr float_imm(double value) {
  auto result = node(expr_op::float_imm, dtype::f32);
  result->float_value = value;
  return result;
}

expr bool_imm(bool value) {
  auto result = node(expr_op::bool_imm, dtype::boolean);
  result->int_value = value ? 1 : 0;
  return result;
}

expr make_var(std::string name, dtype type) {
  auto result = node(expr_op::var, type);
  result->name = std::move(name);
  return result;
}

expr binary(expr_op op, expr a, expr b) {
  require(a, "binary operator");
  require(b, "binary operator");
  dtype type;
  if (is_arithmetic(op)) {
    if (a->type != b->type || a->type == dtype::boolean)
      throw compile_error(fmt::format("arithmetic on {} and {}", to_string(a->type),
                                      to_string(b->type)));
    if (op == expr_op::mod && a->type != dtype::i64)
      throw compile_error("modulo needs integer operands");
    type = a->type;
  } else if (is_comparison(op)) {
    if (a->type != b->type)
      throw compile_error(fmt::format("comparison of {} with {}", to_string(a->type),
                                      to_string(b->type)));
    type = dtype::boolean;
  } else if (op == expr_op::logical_and || op == expr_op::logical_or) {
    if (a->type != dtype::boolean || b->type != dtype::boolean)
      throw compile_error("logical operator needs boolean operands");
    type = dtype::boolean;
  } else {
    throw compile_error("binary(): not a binary operator");
  }
  auto result = node(op, type);
  result->args = {std::move(a), std::move(b)};
  return result;
}

expr logical_not(expr a) {
  require(a, "logical_not");
  if (a->type != dtype::boolean)
    throw compile_error("logical_not needs a boolean operand");
  auto result = node(expr_op::logical_not, dtype::boolean);
  result->args = {std::move(a)};
  return result;
}

expr select(expr condition, expr if_true, expr if_false) {
  require(condition, "select");
  require(if_true, "select");
  require(if_false, "select");
  if (condition->type != dtype::boolean)
    throw compile_error("select needs a boolean condition");
  if (if_true->type != if_false->type)
    throw compile_error(fmt::format("select between {} and {}", to_string(if_true->type),
                                    to_string(if_false->type)));
  auto result = node(expr_op::select, if_true->type);
  result->args = {std::move(condition), std::move(if_true), std::move(if_false)};
  return result;
}

expr cast(dtype type, expr value) {
  require(value, "cast");
  if (value->type == type)
    return value;
  auto result = node(expr_op::cast, type);
  result->args = {std::move(value)};
  return result;
}

expr call(std::string intrinsic, std::vector<expr> args) {
  static const char* known[] = {"exp", "log", "sqrt", "tanh", "fabs", "erf"};
  bool found = false;
  for (auto* name : known)
    found = found || intrinsic == name;
  if (!found)
    throw compile_error(fmt::format("unknown intrinsic '{}'", intrinsic));
  if (args.size() != 1 || !args[0] || args[0]->type != dtype::f32)
    throw compile_error(fmt::format("intrinsic '{}' takes one f32 argument", intrinsic));
  auto result = node(expr_op::call, dtype::f32);
  result->name = std::move(intrinsic);
  result->args = std::move(args);
  return result;
}

expr load(buffer target, expr index) {
  require(index, "load");
  if (!target)
    throw compile_error("load from a missing buffer");
  if (index->type != dtype::i64)
    throw compile_error(fmt::format("load from '{}' with a non-integer index", target->name));
  auto result = node(expr_op::load, target->type);
  result->target = std::move(target);
  result->args = {std::move(index)};
  return result;
}

expr min_of(expr a, expr b) { return binary(expr_op::min, std::move(a), std::move(b)); }
expr max_of(expr a, expr b) { return binary(expr_op::max, std::move(a), std::move(b)); }

expr operator+(expr a, expr b) { return binary(expr_op::add, std::move(a), std::move(b)); }
expr operator-(expr a, expr b) { return binary(expr_op::sub, std::move(a), std::move(b)); }
expr operator*(expr a, expr b) { return binary(expr_op::mul, std::move(a), std::move(b)); }
expr operator/(expr a, expr b) { return binary(expr_op::div, std::move(a), std::move(b)); }
expr operator%(expr a, expr b) { return binary(expr_op::mod, std::move(a), std::move(b)); }
expr operator+(expr a, int64_t b) { auto c = literal_like(a, b); return std::move(a) + c; }
expr operator-(expr a, int64_t b) { auto c = literal_like(a, b); return std::move(a) - c; }
expr operator*(expr a, int64_t b) { auto c = literal_like(a, b); return std::move(a) * c; }
expr operator/(expr a, int64_t b) { auto c = literal_like(a, b); return std::move(a) / c; }
expr operator%(expr a, int64_t b) { auto c = literal_like(a, b); return std::move(a) % c; }
expr operator<(expr a, expr b) { return binary(expr_op::lt, std::move(a), std::move(b)); }
expr operator<=(expr a, expr b) { return binary(expr_op::le, std::move(a), std::move(b)); }
expr operator>(expr a, expr b) { return binary(expr_op::lt, std::move(b), std::move(a)); }
expr operator>=(expr a, expr b) { return binary(expr_op::le, std::move(b), std::move(a)); }
expr operator&&(expr a, expr b) {
  return binary(expr_op::logical_and, std::move(a), std::move(b));
}
expr operator||(expr a, expr b) {
  return binary(expr_op::logical_or, std::move(a), std::move(b));
}

bool structurally_equal(const expr& a, const expr& b) {
  if (a == b)
    return true;
  if (!a || !b || a->op != b->op || a->type != b->type || a->args.size() != b->args.size())
    return false;
  switch (a->op) {
    case expr_op::var: return false;  // identity only
    case expr_op::int_imm:
    case expr_op::bool_imm: return a->int_value == b->int_value;
    case expr_op::float_imm: return a->float_value == b->float_value;
    case expr_op::call:
      if (a->name != b->name) return false;
      break;
    case expr_op::load:
      if (a->target != b->target) return false;
      break;
    case expr_op::tensor_read:
      if (a->source != b->source) return false;
      break;
    case expr_op::reduce:
      return false;  // never merged
    default:
      break;
  }
  for (size_t i = 0; i < a->args.size(); ++i)
    if (!structurally_equal(a->args[i], b->args[i]))
      return false;
  return true;
}

bool is_const_int(const expr& e, int64_t* value) {
  if (!e || e->op != expr_op::int_imm)
    return false;
  if (value)
    *value = e->int_value;
  return true;
}

bool is_const_value(const expr& e, int64_t value) {
  int64_t actual = 0;
  return is_const_int(e, &actual) && actual == value;
}

bool is_constant(const expr& e) {
  return e && (e->op == expr_op::int_imm || e->op == expr_op::float_imm
               || e->op == expr_op::bool_imm);
}

} // namespace troupe::compiler
