// Tensorization while lowering: the loops below a stage's tensorize loop
// are matched against the intrinsic's declaration (extents, reduction
// kinds, the computation read by read, the output), and become one call
// of its kernel with pointers to the region's first elements and the
// buffers' strides. A mismatch is a compile_error saying what differs.
#pragma once

#include "compiler/ir/stmt.hpp"
#include "compiler/schedule/tensor_intrinsic.hpp"

#include <functional>

namespace troupe::compiler {

struct tensorize_region {
  std::string stage_name;
  const tensor_intrinsic* intrinsic = nullptr;
  /// The loops from the tensorize loop inward, their extents and kinds.
  std::vector<expr> loops;
  std::vector<int64_t> extents;
  std::vector<bool> is_reduction;
  /// The stage's element formula in terms of the loops (for a reduction,
  /// the reduce node), and the output element's indices.
  expr body;
  tensor output;
  std::vector<expr> output_indices;
  /// Where an element of a tensor lives: its buffer and flat index.
  std::function<std::pair<buffer, expr>(const tensor&, const std::vector<expr>&)> locate;
};

stmt tensorize(const tensorize_region& region);

} // namespace troupe::compiler
