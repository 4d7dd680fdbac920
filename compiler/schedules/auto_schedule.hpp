// Chooses the schedule of one fused group: injective producers inlined,
// the master operator (dense, convolution) on its template with the
// epilogue fused, everything else on the default CPU schedule.
#pragma once

#include "compiler/schedule/schedule.hpp"
#include "compiler/schedules/conv2d_schedule.hpp"
#include "compiler/schedules/depthwise_schedule.hpp"

namespace troupe::compiler {

/// The tuned knobs of the templates (the defaults pick them).
struct template_knobs {
  conv2d_config conv;            ///< of a "conv2d_nchwc" master
  depthwise_config depthwise;    ///< of a "depthwise_conv2d_nchwc" master
};

/// `master_op`: the graph operator of the group's complex or reduction
/// member ("" when the group is elementwise only).
void schedule_fused_group(schedule& s, const tensor& output, const std::string& master_op,
                          const template_knobs& knobs = {});

} // namespace troupe::compiler
