// The simplifier: folds constants, puts integer arithmetic into one
// canonical linear form, and uses variable ranges (loop bounds) to remove
// divisions, modulos, min/max and comparisons that the ranges decide.
// Lowering leaves split/fuse arithmetic and guards everywhere; this pass is
// what turns `(i.o*32 + i.i)/32` back into `i.o` and drops provably true
// bounds checks, so that code generation sees unit strides.
#pragma once

#include "compiler/ir/linear_form.hpp"
#include "compiler/ir/stmt.hpp"

namespace troupe::compiler {

expr simplify(const expr& e, const var_ranges& ranges = {});

/// Simplifies every expression, with each loop's variable ranging over
/// its bounds inside the loop; removes loops of extent 1 (the variable
/// becomes its minimum), empty loops and branches decided statically.
/// Returns nullptr when nothing is left.
stmt simplify(const stmt& s);

} // namespace troupe::compiler
