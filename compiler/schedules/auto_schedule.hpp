// Chooses the schedule of one fused group: injective producers inlined,
// the master operator (dense, convolution) on its template with the
// epilogue fused, everything else on the default CPU schedule.
#pragma once

#include "compiler/schedule/schedule.hpp"
#include "compiler/schedules/conv2d_schedule.hpp"

namespace troupe::compiler {

/// `master_op`: the graph operator of the group's complex or reduction
/// member ("" when the group is elementwise only). `conv`: the tuned
/// knobs of a "conv2d_nchwc" master (the defaults pick them).
void schedule_fused_group(schedule& s, const tensor& output, const std::string& master_op,
                          const conv2d_config& conv = {});

} // namespace troupe::compiler
