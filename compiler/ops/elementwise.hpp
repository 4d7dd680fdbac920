// Elementwise and broadcast operators (NumPy broadcasting: shapes aligned
// from the right, dimensions of 1 stretched).
#pragma once

#include "compiler/te/tensor.hpp"

namespace troupe::compiler::ops {

tensor relu(const tensor& x, const std::string& name = "relu");
tensor add(const tensor& a, const tensor& b, const std::string& name = "add");
tensor multiply(const tensor& a, const tensor& b, const std::string& name = "multiply");
tensor subtract(const tensor& a, const tensor& b, const std::string& name = "subtract");
/// x[..., c, ...] + bias[c] along `axis`.
tensor bias_add(const tensor& x, const tensor& bias, size_t axis, const std::string& name = "bias_add");
/// f applied to every element.
tensor unary(const tensor& x, const std::function<expr(expr)>& f, const std::string& name);
/// The shape `a` and `b` broadcast to; throws naming both shapes when they do not.
std::vector<int64_t> broadcast_shape(const tensor& a, const tensor& b);

} // namespace troupe::compiler::ops
