#include "compiler/tuning/search_space.hpp"

#include "compiler/ir/compile_error.hpp"
#include "compiler/lower/lower.hpp"
#include "compiler/ops/conv.hpp"
#include "compiler/ops/elementwise.hpp"
#include "compiler/schedules/conv2d_schedule.hpp"
#include "compiler/schedules/depthwise_schedule.hpp"
#include "compiler/schedules/matmul_schedule.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace troupe::compiler {

namespace {

void require_shape(const tuning_task& task, size_t n) {
  if (task.shape.size() != n)
    throw compile_error(fmt::format("tuning task '{}' needs {} shape values, got {}", task.op, n,
                                    task.shape.size()));
  for (auto v : task.shape)
    if (v < 0)
      throw compile_error(fmt::format("tuning task '{}': negative shape value", task.op));
}

int64_t channel_block(int64_t channels) {
  for (int64_t d = std::min<int64_t>(16, channels); d > 1; --d)
    if (channels % d == 0)
      return d;
  return 1;
}

struct conv_shape {
  int64_t c, h, w, k, r, stride, pad, oh, ow, cb;
};

conv_shape conv_of(const tuning_task& task) {
  require_shape(task, 7);
  auto& s = task.shape;
  conv_shape c{s[0], s[1], s[2], s[3], s[4], s[5], s[6], 0, 0, channel_block(s[0])};
  if (c.k % 16 != 0)
    throw compile_error(fmt::format("conv2d tuning task: {} output channels are not a multiple of 16",
                                    c.k));
  c.oh = ops::conv_output_size(c.h, c.r, c.stride, c.pad);
  c.ow = ops::conv_output_size(c.w, c.r, c.stride, c.pad);
  return c;
}

struct depthwise_shape {
  int64_t c, h, w, r, stride, pad, oh, ow;
};

depthwise_shape depthwise_of(const tuning_task& task) {
  require_shape(task, 6);
  auto& s = task.shape;
  depthwise_shape d{s[0], s[1], s[2], s[3], s[4], s[5], 0, 0};
  if (d.c % 16 != 0 || d.c == 0)
    throw compile_error(fmt::format("depthwise_conv2d tuning task: {} channels are not a multiple of 16",
                                    d.c));
  d.oh = ops::conv_output_size(d.h, d.r, d.stride, d.pad);
  d.ow = ops::conv_output_size(d.w, d.r, d.stride, d.pad);
  return d;
}

// AVX-512 has 32 vector registers: a register tile must leave room for
// the weight vectors it multiplies by.
constexpr int64_t vector_registers = 32;

// A register tile of reg_h rows x reg_n pixels must divide the output.
void require_tile_fits(int64_t reg_n, int64_t reg_h, int64_t width, int64_t height) {
  if (width % reg_n != 0)
    throw compile_error(fmt::format("reg_n {} does not divide the output width {}", reg_n, width));
  if (height % reg_h != 0)
    throw compile_error(fmt::format("reg_h {} does not divide the output height {}", reg_h, height));
}

compile_error unknown_op(const std::string& op) {
  return compile_error(
    fmt::format("unknown tuning op '{}' (known: matmul, conv2d, depthwise_conv2d)", op));
}

} // namespace

std::string tuning_task::name() const {
  return fmt::format("{}_{}", op, fmt::join(shape, "x"));
}

double tuning_task::flops() const {
  if (op == "matmul") {
    require_shape(*this, 3);
    return 2.0 * static_cast<double>(shape[0]) * static_cast<double>(shape[1])
           * static_cast<double>(shape[2]);
  }
  if (op == "conv2d") {
    auto c = conv_of(*this);
    return 2.0 * static_cast<double>(c.k * c.oh * c.ow) * static_cast<double>(c.c * c.r * c.r);
  }
  if (op == "depthwise_conv2d") {
    auto d = depthwise_of(*this);
    return 2.0 * static_cast<double>(d.c * d.oh * d.ow) * static_cast<double>(d.r * d.r);
  }
  throw unknown_op(op);
}

uint64_t search_space::size() const {
  uint64_t n = 1;
  for (auto& k : knobs)
    n *= k.values.size();
  return n;
}

tuning_config search_space::at(uint64_t index) const {
  tuning_config config(knobs.size());
  for (size_t i = knobs.size(); i-- > 0;) {
    auto radix = knobs[i].values.size();
    config[i] = knobs[i].values[index % radix];
    index /= radix;
  }
  return config;
}

