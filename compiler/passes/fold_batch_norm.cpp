#include "compiler/passes/fold_batch_norm.hpp"

#include <cmath>

namespace troupe::compiler {

graph fold_batch_norm(const graph& g) {
  graph result = g;
  auto users = g.users();
  for (size_t id = 0; id < result.nodes.size(); ++id) {
    auto& bn = result.nodes[id];
    if (bn.op != "batch_norm")
      continue;
    int conv_id = bn.inputs[0];
    auto conv = result.node(conv_id);
    if (conv.op != "conv2d" || users[static_cast<size_t>(conv_id)].size() != 1)
      continue;
    bool constant_stats = true;
    for (size_t i = 1; i < 5; ++i)
      constant_stats = constant_stats && result.node(bn.inputs[i]).op == "constant";
    auto& weight = result.node(conv.inputs[1]);
    bool constant_bias = conv.inputs.size() < 3 || result.node(conv.inputs[2]).op == "constant";
    if (!constant_stats || weight.op != "constant" || !constant_bias)
      continue;
    auto& gamma = *result.node(bn.inputs[1]).data;
    auto& beta = *result.node(bn.inputs[2]).data;
    auto& mean = *result.node(bn.inputs[3]).data;
    auto& variance = *result.node(bn.inputs[4]).data;
    double eps = bn.floats.count("epsilon") ? bn.floats.at("epsilon") : 1e-5;
    int64_t out_channels = weight.shape[0];
    int64_t per_channel = result.elements(conv.inputs[1]) / out_channels;
    std::vector<float> new_weight(*weight.data);
    std::vector<float> new_bias(static_cast<size_t>(out_channels));
    for (int64_t o = 0; o < out_channels; ++o) {
      auto c = static_cast<size_t>(o);
      float scale = static_cast<float>(gamma[c] / std::sqrt(variance[c] + eps));
      for (int64_t k = 0; k < per_channel; ++k)
        new_weight[static_cast<size_t>(o * per_channel + k)] *= scale;
      float bias = conv.inputs.size() == 3 ? (*result.node(conv.inputs[2]).data)[c] : 0.0f;
      new_bias[c] = (bias - mean[c]) * scale + beta[c];
    }
    // The folded weight and bias are new constants; the batch norm node
    // becomes the convolution (its users keep their input ids).
    auto weight_shape = weight.shape;
    auto weight_name = weight.name + ".folded";
    auto bias_name = conv.name + ".folded_bias";
    int w = result.add_constant(weight_name, weight_shape, std::move(new_weight));
    int b = result.add_constant(bias_name, {out_channels}, std::move(new_bias));
    auto& target = result.nodes[id];
    auto bn_name = target.name;
    target = conv;
    target.name = bn_name;
    target.inputs = {conv.inputs[0], w, b};
  }
  // New constants were appended after their users.
  return remove_dead_nodes(sort_topologically(result));
}

} // namespace troupe::compiler
