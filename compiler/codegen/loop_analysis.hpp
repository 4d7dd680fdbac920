// What code generation needs to know about loop bodies: whether an index
// moves with the vectorized variable and by how much (the stride decides
// between a vector load, a broadcast and a gather), whether a body can run
// once over vectors, and which variables and buffers a parallel body must
// receive through its closure.
#pragma once

#include "compiler/ir/stmt.hpp"

#include <optional>
#include <unordered_set>
#include <vector>

namespace troupe::compiler {

/// Whether `e` mentions `var`.
bool depends_on(const expr& e, const expr_node* var);

/// The constant d such that e(var + 1) - e(var) == d for every var, when
/// e is linear in var with a constant coefficient (+, -, * by a constant);
/// nothing when not proven.
std::optional<int64_t> stride_of(const expr& e, const expr_node* var);

/// Whether the body of a loop over `var` can run once over vectors: only
/// stores and ifs (a loop or an allocation inside means a scalar loop), and
/// no store of a varying value to an invariant index (a reduction over the
/// vectorized variable, which lanes would race on), and no integer division
/// by a variable under an if that varies across lanes.
bool vectorizable(const stmt& s, const expr_node* var);

/// The variables and buffers a statement mentions, in order of first mention.
struct references {
  std::vector<const expr_node*> vars;
  std::vector<const buffer_node*> buffers;

  void add(const expr& e);
  void add(const stmt& s);

private:
  std::unordered_set<const void*> seen_;
};

} // namespace troupe::compiler
