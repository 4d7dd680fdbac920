#include "compiler/lower/region.hpp"

#include "compiler/ir/mutate.hpp"

#include <algorithm>

namespace troupe::compiler {

namespace {

void collect_reads(const expr& e, const tensor_node* producer, std::vector<expr>& reads) {
  if (!e)
    return;
  if (e->op == expr_op::tensor_read && e->source.get() == producer)
    reads.push_back(e);
  for (auto& arg : e->args)
    collect_reads(arg, producer, reads);
}

bool mentions_any(const expr& e, const var_ranges& vars) {
  if (!e)
    return false;
  if (e->op == expr_op::var && vars.count(e.get()))
    return true;
  for (auto& arg : e->args)
    if (mentions_any(arg, vars))
      return true;
  return false;
}

/// One read's interval in one dimension: [base, base + width], where base
/// is symbolic in the outer loops.
struct span {
  linear_form base;
  int64_t width = 0;
  bool affine = true;
};

span span_of(const expr& index, const var_ranges& inner) {
  span result;
  auto form = to_linear_form(index);
  result.base.constant = form.constant;
  for (auto& [term, coefficient] : form.terms) {
    if (!mentions_any(term, inner)) {
      result.base.terms.push_back({term, coefficient});
      continue;
    }
    auto range = bounds_of(term, inner);
    if (!range.bounded) {
      result.affine = false;
      return result;
    }
    int64_t a = range.lo * coefficient, b = range.hi * coefficient;
    result.base.constant += std::min(a, b);
    result.width += std::max(a, b) - std::min(a, b);
  }
  return result;
}

} // namespace

region required_region(const tensor& producer, const expr& consumer_body,
                       const var_ranges& inner) {
  std::vector<expr> reads;
  collect_reads(consumer_body, producer.get(), reads);
  region result;
  for (size_t d = 0; d < producer->shape.size(); ++d) {
    int64_t full = producer->shape[d];
    bool whole = reads.empty();
    linear_form base;
    int64_t lo = 0, hi = 0;  // relative to base
    for (size_t r = 0; r < reads.size() && !whole; ++r) {
      auto s = span_of(reads[r]->args[d], inner);
      if (!s.affine) {
        whole = true;
        break;
      }
      if (r == 0) {
        base = s.base;
        hi = s.width;
        continue;
      }
      auto offset = difference(s.base, base);
      if (!offset.terms.empty()) {
        whole = true;
        break;
      }
      lo = std::min(lo, offset.constant);
      hi = std::max(hi, offset.constant + s.width);
    }
    if (whole || hi - lo + 1 >= full) {
      result.mins.push_back(int_imm(0));
      result.extents.push_back(full);
      continue;
    }
    base.constant += lo;
    result.mins.push_back(from_linear_form(base));
    result.extents.push_back(hi - lo + 1);
  }
  return result;
}

} // namespace troupe::compiler
