#include "compiler/passes/transform_layout.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace troupe::compiler {

namespace {

int64_t largest_divisor_up_to(int64_t n, int64_t limit) {
  for (int64_t d = std::min(n, limit); d > 1; --d)
    if (n % d == 0)
      return d;
  return 1;
}

class layout_rewriter {
public:
  layout_rewriter(const graph& g, const layout_options& options) : in_(g), options_(options) {}

  graph run() {
    for (size_t i = 0; i < in_.nodes.size(); ++i)
      rewrite(static_cast<int>(i));
    for (int input : in_.inputs)
      out_.inputs.push_back(new_id_.at(input));
    for (int output : in_.outputs)
      out_.outputs.push_back(plain(output));
    return remove_dead_nodes(out_);
  }

private:
  void rewrite(int id) {
    auto& n = in_.node(id);
    if (n.op == "input" || n.op == "constant") {
      out_.nodes.push_back(n);
      out_.nodes.back().inputs.clear();
      new_id_[id] = static_cast<int>(out_.nodes.size()) - 1;
      return;
    }
    if (n.op == "conv2d" && convertible_conv(n)) {
      auto& data = in_.node(n.inputs[0]);
      auto& weight = in_.node(n.inputs[1]);
      int64_t cb = largest_divisor_up_to(data.shape[1], options_.channel_block);
      int64_t ob = largest_divisor_up_to(weight.shape[0], options_.channel_block);
      int packed = out_.add_op("pack_conv_weight", {new_id_.at(n.inputs[1])}, {{"blocks", {cb, ob}}},
                               {}, weight.name + ".packed");
      std::vector<int> inputs{blocked(n.inputs[0], cb), packed};
      if (n.inputs.size() == 3)
        inputs.push_back(new_id_.at(n.inputs[2]));
      auto ints = n.ints;
      ints.erase("groups");
      new_id_[id] = out_.add_op("conv2d_nchwc", inputs, ints, n.floats, n.name);
      block_[id] = ob;
      return;
    }
    if (n.op == "conv2d" && blockable_depthwise(n)) {
      // Each block of channels is a vector of independent lanes.
      int64_t b = options_.channel_block;
      auto& weight = in_.node(n.inputs[1]);
      int packed = out_.add_op("pack_depthwise_weight", {new_id_.at(n.inputs[1])}, {{"block", {b}}},
                               {}, weight.name + ".packed");
      std::vector<int> inputs{blocked(n.inputs[0], b), packed};
      if (n.inputs.size() == 3)
        inputs.push_back(new_id_.at(n.inputs[2]));
      auto ints = n.ints;
      ints.erase("groups");
      new_id_[id] = out_.add_op("depthwise_conv2d_nchwc", inputs, ints, n.floats, n.name);
      block_[id] = b;
      return;
    }
    if (n.op == "dense" && in_.node(n.inputs[1]).op == "constant") {
      auto& weight = in_.node(n.inputs[1]);
      // A layer narrower than a panel (a classifier's 10 outputs) is one
      // panel of its own width: unpacked, it ran on the generic schedule at
      // ~7 GFLOP/s and cost the digits MLP a fifth of its time.
      int64_t outputs = weight.shape[0];
      int64_t nr = outputs % options_.dense_block == 0 ? options_.dense_block
                   : outputs % 16 == 0                  ? 16
                   : outputs < options_.dense_block     ? outputs
                                                        : 0;
      if (nr > 0) {
        int packed = out_.add_op("pack_dense_weight", {new_id_.at(n.inputs[1])}, {{"block", {nr}}},
                                 {}, weight.name + ".packed");
        std::vector<int> inputs{plain(n.inputs[0]), packed};
        if (n.inputs.size() == 3)
          inputs.push_back(new_id_.at(n.inputs[2]));
        new_id_[id] = out_.add_op("dense_packed", inputs, n.ints, n.floats, n.name);
        return;
      }
    }
    if (is_layout_agnostic(n.op)) {
      // Elementwise on same-shaped operands: blocked when one of them is
      // (the others are brought into its layout: a residual add after an
      // NCHW pooling converts the pooled value once, not the sum back).
      int64_t b = 0;
      bool same_shapes = n.shape.size() == 4;
      for (int input : n.inputs) {
        b = std::max(b, block_of(input));
        same_shapes = same_shapes && in_.node(input).shape == n.shape;
      }
      if (b > 1 && same_shapes && n.shape[1] % b == 0) {
        std::vector<int> inputs;
        for (int input : n.inputs)
          inputs.push_back(blocked(input, b));
        new_id_[id] = out_.add_op(n.op, inputs, n.ints, n.floats, n.name);
        block_[id] = b;
        return;
      }
    }
    if (is_pooling(n.op) && block_of(n.inputs[0]) > 1) {
      // Pooling is per channel: it runs on the blocked layout as it is.
      new_id_[id] = out_.add_op(n.op, {new_id_.at(n.inputs[0])}, n.ints, n.floats, n.name);
      block_[id] = block_of(n.inputs[0]);
      return;
    }
    std::vector<int> inputs;
    for (int input : n.inputs)
      inputs.push_back(plain(input));
    auto copy = n;
    copy.inputs = inputs;
    out_.nodes.push_back(copy);
    new_id_[id] = static_cast<int>(out_.nodes.size()) - 1;
  }

