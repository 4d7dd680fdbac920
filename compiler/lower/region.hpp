// Bound inference for compute_at: the part of a producer that a consumer's
// iterations below one of its loops read. Loops inside the attach point
// range over their extents; everything outside stays symbolic, so the
// region's start is an expression in the outer loops and its extent a
// constant (what makes a cache_write tile a small local buffer).
#pragma once

#include "compiler/ir/linear_form.hpp"
#include "compiler/te/tensor.hpp"

#include <vector>

namespace troupe::compiler {

struct region {
  std::vector<expr> mins;
  std::vector<int64_t> extents;
};

/// The region of `producer` that `consumer_body` reads while the variables
/// in `inner` range over their intervals. Dimensions whose indices are not
/// affine in the inner variables (or that would cover the whole tensor)
/// get the full extent.
region required_region(const tensor& producer, const expr& consumer_body,
                       const var_ranges& inner);

} // namespace troupe::compiler
