// Lowering: a schedule becomes one loop program (TVM's ScheduleOps plus
// bound inference). Each stage becomes a loop nest over its leaf loops;
// inlined stages are substituted into their readers; a stage computed at a
// consumer's loop gets its nest and a buffer for just the region that the
// iterations below that loop read; reductions get an init nest placed
// before their first reduction loop. Guards keep split remainders in
// bounds; the simplifier removes those it can prove redundant.
#pragma once

#include "compiler/ir/stmt.hpp"
#include "compiler/schedule/schedule.hpp"

namespace troupe::compiler {

/// `args` are the function's parameters in order: every input the
/// outputs read and every output of the schedule. Throws compile_error
/// naming a missing argument.
lowered_func lower(const schedule& s, const std::vector<tensor>& args, const std::string& name);

} // namespace troupe::compiler
