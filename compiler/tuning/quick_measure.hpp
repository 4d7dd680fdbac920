// A quick in-process timing of a candidate: JIT it into `jit`, run it on
// seeded random inputs once to warm up, then the best of `runs`. For cost
// model experiments and tests, where the measurers' process isolation and
// correctness checks are not the point (the tuner uses measurer.hpp).
#pragma once

#include "compiler/codegen/jit.hpp"
#include "compiler/tuning/search_space.hpp"

namespace troupe::compiler {

/// GFLOP/s of `func` (built by build_candidate for `task`).
double quick_gflops(jit_module& jit, const tuning_task& task, const lowered_func& func,
                    int runs = 3);

} // namespace troupe::compiler
