// Softmax and the normalizations (inference form).
#pragma once

#include "compiler/te/tensor.hpp"

namespace troupe::compiler::ops {

/// Softmax over the last axis (max subtracted first, for range).
tensor softmax(const tensor& x, const std::string& name = "softmax");
/// (x - mean) / sqrt(var + eps) * gamma + beta over the last axis.
tensor layer_norm(const tensor& x, const tensor& gamma, const tensor& beta, double eps = 1e-5,
                  const std::string& name = "layer_norm");
/// Inference batch norm along axis 1 with running statistics.
tensor batch_norm(const tensor& x, const tensor& gamma, const tensor& beta, const tensor& mean,
                  const tensor& variance, double eps = 1e-5, const std::string& name = "batch_norm");

} // namespace troupe::compiler::ops
