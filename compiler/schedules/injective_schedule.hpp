// Default CPU schedules for stages without a template: the outer loops
// spread over the thread pool, the innermost data axis vectorized when it
// splits into whole vectors. Used for elementwise groups, layout
// transforms, padding and the reductions that have no template (pooling,
// softmax).
#pragma once

#include "compiler/schedule/schedule.hpp"

namespace troupe::compiler {

/// Parallel outer loop(s) and a vectorized innermost axis for `t`'s stage
/// (reduction loops, if any, go between them).
void schedule_injective(schedule& s, const tensor& t, int64_t vector_lanes = 16);

} // namespace troupe::compiler
