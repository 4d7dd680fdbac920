#include "compiler/graph/op_registry.hpp"

#include "compiler/ir/compile_error.hpp"
#include "compiler/ops/conv.hpp"
#include "compiler/ops/elementwise.hpp"
#include "compiler/ops/matmul.hpp"
#include "compiler/ops/normalization.hpp"
#include "compiler/ops/pool.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace troupe::compiler {

namespace {

using shape_t = std::vector<int64_t>;

std::vector<int64_t> ints_or(const graph_node& n, const std::string& key, shape_t fallback) {
  auto found = n.ints.find(key);
  return found == n.ints.end() ? fallback : found->second;
}

const shape_t& input_shape(const graph& g, const graph_node& n, size_t i) {
  return g.node(n.inputs.at(i)).shape;
}

void require_inputs(const graph_node& n, size_t lo, size_t hi) {
  if (n.inputs.size() < lo || n.inputs.size() > hi)
    throw compile_error(fmt::format("{} '{}' takes {} to {} inputs, got {}", n.op, n.name, lo, hi,
                                    n.inputs.size()));
}

// Shapes are inferred by building the tensor expression on placeholders:
// one definition of each operator's shape rules, and its errors.
shape_t shape_from_build(const graph& g, const graph_node& n) {
  std::vector<tensor> inputs;
  for (size_t i = 0; i < n.inputs.size(); ++i)
    inputs.push_back(placeholder(input_shape(g, n, i), g.node(n.inputs[i]).name));
  try {
    return lookup_op(n.op).build(n, inputs)->shape;
  } catch (const compile_error& e) {
    throw compile_error(fmt::format("node '{}' ({}): {}", n.name, n.op, e.what()));
  }
}

ops::conv_params conv_params_of(const graph_node& n) {
  auto strides = ints_or(n, "strides", {1, 1});
  auto pads = ints_or(n, "pads", {0, 0});
  if (strides.size() != 2 || pads.size() != 2)
    throw compile_error(fmt::format("{} '{}': strides and pads need two values", n.op, n.name));
  return {strides[0], strides[1], pads[0], pads[1]};
}

tensor build_conv2d(const graph_node& n, const std::vector<tensor>& in) {
  require_inputs(n, 2, 3);
  auto params = conv_params_of(n);
  int64_t groups = ints_or(n, "groups", {1})[0];
  tensor out;
  if (groups == 1)
    out = ops::conv2d_nchw(in[0], in[1], params, n.name);
  else if (groups == in[0]->shape[1] && in[1]->shape[1] == 1 && in[1]->shape[0] == groups)
    out = ops::depthwise_conv2d_nchw(in[0], in[1], params, n.name);
  else
    throw compile_error(fmt::format("conv2d '{}': groups={} is supported only as depthwise", n.name,
                                    groups));
  if (in.size() == 3)
    out = ops::bias_add(out, in[2], 1, n.name + ".bias");
  return out;
}

// A blocked convolution's bias [O] is read at channel oc.o * ob + oc.i.
tensor blocked_bias(const graph_node& n, const tensor& out, const tensor& bias) {
  int64_t ob = out->shape[4];
  if (bias->shape != shape_t{out->shape[1] * ob})
    throw compile_error(fmt::format("{} '{}': bias {} must be [{}]", n.op, n.name, bias->shape,
                                    out->shape[1] * ob));
  return compute(out->shape, [&](const std::vector<expr>& i) {
    return read(out, i) + read(bias, {i[1] * int_imm(ob) + i[4]});
  }, n.name + ".bias");
}

tensor build_conv2d_nchwc(const graph_node& n, const std::vector<tensor>& in) {
  require_inputs(n, 2, 3);
  auto out = ops::conv2d_nchwc(in[0], in[1], conv_params_of(n), n.name);
  return in.size() == 3 ? blocked_bias(n, out, in[2]) : out;
}

tensor build_depthwise_conv2d_nchwc(const graph_node& n, const std::vector<tensor>& in) {
  require_inputs(n, 2, 3);
  auto out = ops::depthwise_conv2d_nchwc(in[0], in[1], conv_params_of(n), n.name);
  return in.size() == 3 ? blocked_bias(n, out, in[2]) : out;
}

tensor build_dense(const graph_node& n, const std::vector<tensor>& in) {
  require_inputs(n, 2, 3);
  auto out = ops::dense(in[0], in[1], n.name);
  if (in.size() == 3)
    out = ops::bias_add(out, in[2], 1, n.name + ".bias");
  return out;
}

tensor build_flatten(const graph_node& n, const std::vector<tensor>& in) {
  require_inputs(n, 1, 1);
  auto& x = in[0];
  int64_t rest = 1;
  for (size_t d = 1; d < x->shape.size(); ++d)
    rest *= x->shape[d];
  return compute({x->shape[0], rest}, [&](const std::vector<expr>& i) {
    std::vector<expr> indices(x->shape.size());
    indices[0] = i[0];
    expr remaining = i[1];
    for (size_t d = x->shape.size(); d-- > 1;) {
      indices[d] = d == 1 ? remaining : remaining % int_imm(x->shape[d]);
      remaining = remaining / int_imm(x->shape[d]);
    }
    return read(x, indices);
  }, n.name);
}

ops::pool_params pool_params_of(const graph_node& n) {
  auto kernel = ints_or(n, "kernel", {2, 2});
  auto strides = ints_or(n, "strides", kernel);
  auto pads = ints_or(n, "pads", {0, 0});
  if (kernel.size() != 2 || strides.size() != 2 || pads.size() != 2)
    throw compile_error(fmt::format("{} '{}': kernel, strides and pads need two values", n.op, n.name));
  return {kernel[0], kernel[1], strides[0], strides[1], pads[0], pads[1]};
}

double float_or(const graph_node& n, const std::string& key, double fallback) {
  auto found = n.floats.find(key);
  return found == n.floats.end() ? fallback : found->second;
}

const std::map<std::string, op_info>& registry() {
  static const std::map<std::string, op_info> ops_table = {
      {"conv2d", {op_pattern::complex_out_fusable, shape_from_build, build_conv2d}},
      {"conv2d_nchwc", {op_pattern::complex_out_fusable, shape_from_build, build_conv2d_nchwc}},
      {"depthwise_conv2d_nchwc", {op_pattern::complex_out_fusable, shape_from_build,
                                  build_depthwise_conv2d_nchwc}},
      {"dense", {op_pattern::complex_out_fusable, shape_from_build, build_dense}},
      {"dense_packed", {op_pattern::complex_out_fusable, shape_from_build,
                        [](const graph_node& n, const std::vector<tensor>& in) {
                          require_inputs(n, 2, 3);
                          auto out = ops::dense_packed(in[0], in[1], n.name);
                          if (in.size() == 3)
                            out = ops::bias_add(out, in[2], 1, n.name + ".bias");
                          return out;
                        }}},
      {"pack_dense_weight", {op_pattern::injective, shape_from_build,
                             [](const graph_node& n, const std::vector<tensor>& in) {
                               require_inputs(n, 1, 1);
                               return ops::pack_dense_weight(in[0], ints_or(n, "block", {32})[0], n.name);
                             }}},
      {"matmul", {op_pattern::complex_out_fusable, shape_from_build,
                  [](const graph_node& n, const std::vector<tensor>& in) {
                    require_inputs(n, 2, 2);
                    return ops::matmul(in[0], in[1], n.name);
                  }}},
      {"max_pool2d", {op_pattern::complex_out_fusable, shape_from_build,
                      [](const graph_node& n, const std::vector<tensor>& in) {
                        require_inputs(n, 1, 1);
                        return ops::max_pool2d(in[0], pool_params_of(n), n.name);
                      }}},
      {"avg_pool2d", {op_pattern::complex_out_fusable, shape_from_build,
                      [](const graph_node& n, const std::vector<tensor>& in) {
                        require_inputs(n, 1, 1);
                        return ops::avg_pool2d(in[0], pool_params_of(n), n.name);
                      }}},
      {"global_avg_pool2d", {op_pattern::reduction, shape_from_build,
                             [](const graph_node& n, const std::vector<tensor>& in) {
                               require_inputs(n, 1, 1);
                               return ops::global_avg_pool2d(in[0], n.name);
                             }}},
      {"relu", {op_pattern::injective, shape_from_build,
                [](const graph_node& n, const std::vector<tensor>& in) {
                  require_inputs(n, 1, 1);
                  return ops::relu(in[0], n.name);
                }}},
      {"add", {op_pattern::injective, shape_from_build,
               [](const graph_node& n, const std::vector<tensor>& in) {
                 require_inputs(n, 2, 2);
                 return ops::add(in[0], in[1], n.name);
               }}},
      {"multiply", {op_pattern::injective, shape_from_build,
                    [](const graph_node& n, const std::vector<tensor>& in) {
                      require_inputs(n, 2, 2);
                      return ops::multiply(in[0], in[1], n.name);
                    }}},
      {"subtract", {op_pattern::injective, shape_from_build,
                    [](const graph_node& n, const std::vector<tensor>& in) {
                      require_inputs(n, 2, 2);
                      return ops::subtract(in[0], in[1], n.name);
                    }}},
      {"bias_add", {op_pattern::injective, shape_from_build,
                    [](const graph_node& n, const std::vector<tensor>& in) {
                      require_inputs(n, 2, 2);
                      return ops::bias_add(in[0], in[1],
                                           static_cast<size_t>(ints_or(n, "axis", {1})[0]), n.name);
                    }}},
      {"batch_norm", {op_pattern::injective, shape_from_build,
                      [](const graph_node& n, const std::vector<tensor>& in) {
                        require_inputs(n, 5, 5);
                        return ops::batch_norm(in[0], in[1], in[2], in[3], in[4],
                                               float_or(n, "epsilon", 1e-5), n.name);
                      }}},
      {"flatten", {op_pattern::injective, shape_from_build, build_flatten}},
      {"to_nchwc", {op_pattern::injective, shape_from_build,
                    [](const graph_node& n, const std::vector<tensor>& in) {
                      require_inputs(n, 1, 1);
                      return ops::to_nchwc(in[0], ints_or(n, "block", {16})[0], n.name);
                    }}},
      {"from_nchwc", {op_pattern::injective, shape_from_build,
                      [](const graph_node& n, const std::vector<tensor>& in) {
                        require_inputs(n, 1, 1);
                        return ops::from_nchwc(in[0], n.name);
                      }}},
      {"pack_conv_weight", {op_pattern::injective, shape_from_build,
                            [](const graph_node& n, const std::vector<tensor>& in) {
                              require_inputs(n, 1, 1);
                              auto blocks = ints_or(n, "blocks", {16, 16});
                              return ops::pack_conv_weight(in[0], blocks.at(0), blocks.at(1), n.name);
                            }}},
      {"pack_depthwise_weight", {op_pattern::injective, shape_from_build,
                                 [](const graph_node& n, const std::vector<tensor>& in) {
                                   require_inputs(n, 1, 1);
                                   return ops::pack_depthwise_weight(in[0], ints_or(n, "block", {16})[0],
                                                                     n.name);
                                 }}},
      {"softmax", {op_pattern::opaque, shape_from_build,
                   [](const graph_node& n, const std::vector<tensor>& in) {
                     require_inputs(n, 1, 1);
                     return ops::softmax(in[0], n.name);
                   }}},
  };
  return ops_table;
}

} // namespace

const op_info& lookup_op(const std::string& op) {
  auto& table = registry();
  auto found = table.find(op);
  if (found == table.end()) {
    std::string known;
    for (auto& [name, info] : table)
      known += (known.empty() ? "" : ", ") + name;
    throw compile_error(fmt::format("unsupported operator '{}' (supported: {})", op, known));
  }
  return found->second;
}

bool is_known_op(const std::string& op) { return registry().count(op) > 0; }

} // namespace troupe::compiler
