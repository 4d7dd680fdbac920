// Pooling over the spatial axes (2 and 3) of NCHW tensors, or of blocked
// NCHW[x]c ones (pooling is per channel, so the layout does not matter).
#pragma once

#include "compiler/ops/conv.hpp"

namespace troupe::compiler::ops {

struct pool_params {
  int64_t kernel_h = 2, kernel_w = 2;
  int64_t stride_h = 2, stride_w = 2;
  int64_t pad_h = 0, pad_w = 0;
};

/// Padding never wins a max.
tensor max_pool2d(const tensor& data, const pool_params& params, const std::string& name = "max_pool");
/// The mean over the window's elements inside the input (padding not counted, as ONNX's default).
tensor avg_pool2d(const tensor& data, const pool_params& params, const std::string& name = "avg_pool");
/// [N, C, H, W] -> [N, C, 1, 1]
tensor global_avg_pool2d(const tensor& data, const std::string& name = "global_avg_pool");

} // namespace troupe::compiler::ops
