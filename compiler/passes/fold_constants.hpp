// Constant folding: an operator whose inputs are all constants is
// evaluated at compile time (with the IR interpreter, so the pass needs no
// code generator) and replaced by a constant. Weight packing and folded
// batch-norm arithmetic disappear from the compiled model this way.
#pragma once

#include "compiler/graph/graph.hpp"

namespace troupe::compiler {

graph fold_constants(const graph& g);

} // namespace troupe::compiler