  bool convertible_conv(const graph_node& n) const {
    auto groups = n.ints.count("groups") ? n.ints.at("groups").at(0) : 1;
    return groups == 1 && in_.node(n.inputs[1]).op == "constant"
           && (n.inputs.size() < 3 || in_.node(n.inputs[2]).op == "constant");
  }

  /// groups == C == O, weight [C, 1, KH, KW], C a multiple of the channel block.
  bool blockable_depthwise(const graph_node& n) const {
    auto groups = n.ints.count("groups") ? n.ints.at("groups").at(0) : 1;
    auto& data = in_.node(n.inputs[0]).shape;
    auto& weight = in_.node(n.inputs[1]);
    return groups > 1 && data.size() == 4 && groups == data[1] && weight.shape.size() == 4
           && weight.shape[0] == groups && weight.shape[1] == 1
           && groups % options_.channel_block == 0 && weight.op == "constant"
           && (n.inputs.size() < 3 || in_.node(n.inputs[2]).op == "constant");
  }

  static bool is_layout_agnostic(const std::string& op) {
    return op == "relu" || op == "add" || op == "multiply" || op == "subtract";
  }

  static bool is_pooling(const std::string& op) {
    return op == "max_pool2d" || op == "avg_pool2d" || op == "global_avg_pool2d";
  }

  int64_t block_of(int old) const {
    auto found = block_.find(old);
    return found == block_.end() ? 0 : found->second;
  }

  int plain(int old) {
    if (block_of(old) == 0)
      return new_id_.at(old);
    auto found = plain_.find(old);
    if (found != plain_.end())
      return found->second;
    int id = out_.add_op("from_nchwc", {new_id_.at(old)}, {}, {}, in_.node(old).name + ".nchw");
    plain_[old] = id;
    return id;
  }

  int blocked(int old, int64_t b) {
    if (block_of(old) == b)
      return new_id_.at(old);
    auto key = std::make_pair(old, b);
    auto found = blocked_.find(key);
    if (found != blocked_.end())
      return found->second;
    int id = out_.add_op("to_nchwc", {plain(old)}, {{"block", {b}}}, {},
                         in_.node(old).name + ".nchw" + std::to_string(b) + "c");
    blocked_[key] = id;
    return id;
  }

  const graph& in_;
  layout_options options_;
  graph out_;
  std::map<int, int> new_id_;
  std::map<int, int64_t> block_;
  std::map<int, int> plain_;
  std::map<std::pair<int, int64_t>, int> blocked_;
};

} // namespace

graph transform_layout(const graph& g, const layout_options& options) {
  return layout_rewriter(g, options).run();
}

} // namespace troupe::compiler
