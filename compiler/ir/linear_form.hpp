// Integer expressions as sum(coefficient * term) + constant, where a term
// is a variable or an opaque subexpression, and interval bounds of them
// over variable ranges. Lowering uses both to infer the region a consumer
// reads and to prove guards redundant; the simplifier to put index
// arithmetic in one canonical form (which code generation's stride
// analysis then reads).
#pragma once

#include "compiler/ir/expr.hpp"

#include <unordered_map>
#include <vector>

namespace troupe::compiler {

struct linear_term {
  expr term;
  int64_t coefficient = 0;
};

struct linear_form {
  std::vector<linear_term> terms;
  int64_t constant = 0;
};

/// Never fails: what is not linear becomes an opaque term.
linear_form to_linear_form(const expr& e);
expr from_linear_form(const linear_form& form);

/// a - b, with equal terms (by identity) cancelled.
linear_form difference(const linear_form& a, const linear_form& b);

/// Inclusive [lo, hi] for each variable that has a known range.
struct interval {
  int64_t lo = 0;
  int64_t hi = 0;
  bool bounded = false;
};
using var_ranges = std::unordered_map<const expr_node*, interval>;

/// Bounds of an integer expression over the variables' ranges; not
/// `bounded` when some variable has no range or an operation is not
/// understood.
interval bounds_of(const expr& e, const var_ranges& ranges);
interval bounds_of(const linear_form& form, const var_ranges& ranges);

} // namespace troupe::compiler
