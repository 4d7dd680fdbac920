// Runs a graph operator by operator through lowering (default schedules)
// and the IR interpreter: slow and obviously correct. Constant folding uses
// it for one node at a time; tests use it as the reference for whole graphs.
#pragma once

#include "compiler/graph/graph.hpp"

#include <vector>

namespace troupe::compiler {

/// The value of computing node `n` of `g` from its inputs' `values`
/// (one array per input, in order).
std::vector<float> interpret_node(const graph& g, const graph_node& n,
                                  const std::vector<const std::vector<float>*>& values);

/// Every output of `g` for `inputs` (one array per graph input, in order).
/// Throws compile_error when an input has the wrong size.
std::vector<std::vector<float>> interpret_graph(const graph& g,
                                                const std::vector<std::vector<float>>& inputs);

} // namespace troupe::compiler
