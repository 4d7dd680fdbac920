// The NCHW[x]c convolution's template (after TVM's x86 schedule): each
// task computes a row of output pixels for one block of output channels;
// the micro-kernel holds reg_n pixels x oc_tile vectors of channels in
// registers (at least 8 accumulators: FMA latency x ports) while the reduction (input channel blocks, kernel rows and
// columns, channels in a block) runs around it; the epilogue (bias,
// residual add, relu) applies as the tile leaves the registers. Padding is
// its own stage so that the kernel's loads need no bounds checks.
#pragma once

#include "compiler/schedule/schedule.hpp"

namespace troupe::compiler {

struct conv2d_config {
  int64_t reg_n = 0;    ///< output pixels per register tile; 0: the largest divisor of OW up to 14
  int64_t oc_tile = 0;  ///< channel blocks per register tile; 0: 2 when reg_n < 8, else 1
};

void schedule_conv2d_nchwc(schedule& s, const tensor& master, const tensor& output,
                           const conv2d_config& config = {});

} // namespace troupe::compiler
