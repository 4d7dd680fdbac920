// Data layout transformation: convolutions move to the blocked NCHW[x]c
// layout (x channels innermost, one SIMD vector; depthwise ones too when
// their channels fill whole blocks), dense layers to weights packed in
// column panels. Transforms are inserted only where a producer's
// layout differs from what its consumer wants: elementwise operators
// between convolutions run in the blocked layout, so a ResNet stays
// blocked from its first convolution to its pooling head. Weight packing
// nodes read constants, so fold_constants removes them afterwards.
#pragma once

#include "compiler/graph/graph.hpp"

namespace troupe::compiler {

struct layout_options {
  int64_t channel_block = 16;  ///< x in NCHW[x]c (16 floats: one AVX-512 vector)
  int64_t dense_block = 32;    ///< columns per packed dense panel
};

graph transform_layout(const graph& g, const layout_options& options = {});

} // namespace troupe::compiler
