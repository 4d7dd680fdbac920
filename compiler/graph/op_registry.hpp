// What the graph knows about each operator: its fusion pattern, its output
// shape from its inputs' shapes and attributes (with errors that name the
// node), and its tensor expression.
#pragma once

#include "compiler/graph/graph.hpp"
#include "compiler/te/tensor.hpp"

namespace troupe::compiler {

struct op_info {
  op_pattern pattern = op_pattern::opaque;
  /// Output shape; throws compile_error naming the node on a mismatch.
  std::vector<int64_t> (*infer_shape)(const graph& g, const graph_node& n) = nullptr;
  /// The output tensor from tensors for the inputs.
  tensor (*build)(const graph_node& n, const std::vector<tensor>& inputs) = nullptr;
};

/// Throws compile_error naming the operator when it is unknown.
const op_info& lookup_op(const std::string& op);
bool is_known_op(const std::string& op);

} // namespace troupe::compiler
