// Depthwise convolution (NCHW) template: a task per channel plane; each
// output row is accumulated in vector registers (16 pixels per vector,
// the kernel taps unrolled around them) and the fused epilogue applied as
// the row is stored. Padding is its own stage, so that loads need no
// bounds checks.
#pragma once

#include "compiler/schedule/schedule.hpp"

namespace troupe::compiler {

void schedule_depthwise_conv2d(schedule& s, const tensor& master, const tensor& output);

} // namespace troupe::compiler
