// Rewriting expressions: copy a node with new operands, substitute
// variables, and a post-order transform that passes rebuilt children up.
#pragma once

#include "compiler/ir/expr.hpp"

#include <functional>
#include <unordered_map>

namespace troupe::compiler {

/// Variables (by identity) to the expressions that replace them.
using var_map = std::unordered_map<const expr_node*, expr>;

/// `e` with operands `args` (the node itself when they are unchanged).
expr with_args(const expr& e, std::vector<expr> args);

/// Rebuilds `e` bottom-up; `rewrite` sees each node after its operands
/// were rewritten and returns its replacement (or the node unchanged).
expr transform(const expr& e, const std::function<expr(const expr&)>& rewrite);

/// `e` with every variable in `replacements` replaced. Reduction axes of a
/// reduce node are replaced too when they map to variables.
expr substitute(const expr& e, const var_map& replacements);

/// True when `e` mentions the variable `var`.
bool uses_var(const expr& e, const expr_node* var);

} // namespace troupe::compiler
