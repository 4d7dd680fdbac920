// A tree-walking interpreter for lowered functions: the reference that
// compiled code is checked against (slow, obviously correct), and a way to
// test lowering without code generation.
#pragma once

#include "compiler/ir/stmt.hpp"

#include <vector>

namespace troupe::compiler {

/// Runs `func` on `args` (one pointer per parameter, as for compiled
/// code). Loop kinds are ignored: everything runs serially.
void interpret(const lowered_func& func, const std::vector<void*>& args);

} // namespace troupe::compiler
