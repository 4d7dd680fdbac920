// Depthwise convolution templates.
//
// NCHW: a task per channel plane; each output row is accumulated in vector
// registers (16 pixels per vector, the kernel taps unrolled around them)
// and the fused epilogue applied as the row is stored. Padding is its own
// stage, so that loads need no bounds checks.
//
// NCHW[x]c (after oneDNN's kernel): the x channels of a block are the
// vector lanes. A task per channel block; a register tile of reg_n pixels
// of one output row x x channels, the taps unrolled around it, so that
// each input vector is loaded once per tile and feeds every tap that reads
// it. The padding is inlined into the loads (no padded copy of the input:
// for small images that copy costs as much as the convolution).
#pragma once

#include "compiler/schedule/schedule.hpp"

namespace troupe::compiler {

void schedule_depthwise_conv2d(schedule& s, const tensor& master, const tensor& output);

struct depthwise_config {
  int64_t reg_n = 0;  ///< output pixels per register tile; 0: a divisor of OW from 4 to 8 if any
  int64_t reg_h = 1;  ///< output rows per register tile (divides OH)
};

/// The register tile width the blocked template picks for `width` pixels.
int64_t default_depthwise_reg_n(int64_t width);

void schedule_depthwise_conv2d_nchwc(schedule& s, const tensor& master, const tensor& output,
                                     const depthwise_config& config = {});

} // namespace troupe::compiler
