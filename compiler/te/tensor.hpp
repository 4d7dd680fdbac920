// Tensor expressions (after TVM's te): a tensor is a placeholder (an input)
// or a compute: a formula giving each element from its indices, possibly a
// reduction over extra axes. Shapes are static: every operator Troupe
// compiles has known shapes, which lets lowering prove bounds exactly.
#pragma once

#include "compiler/ir/expr.hpp"

#include <functional>
#include <string>
#include <vector>

namespace troupe::compiler {

enum class tensor_kind : uint8_t { placeholder, compute };

struct tensor_node {
  std::string name;
  std::vector<int64_t> shape;
  dtype type = dtype::f32;
  tensor_kind kind = tensor_kind::placeholder;
  /// compute: one data-parallel axis per output dimension.
  std::vector<iter_var> axes;
  /// compute: the element at `axes`; a reduce node at the top for reductions.
  expr body;
};

/// An input tensor.
tensor placeholder(std::vector<int64_t> shape, std::string name, dtype type = dtype::f32);

using index_formula = std::function<expr(const std::vector<expr>& indices)>;

/// A tensor whose element at `indices` is `formula(indices)`.
tensor compute(std::vector<int64_t> shape, const index_formula& formula, std::string name);

/// A reduction axis over [0, extent).
iter_var reduce_axis(int64_t extent, std::string name);

/// Reductions over `axes`; only at the top of a compute's formula.
expr sum(expr source, std::vector<iter_var> axes);
expr max_reduce(expr source, std::vector<iter_var> axes);
expr min_reduce(expr source, std::vector<iter_var> axes);

/// The element of `t` at `indices` (one per dimension).
expr read(const tensor& t, std::vector<expr> indices);

/// The reduction axes of a compute (empty when it is not a reduction).
const std::vector<iter_var>& reduction_axes(const tensor& t);

/// The tensors `t` reads directly, in first-read order.
std::vector<tensor> direct_inputs(const tensor& t);

/// All tensors `outputs` depend on, producers before consumers.
std::vector<tensor> topological_order(const std::vector<tensor>& outputs);

int64_t element_count(const tensor& t);

} // namespace troupe::compiler
