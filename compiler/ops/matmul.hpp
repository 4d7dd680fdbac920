// Matrix products in tensor expressions.
#pragma once

#include "compiler/te/tensor.hpp"

namespace troupe::compiler::ops {

/// C[m, n] = sum_k A[m, k] * B[k, n]
tensor matmul(const tensor& a, const tensor& b, const std::string& name = "matmul");
/// Y[m, n] = sum_k X[m, k] * W[n, k] (a fully connected layer; W as ONNX Gemm with transB)
tensor dense(const tensor& x, const tensor& w, const std::string& name = "dense");
/// C[b, m, n] = sum_k A[b, m, k] * B[b, k, n]
tensor batch_matmul(const tensor& a, const tensor& b, const std::string& name = "batch_matmul");

} // namespace troupe::compiler::ops