uint64_t search_space::index_of(const tuning_config& config) const {
  if (config.size() != knobs.size())
    throw compile_error(fmt::format("a config needs {} values, got {}", knobs.size(), config.size()));
  uint64_t index = 0;
  for (size_t i = 0; i < knobs.size(); ++i) {
    auto& values = knobs[i].values;
    auto found = std::find(values.begin(), values.end(), config[i]);
    if (found == values.end())
      throw compile_error(fmt::format("knob '{}' has no value {}", knobs[i].name, config[i]));
    index = index * values.size() + static_cast<uint64_t>(found - values.begin());
  }
  return index;
}

std::string search_space::describe(const tuning_config& config) const {
  std::string text;
  for (size_t i = 0; i < knobs.size() && i < config.size(); ++i)
    text += fmt::format("{}{}={}", i ? " " : "", knobs[i].name, config[i]);
  return text;
}

search_space space_of(const tuning_task& task) {
  search_space space;
  if (task.op == "matmul") {
    require_shape(task, 3);
    space.knobs = {{"tile_m", {1, 2, 4, 6, 8, 12, 16}},
                   {"tile_n", {16, 32, 48, 64}},
                   {"unroll_k", {1, 2, 4, 8}},
                   {"columns_outer", {0, 1}},
                   {"tensorize", {0, 1}},
                   {"block_k", {0, 64, 128, 256, 512}}};
    return space;
  }
  if (task.op == "conv2d") {
    conv_of(task);
    space.knobs = {{"reg_n", {1, 2, 4, 7, 8, 14, 16, 28}},
                   {"oc_tile", {1, 2, 4}},
                   {"reg_h", {1, 2, 4}},
                   {"taps_outer", {0, 1}},
                   {"unroll_taps", {0, 1}}};
    return space;
  }
  if (task.op == "depthwise_conv2d") {
    depthwise_of(task);
    space.knobs = {{"reg_n", {1, 2, 4, 7, 8, 14, 16, 28}}, {"reg_h", {1, 2, 4}}};
    return space;
  }
  throw unknown_op(task.op);
}

bool fits_template(const tuning_task& task, const tuning_config& config) {
  try {
    return config.size() == space_of(task).knobs.size();
  } catch (const compile_error&) {
    return false;
  }
}

conv2d_config conv2d_config_of(const tuning_task& task, const tuning_config& config) {
  auto c = conv_of(task);
  space_of(task).index_of(config);  // every value must be one of its knob's
  conv2d_config cc;
  cc.reg_n = config[0];
  cc.oc_tile = config[1];
  cc.reg_h = config[2];
  cc.taps_outer = config[3] != 0;
  cc.unroll_taps = config[4] != 0;
  require_tile_fits(cc.reg_n, cc.reg_h, c.ow, c.oh);
  if ((c.k / 16) % cc.oc_tile != 0)
    throw compile_error(fmt::format("oc_tile {} does not divide {} channel blocks", cc.oc_tile, c.k / 16));
  int64_t registers = cc.reg_n * cc.reg_h * cc.oc_tile + cc.oc_tile;
  if (registers > vector_registers)
    throw compile_error(fmt::format("a {}x{}x{} register tile needs {} vector registers, more than {}",
                                    cc.reg_h, cc.reg_n, cc.oc_tile, registers, vector_registers));
  return cc;
}

depthwise_config depthwise_config_of(const tuning_task& task, const tuning_config& config) {
  auto d = depthwise_of(task);
  space_of(task).index_of(config);
  depthwise_config dc;
  dc.reg_n = config[0];
  dc.reg_h = config[1];
  require_tile_fits(dc.reg_n, dc.reg_h, d.ow, d.oh);
  // Accumulators plus the input vectors the unrolled taps keep live.
  int64_t registers = dc.reg_n * dc.reg_h + (dc.reg_n - 1) * d.stride + d.r;
  if (registers > vector_registers)
    throw compile_error(fmt::format("a {}x{} depthwise tile needs about {} vector registers, more than {}",
                                    dc.reg_h, dc.reg_n, registers, vector_registers));
  return dc;
}

