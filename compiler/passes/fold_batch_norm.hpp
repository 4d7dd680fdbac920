// Batch norm after a convolution, with constant statistics, folded into
// the convolution: W' = W * gamma / sqrt(var + eps) per output channel and
// b' = (b - mean) * gamma / sqrt(var + eps) + beta. Inference then pays
// nothing for batch norm.
#pragma once

#include "compiler/graph/graph.hpp"

namespace troupe::compiler {

graph fold_batch_norm(const graph& g);

} // namespace troupe::compiler
