#include "compiler/ir/linear_form.hpp"

#include <algorithm>

namespace troupe::compiler {

namespace {

void add_term(linear_form& form, const expr& term, int64_t coefficient) {
  if (coefficient == 0)
    return;
  for (auto& existing : form.terms)
    if (structurally_equal(existing.term, term)) {
      existing.coefficient += coefficient;
      return;
    }
  form.terms.push_back({term, coefficient});
}

void accumulate(linear_form& form, const expr& e, int64_t scale) {
  int64_t value = 0;
  if (is_const_int(e, &value)) {
    form.constant += scale * value;
    return;
  }
  switch (e->op) {
    case expr_op::add:
      accumulate(form, e->args[0], scale);
      accumulate(form, e->args[1], scale);
      return;
    case expr_op::sub:
      accumulate(form, e->args[0], scale);
      accumulate(form, e->args[1], -scale);
      return;
    case expr_op::mul:
      if (is_const_int(e->args[1], &value)) {
        accumulate(form, e->args[0], scale * value);
        return;
      }
      if (is_const_int(e->args[0], &value)) {
        accumulate(form, e->args[1], scale * value);
        return;
      }
      break;
    default:
      break;
  }
  add_term(form, e, scale);
}

void drop_zero_terms(linear_form& form) {
  form.terms.erase(std::remove_if(form.terms.begin(), form.terms.end(),
                                  [](const linear_term& t) { return t.coefficient == 0; }),
                   form.terms.end());
}

interval scaled(interval range, int64_t coefficient) {
  if (!range.bounded)
    return range;
  int64_t a = range.lo * coefficient;
  int64_t b = range.hi * coefficient;
  return {std::min(a, b), std::max(a, b), true};
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

interval term_bounds(const expr& e, const var_ranges& ranges) {
  int64_t value = 0;
  if (is_const_int(e, &value))
    return {value, value, true};
  switch (e->op) {
    case expr_op::var: {
      auto found = ranges.find(e.get());
      return found == ranges.end() ? interval{} : found->second;
    }
    case expr_op::mul: {
      // Only products of two non-constants stay opaque terms.
      auto a = bounds_of(e->args[0], ranges);
      auto b = bounds_of(e->args[1], ranges);
      if (!a.bounded || !b.bounded)
        return {};
      int64_t corners[] = {a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi};
      return {*std::min_element(corners, corners + 4), *std::max_element(corners, corners + 4),
              true};
    }
    case expr_op::div:
      if (is_const_int(e->args[1], &value) && value > 0) {
        auto inner = bounds_of(e->args[0], ranges);
        if (inner.bounded)
          return {floor_div(inner.lo, value), floor_div(inner.hi, value), true};
      }
      return {};
    case expr_op::mod:
      if (is_const_int(e->args[1], &value) && value > 0) {
        auto inner = bounds_of(e->args[0], ranges);
        if (inner.bounded && inner.lo >= 0 && inner.hi < value)
          return inner;
        return {0, value - 1, true};
      }
      return {};
    case expr_op::min:
    case expr_op::max: {
      auto a = bounds_of(e->args[0], ranges);
      auto b = bounds_of(e->args[1], ranges);
      if (!a.bounded || !b.bounded)
        return {};
      if (e->op == expr_op::min)
        return {std::min(a.lo, b.lo), std::min(a.hi, b.hi), true};
      return {std::max(a.lo, b.lo), std::max(a.hi, b.hi), true};
    }
    default:
      return {};
  }
}

} // namespace

linear_form to_linear_form(const expr& e) {
  linear_form form;
  accumulate(form, e, 1);
  drop_zero_terms(form);
  return form;
}

expr from_linear_form(const linear_form& form) {
  expr result;
  for (auto& [term, coefficient] : form.terms) {
    if (coefficient == 0)
      continue;
    int64_t magnitude = coefficient < 0 ? -coefficient : coefficient;
    expr scaled_term = magnitude == 1 ? term : term * int_imm(magnitude);
    if (!result)
      result = coefficient < 0 ? int_imm(0) - scaled_term : scaled_term;
    else
      result = coefficient < 0 ? result - scaled_term : result + scaled_term;
  }
  if (!result)
    return int_imm(form.constant);
  if (form.constant > 0)
    return result + int_imm(form.constant);
  if (form.constant < 0)
    return result - int_imm(-form.constant);
  return result;
}

linear_form difference(const linear_form& a, const linear_form& b) {
  linear_form result = a;
  for (auto& [term, coefficient] : b.terms)
    add_term(result, term, -coefficient);
  result.constant -= b.constant;
  drop_zero_terms(result);
  return result;
}

interval bounds_of(const linear_form& form, const var_ranges& ranges) {
  interval total{form.constant, form.constant, true};
  for (auto& [term, coefficient] : form.terms) {
    auto part = scaled(term_bounds(term, ranges), coefficient);
    if (!part.bounded)
      return {};
    total.lo += part.lo;
    total.hi += part.hi;
  }
  return total;
}

interval bounds_of(const expr& e, const var_ranges& ranges) {
  return bounds_of(to_linear_form(e), ranges);
}

} // namespace troupe::compiler
