// Convolutions and padding in tensor expressions: NCHW, the blocked
// NCHW[x]c layout (channels split into blocks of x innermost, so that a
// vector of x output channels is one SIMD register), and depthwise.
#pragma once

#include "compiler/te/tensor.hpp"

namespace troupe::compiler::ops {

struct conv_params {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
};

/// data [N, C, H, W] (or blocked [N, C/x, H, W, x]) padded by `pad_h` rows and `pad_w` columns of `value`.
tensor pad_nchw(const tensor& data, int64_t pad_h, int64_t pad_w, double value = 0,
                const std::string& name = "pad");
/// data [N, C, H, W], weight [O, C, KH, KW] -> [N, O, OH, OW]
tensor conv2d_nchw(const tensor& data, const tensor& weight, const conv_params& params,
                   const std::string& name = "conv2d");
/// data [N, C/cb, H, W, cb], weight [O/ob, C/cb, KH, KW, cb, ob] -> [N, O/ob, OH, OW, ob]
tensor conv2d_nchwc(const tensor& data, const tensor& weight, const conv_params& params,
                    const std::string& name = "conv2d_nchwc");
/// data [N, C, H, W], weight [C, 1, KH, KW] -> [N, C, OH, OW]
tensor depthwise_conv2d_nchw(const tensor& data, const tensor& weight, const conv_params& params,
                             const std::string& name = "depthwise_conv2d");
/// data [N, C/x, H, W, x], weight [C/x, KH, KW, x] -> [N, C/x, OH, OW, x]: the x channels of a
/// block are independent lanes, so a vector of x outputs needs only contiguous loads.
tensor depthwise_conv2d_nchwc(const tensor& data, const tensor& weight, const conv_params& params,
                              const std::string& name = "depthwise_conv2d_nchwc");
/// [N, C, H, W] -> [N, C/block, H, W, block]
tensor to_nchwc(const tensor& data, int64_t block, const std::string& name = "to_nchwc");
/// [N, C/block, H, W, block] -> [N, C, H, W]
tensor from_nchwc(const tensor& data, const std::string& name = "from_nchwc");
/// weight [O, C, KH, KW] -> [O/ob, C/cb, KH, KW, cb, ob]
tensor pack_conv_weight(const tensor& weight, int64_t in_block, int64_t out_block,
                        const std::string& name = "packed_weight");

/// depthwise weight [C, 1, KH, KW] -> [C/block, KH, KW, block]
tensor pack_depthwise_weight(const tensor& weight, int64_t block,
                             const std::string& name = "packed_depthwise_weight");

int64_t conv_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t pad);

} // namespace troupe::compiler::ops
