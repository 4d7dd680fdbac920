#include "compiler/ops/conv.hpp"

#include "compiler/ir/compile_error.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace troupe::compiler::ops {

namespace {

void require_rank(const tensor& t, size_t rank, const std::string& op) {
  if (t->shape.size() != rank)
    throw compile_error(fmt::format("{}: '{}' must have {} dimensions, has shape {}", op, t->name,
                                    rank, t->shape));
}

expr clamp(expr v, int64_t lo, int64_t hi) { return min_of(max_of(v, int_imm(lo)), int_imm(hi)); }

// Reads are clamped into the tensor and the select picks `value` outside
// it: generated code evaluates both sides of a select.
tensor pad_spatial(const tensor& data, size_t h_axis, int64_t pad_h, int64_t pad_w, double value,
                   const std::string& name) {
  if (pad_h == 0 && pad_w == 0)
    return data;
  auto shape = data->shape;
  int64_t height = shape[h_axis], width = shape[h_axis + 1];
  shape[h_axis] += 2 * pad_h;
  shape[h_axis + 1] += 2 * pad_w;
  return compute(shape, [&](const std::vector<expr>& i) {
    auto h = i[h_axis] - int_imm(pad_h);
    auto w = i[h_axis + 1] - int_imm(pad_w);
    auto inside = int_imm(0) <= h && h < int_imm(height) && int_imm(0) <= w && w < int_imm(width);
    auto indices = i;
    indices[h_axis] = clamp(h, 0, height - 1);
    indices[h_axis + 1] = clamp(w, 0, width - 1);
    return select(inside, read(data, indices), float_imm(value));
  }, name);
}

} // namespace

int64_t conv_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t pad) {
  return (input + 2 * pad - kernel) / stride + 1;
}

tensor pad_nchw(const tensor& data, int64_t pad_h, int64_t pad_w, double value,
                const std::string& name) {
  if (data->shape.size() != 5)
    require_rank(data, 4, name);
  return pad_spatial(data, 2, pad_h, pad_w, value, name);
}

tensor conv2d_nchw(const tensor& data, const tensor& weight, const conv_params& p,
                   const std::string& name) {
  require_rank(data, 4, name);
  require_rank(weight, 4, name);
  if (weight->shape[1] != data->shape[1])
    throw compile_error(fmt::format("{}: weight '{}' {} expects {} input channels, data '{}' {} has {}",
                                    name, weight->name, weight->shape, weight->shape[1], data->name,
                                    data->shape, data->shape[1]));
  int64_t kh = weight->shape[2], kw = weight->shape[3];
  int64_t oh = conv_output_size(data->shape[2], kh, p.stride_h, p.pad_h);
  int64_t ow = conv_output_size(data->shape[3], kw, p.stride_w, p.pad_w);
  if (oh <= 0 || ow <= 0)
    throw compile_error(fmt::format("{}: kernel {}x{} larger than the padded input", name, kh, kw));
  auto padded = pad_nchw(data, p.pad_h, p.pad_w, 0, name + ".pad");
  auto rc = reduce_axis(data->shape[1], name + ".rc");
  auto ry = reduce_axis(kh, name + ".ry");
  auto rx = reduce_axis(kw, name + ".rx");
  return compute({data->shape[0], weight->shape[0], oh, ow}, [&](const std::vector<expr>& i) {
    auto y = i[2] * int_imm(p.stride_h) + ry.var;
    auto x = i[3] * int_imm(p.stride_w) + rx.var;
    return sum(read(padded, {i[0], rc.var, y, x}) * read(weight, {i[1], rc.var, ry.var, rx.var}),
               {rc, ry, rx});
  }, name);
}

tensor conv2d_nchwc(const tensor& data, const tensor& weight, const conv_params& p,
                    const std::string& name) {
  require_rank(data, 5, name);
  require_rank(weight, 6, name);
  int64_t cb = data->shape[4];
  if (weight->shape[1] != data->shape[1] || weight->shape[4] != cb)
    throw compile_error(fmt::format("{}: weight '{}' {} does not match data '{}' {}", name,
                                    weight->name, weight->shape, data->name, data->shape));
  int64_t kh = weight->shape[2], kw = weight->shape[3], ob = weight->shape[5];
  int64_t oh = conv_output_size(data->shape[2], kh, p.stride_h, p.pad_h);
  int64_t ow = conv_output_size(data->shape[3], kw, p.stride_w, p.pad_w);
  auto padded = pad_spatial(data, 2, p.pad_h, p.pad_w, 0, name + ".pad");
  auto rco = reduce_axis(data->shape[1], name + ".rco");
  auto rci = reduce_axis(cb, name + ".rci");
  auto ry = reduce_axis(kh, name + ".ry");
  auto rx = reduce_axis(kw, name + ".rx");
  return compute({data->shape[0], weight->shape[0], oh, ow, ob}, [&](const std::vector<expr>& i) {
    auto y = i[2] * int_imm(p.stride_h) + ry.var;
    auto x = i[3] * int_imm(p.stride_w) + rx.var;
    return sum(read(padded, {i[0], rco.var, y, x, rci.var})
                   * read(weight, {i[1], rco.var, ry.var, rx.var, rci.var, i[4]}),
               {rco, ry, rx, rci});
  }, name);
}

