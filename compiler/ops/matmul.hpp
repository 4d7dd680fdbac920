// Matrix products in tensor expressions.
#pragma once

#include "compiler/te/tensor.hpp"

namespace troupe::compiler::ops {

/// C[m, n] = sum_k A[m, k] * B[k, n]
tensor matmul(const tensor& a, const tensor& b, const std::string& name = "matmul");
/// Y[m, n] = sum_k X[m, k] * W[n, k] (a fully connected layer; W as ONNX Gemm with transB)
tensor dense(const tensor& x, const tensor& w, const std::string& name = "dense");
/// Y[m, n] = sum_k X[m, k] * Wp[n / nr, k, n % nr]: dense with the weight
/// packed into column panels of nr (contiguous vector loads).
tensor dense_packed(const tensor& x, const tensor& packed_w, const std::string& name = "dense_packed");
/// W [N, K] -> Wp [N / nr, K, nr]
tensor pack_dense_weight(const tensor& w, int64_t nr, const std::string& name = "packed_dense_weight");
/// C[b, m, n] = sum_k A[b, m, k] * B[b, k, n]
tensor batch_matmul(const tensor& a, const tensor& b, const std::string& name = "batch_matmul");

} // namespace troupe::compiler::ops
