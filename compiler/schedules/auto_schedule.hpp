// Chooses the schedule of one fused group: injective producers inlined,
// the master operator (dense, convolution) on its template with the
// epilogue fused, everything else on the default CPU schedule.
#pragma once

#include "compiler/schedule/schedule.hpp"

namespace troupe::compiler {

/// `master_op`: the graph operator of the group's complex or reduction
/// member ("" when the group is elementwise only).
void schedule_fused_group(schedule& s, const tensor& output, const std::string& master_op);

} // namespace troupe::compiler
