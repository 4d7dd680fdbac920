// The dense layer's template: the matmul micro-kernel (register tiles of
// up to 8 rows x one packed panel of columns, reduction outside the tile)
// with the fused epilogue (bias, relu, ...) applied as each tile leaves
// the registers.
#pragma once

#include "compiler/schedule/schedule.hpp"

namespace troupe::compiler {

/// `master`: the dense_packed reduction; `output`: the group's output
/// (the master itself, or an elementwise epilogue of it).
void schedule_dense_packed(schedule& s, const tensor& master, const tensor& output,
                           int64_t panel_width);

} // namespace troupe::compiler