namespace {

matmul_kernel matmul_candidate(const tuning_task& task, const tuning_config& config) {
  space_of(task).index_of(config);  // every value must be one of its knob's
  matmul_config c;
  c.tile_m = config[0];
  c.tile_n = config[1];
  c.unroll_k = config[2];
  c.columns_outer = config[3] != 0;
  c.tensorize = config[4] != 0;
  c.block_k = config[5];
  c.parallel = true;
  if (!c.tensorize && c.block_k != 0)
    throw compile_error("block_k applies to the tensorized kernel only");
  return make_matmul(task.shape[0], task.shape[1], task.shape[2], c);
}

} // namespace

std::string config_refusal(const tuning_task& task, const tuning_config& config) {
  try {
    if (task.op == "matmul")
      matmul_candidate(task, config);  // scheduling only: the refusals come from it
    else if (task.op == "depthwise_conv2d")
      depthwise_config_of(task, config);
    else
      conv2d_config_of(task, config);
    return {};
  } catch (const compile_error& e) {
    return e.what();
  }
}

std::optional<tuning_config> default_config(const tuning_task& task) {
  tuning_config config;
  if (task.op == "conv2d") {
    auto c = conv_of(task);
    auto d = default_conv2d_config(c.ow, c.k / 16);
    config = {d.reg_n, d.oc_tile, d.reg_h, d.taps_outer ? 1 : 0, d.unroll_taps ? 1 : 0};
  } else if (task.op == "depthwise_conv2d") {
    auto d = depthwise_of(task);
    config = {default_depthwise_reg_n(d.ow), 1};
  } else {
    return std::nullopt;  // matmul: no one default (dense has its own template)
  }
  if (!config_refusal(task, config).empty())
    return std::nullopt;
  return config;
}

lowered_func build_candidate(const tuning_task& task, const tuning_config& config,
                             const std::string& name) {
  auto space = space_of(task);
  space.index_of(config);  // every value must be one of its knob's
  if (task.op == "matmul") {
    auto kernel = matmul_candidate(task, config);
    return lower(*kernel.sched, kernel.args(), name);
  }
  if (task.op == "depthwise_conv2d") {
    auto dc = depthwise_config_of(task, config);
    auto d = depthwise_of(task);
    auto data = placeholder({1, d.c / 16, d.h, d.w, 16}, "data");
    auto weight = placeholder({d.c / 16, d.r, d.r, 16}, "weight");
    auto conv = ops::depthwise_conv2d_nchwc(data, weight, {d.stride, d.stride, d.pad, d.pad}, "conv");
    auto out = ops::relu(conv, "out");  // as a model's layer runs it (see conv2d below)
    schedule s({out});
    schedule_depthwise_conv2d_nchwc(s, conv, out, dc);
    return lower(s, {data, weight, out}, name);
  }
  auto cc = conv2d_config_of(task, config);
  auto c = conv_of(task);
  auto data = placeholder({1, c.c / c.cb, c.h, c.w, c.cb}, "data");
  auto weight = placeholder({c.k / 16, c.c / c.cb, c.r, c.r, c.cb, 16}, "weight");
  auto conv = ops::conv2d_nchwc(data, weight, {c.stride, c.stride, c.pad, c.pad}, "conv");
  // With the ReLU a model's convolutions have fused (an epilogue applied
  // as each register tile is stored): the loop structure, and the
  // registers the epilogue takes, are then those of the model's layer. A
  // bare convolution ranked configs differently (7x7x512: oc_tile 4
  // fastest alone, slowest in the model; benchmarks/conv_config_bench).
  auto out = ops::relu(conv, "out");
  schedule s({out});
  schedule_conv2d_nchwc(s, conv, out, cc);
  return lower(s, {data, weight, out}, name);
}

std::vector<int64_t> parameter_sizes(const tuning_task& task) {
  if (task.op == "matmul") {
    require_shape(task, 3);
    auto m = task.shape[0], n = task.shape[1], k = task.shape[2];
    return {m * k, k * n, m * n};
  }
  if (task.op == "depthwise_conv2d") {
    auto d = depthwise_of(task);
    return {d.c * d.h * d.w, d.c * d.r * d.r, d.c * d.oh * d.ow};
  }
  auto c = conv_of(task);
  return {c.c * c.h * c.w, c.k * c.c * c.r * c.r, c.k * c.oh * c.ow};
}

} // namespace troupe::compiler