tensor depthwise_conv2d_nchw(const tensor& data, const tensor& weight, const conv_params& p,
                             const std::string& name) {
  require_rank(data, 4, name);
  require_rank(weight, 4, name);
  if (weight->shape[0] != data->shape[1] || weight->shape[1] != 1)
    throw compile_error(fmt::format("{}: weight '{}' {} must be [{}, 1, KH, KW]", name,
                                    weight->name, weight->shape, data->shape[1]));
  int64_t kh = weight->shape[2], kw = weight->shape[3];
  int64_t oh = conv_output_size(data->shape[2], kh, p.stride_h, p.pad_h);
  int64_t ow = conv_output_size(data->shape[3], kw, p.stride_w, p.pad_w);
  auto padded = pad_nchw(data, p.pad_h, p.pad_w, 0, name + ".pad");
  auto ry = reduce_axis(kh, name + ".ry");
  auto rx = reduce_axis(kw, name + ".rx");
  return compute({data->shape[0], data->shape[1], oh, ow}, [&](const std::vector<expr>& i) {
    auto y = i[2] * int_imm(p.stride_h) + ry.var;
    auto x = i[3] * int_imm(p.stride_w) + rx.var;
    return sum(read(padded, {i[0], i[1], y, x}) * read(weight, {i[1], int_imm(0), ry.var, rx.var}),
               {ry, rx});
  }, name);
}

tensor depthwise_conv2d_nchwc(const tensor& data, const tensor& weight, const conv_params& p,
                              const std::string& name) {
  require_rank(data, 5, name);
  require_rank(weight, 4, name);
  int64_t block = data->shape[4];
  if (weight->shape[0] != data->shape[1] || weight->shape[3] != block)
    throw compile_error(fmt::format("{}: weight '{}' {} must be [{}, KH, KW, {}]", name, weight->name,
                                    weight->shape, data->shape[1], block));
  int64_t kh = weight->shape[1], kw = weight->shape[2];
  int64_t oh = conv_output_size(data->shape[2], kh, p.stride_h, p.pad_h);
  int64_t ow = conv_output_size(data->shape[3], kw, p.stride_w, p.pad_w);
  if (oh <= 0 || ow <= 0)
    throw compile_error(fmt::format("{}: kernel {}x{} larger than the padded input", name, kh, kw));
  auto padded = pad_spatial(data, 2, p.pad_h, p.pad_w, 0, name + ".pad");
  auto ry = reduce_axis(kh, name + ".ry");
  auto rx = reduce_axis(kw, name + ".rx");
  return compute({data->shape[0], data->shape[1], oh, ow, block}, [&](const std::vector<expr>& i) {
    auto y = i[2] * int_imm(p.stride_h) + ry.var;
    auto x = i[3] * int_imm(p.stride_w) + rx.var;
    return sum(read(padded, {i[0], i[1], y, x, i[4]}) * read(weight, {i[1], ry.var, rx.var, i[4]}),
               {ry, rx});
  }, name);
}

tensor to_nchwc(const tensor& data, int64_t block, const std::string& name) {
  require_rank(data, 4, name);
  if (block <= 0 || data->shape[1] % block != 0)
    throw compile_error(fmt::format("{}: {} channels of '{}' do not split into blocks of {}", name,
                                    data->shape[1], data->name, block));
  auto& s = data->shape;
  return compute({s[0], s[1] / block, s[2], s[3], block}, [&](const std::vector<expr>& i) {
    return read(data, {i[0], i[1] * int_imm(block) + i[4], i[2], i[3]});
  }, name);
}

tensor from_nchwc(const tensor& data, const std::string& name) {
  require_rank(data, 5, name);
  auto& s = data->shape;
  int64_t block = s[4];
  return compute({s[0], s[1] * block, s[2], s[3]}, [&](const std::vector<expr>& i) {
    return read(data, {i[0], i[1] / int_imm(block), i[2], i[3], i[1] % int_imm(block)});
  }, name);
}

tensor pack_conv_weight(const tensor& weight, int64_t in_block, int64_t out_block,
                        const std::string& name) {
  require_rank(weight, 4, name);
  auto& s = weight->shape;
  if (in_block <= 0 || out_block <= 0 || s[1] % in_block != 0 || s[0] % out_block != 0)
    throw compile_error(fmt::format("{}: weight '{}' {} does not split into blocks of {} (in) and "
                                    "{} (out)", name, weight->name, s, in_block, out_block));
  return compute({s[0] / out_block, s[1] / in_block, s[2], s[3], in_block, out_block},
                 [&](const std::vector<expr>& i) {
    return read(weight, {i[0] * int_imm(out_block) + i[5], i[1] * int_imm(in_block) + i[4], i[2],
                         i[3]});
  }, name);
}

tensor pack_depthwise_weight(const tensor& weight, int64_t block, const std::string& name) {
  require_rank(weight, 4, name);
  auto& s = weight->shape;
  if (block <= 0 || s[1] != 1 || s[0] % block != 0)
    throw compile_error(fmt::format("{}: depthwise weight '{}' {} must be [C, 1, KH, KW] with C a "
                                    "multiple of {}", name, weight->name, s, block));
  return compute({s[0] / block, s[2], s[3], block}, [&](const std::vector<expr>& i) {
    return read(weight, {i[0] * int_imm(block) + i[3], int_imm(0), i[1], i[2]});
  }, name);
}

} // namespace troupe::compiler::ops
