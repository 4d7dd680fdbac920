#include "compiler/ops/pool.hpp"

#include "compiler/ir/compile_error.hpp"

#include <fmt/format.h>

#include <limits>

namespace troupe::compiler::ops {

namespace {

void check(const tensor& data, const pool_params& p, const std::string& name) {
  if (data->shape.size() != 4 && data->shape.size() != 5)
    throw compile_error(fmt::format("{}: '{}' must be NCHW or NCHW[x]c", name, data->name));
  if (p.kernel_h <= 0 || p.kernel_w <= 0 || p.stride_h <= 0 || p.stride_w <= 0)
    throw compile_error(fmt::format("{}: kernel and stride must be positive", name));
}

// `shape` with the spatial axes replaced.
std::vector<int64_t> with_spatial(std::vector<int64_t> shape, int64_t h, int64_t w) {
  shape[2] = h;
  shape[3] = w;
  return shape;
}

// The input indices of window position (ry, rx) for output indices `i`.
std::vector<expr> window(const std::vector<expr>& i, const pool_params& p, const expr& ry,
                         const expr& rx) {
  auto indices = i;
  indices[2] = i[2] * int_imm(p.stride_h) + ry;
  indices[3] = i[3] * int_imm(p.stride_w) + rx;
  return indices;
}

} // namespace

tensor max_pool2d(const tensor& data, const pool_params& p, const std::string& name) {
  check(data, p, name);
  int64_t oh = conv_output_size(data->shape[2], p.kernel_h, p.stride_h, p.pad_h);
  int64_t ow = conv_output_size(data->shape[3], p.kernel_w, p.stride_w, p.pad_w);
  auto padded = pad_nchw(data, p.pad_h, p.pad_w, -std::numeric_limits<float>::infinity(),
                         name + ".pad");
  auto ry = reduce_axis(p.kernel_h, name + ".ry");
  auto rx = reduce_axis(p.kernel_w, name + ".rx");
  return compute(with_spatial(data->shape, oh, ow), [&](const std::vector<expr>& i) {
    return max_reduce(read(padded, window(i, p, ry.var, rx.var)), {ry, rx});
  }, name);
}

tensor avg_pool2d(const tensor& data, const pool_params& p, const std::string& name) {
  check(data, p, name);
  int64_t height = data->shape[2], width = data->shape[3];
  int64_t oh = conv_output_size(height, p.kernel_h, p.stride_h, p.pad_h);
  int64_t ow = conv_output_size(width, p.kernel_w, p.stride_w, p.pad_w);
  auto padded = pad_nchw(data, p.pad_h, p.pad_w, 0, name + ".pad");
  auto ry = reduce_axis(p.kernel_h, name + ".ry");
  auto rx = reduce_axis(p.kernel_w, name + ".rx");
  auto total = compute(with_spatial(data->shape, oh, ow), [&](const std::vector<expr>& i) {
    return sum(read(padded, window(i, p, ry.var, rx.var)), {ry, rx});
  }, name + ".sum");
  return compute(total->shape, [&](const std::vector<expr>& i) {
    // Window rows and columns that fall inside the input.
    auto y0 = i[2] * int_imm(p.stride_h) - int_imm(p.pad_h);
    auto x0 = i[3] * int_imm(p.stride_w) - int_imm(p.pad_w);
    auto rows = min_of(y0 + int_imm(p.kernel_h), int_imm(height)) - max_of(y0, int_imm(0));
    auto cols = min_of(x0 + int_imm(p.kernel_w), int_imm(width)) - max_of(x0, int_imm(0));
    return read(total, i) / cast(dtype::f32, rows * cols);
  }, name);
}

tensor global_avg_pool2d(const tensor& data, const std::string& name) {
  if (data->shape.size() != 4 && data->shape.size() != 5)
    throw compile_error(fmt::format("{}: '{}' must be NCHW or NCHW[x]c", name, data->name));
  int64_t height = data->shape[2], width = data->shape[3];
  auto ry = reduce_axis(height, name + ".ry");
  auto rx = reduce_axis(width, name + ".rx");
  auto total = compute(with_spatial(data->shape, 1, 1), [&](const std::vector<expr>& i) {
    auto indices = i;
    indices[2] = ry.var;
    indices[3] = rx.var;
    return sum(read(data, indices), {ry, rx});
  }, name + ".sum");
  return compute(total->shape, [&](const std::vector<expr>& i) {
    return read(total, i) * float_imm(1.0 / static_cast<double>(height * width));
  }, name);
}

} // namespace troupe::compiler::ops
