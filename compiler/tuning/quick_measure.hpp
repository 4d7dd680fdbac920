// A quick in-process timing of a candidate: JIT it into `jit`, run it on
// seeded random inputs once to warm up, then the best of `runs`. For cost
// model experiments and tests, where the measurers' process isolation and
// correctness checks are not the point (the tuner uses measurer.hpp).
#pragma once

#include "compiler/codegen/jit.hpp"
#include "compiler/tuning/search_space.hpp"

#include <vector>

namespace troupe::compiler {

/// GFLOP/s of `func` (built by build_candidate for `task`).
double quick_gflops(jit_module& jit, const tuning_task& task, const lowered_func& func,
                    int runs = 3);

/// GFLOP/s of each of `funcs`, the best over `sweeps` passes through all of
/// them (each pass times every candidate best-of-`runs`). A burst of load
/// from another process lasts seconds: it slows a run of neighbouring
/// candidates in one pass but rarely the same ones in every pass, so the
/// ranking of candidates survives a busy machine (as when ctest runs suites
/// side by side).
std::vector<double> quick_gflops(jit_module& jit, const tuning_task& task,
                                 const std::vector<lowered_func>& funcs, int sweeps = 3,
                                 int runs = 3);

} // namespace troupe::compiler
