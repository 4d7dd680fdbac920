// The NCHW[x]c convolution's template (after TVM's x86 schedule): each
// task computes a band of output rows for one block of output channels;
// the micro-kernel holds reg_h rows x reg_n pixels x oc_tile vectors of
// channels in registers (at least 8 accumulators: FMA latency x ports)
// while the reduction (input channel blocks, kernel rows and columns,
// channels in a block) runs around it; the epilogue (bias, residual add,
// relu) applies as the tile leaves the registers. Padding is its own stage
// so that the kernel's loads need no bounds checks.
//
// Why rows: every weight vector loaded feeds reg_h x reg_n FMAs, so on
// narrow images (7 or 14 pixels wide) a taller tile halves the weight
// traffic that otherwise dominates.
#pragma once

#include "compiler/schedule/schedule.hpp"

namespace troupe::compiler {

struct conv2d_config {
  int64_t reg_n = 0;    ///< output pixels per register tile; 0: the largest divisor of OW up to 14
  int64_t oc_tile = 0;  ///< channel blocks per register tile; 0: 2 when reg_n < 8, else 1
  int64_t reg_h = 1;    ///< output rows per register tile (divides OH)
  bool taps_outer = false;   ///< reduce over (ry, rx, ic blocks, ic) instead of (ic blocks, ry, rx, ic)
  bool unroll_taps = false;  ///< unroll the kernel-column loop too
};

/// The knobs the template picks for an output `width` pixels wide with
/// `channel_blocks` blocks of 16 output channels (config's zeros resolved).
conv2d_config default_conv2d_config(int64_t width, int64_t channel_blocks);

void schedule_conv2d_nchwc(schedule& s, const tensor& master, const tensor& output,
                           const conv2d_config& config = {});

} // namespace troupe::compiler
