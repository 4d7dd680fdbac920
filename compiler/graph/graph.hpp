// The graph IR: operators with shapes and dtypes, built from C++ or
// imported from ONNX, rewritten by passes (each a free function in its own
// file) and run by the graph executor. A graph is a value: passes return a
// new one. Nodes are stored in topological order (inputs before users).
#pragma once

#include "compiler/ir/expr.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace troupe::compiler {

/// TVM's four operator patterns, which decide what fuses with what.
enum class op_pattern : uint8_t {
  injective,            ///< elementwise, broadcast, reshape, layout: fuse freely
  reduction,            ///< may absorb injective producers
  complex_out_fusable,  ///< conv, dense, pooling: may absorb elementwise consumers
  opaque,               ///< never fused (softmax)
  source,               ///< inputs and constants (no computation)
};

const char* to_string(op_pattern pattern);

struct graph_node {
  std::string name;
  std::string op;  ///< "input", "constant", "conv2d", "dense", ... (see op_registry.hpp)
  std::vector<int> inputs;
  std::vector<int64_t> shape;
  dtype type = dtype::f32;
  std::map<std::string, std::vector<int64_t>> ints;
  std::map<std::string, double> floats;
  std::map<std::string, std::string> strings;
  /// "constant" nodes: the values, row-major.
  std::shared_ptr<const std::vector<float>> data;
  /// Set by fuse_operators: nodes of one group compile to one function.
  int fusion_group = -1;
};

struct graph {
  std::vector<graph_node> nodes;
  std::vector<int> inputs;
  std::vector<int> outputs;

  // -- building (shapes inferred by the op registry) ----------------------

  int add_input(const std::string& name, std::vector<int64_t> shape);
  int add_constant(const std::string& name, std::vector<int64_t> shape, std::vector<float> values);
  int add_op(const std::string& op, std::vector<int> inputs,
             std::map<std::string, std::vector<int64_t>> ints = {},
             std::map<std::string, double> floats = {}, const std::string& name = "");
  void mark_output(int node);

  // -- queries -----------------------------------------------------------

  const graph_node& node(int id) const { return nodes.at(static_cast<size_t>(id)); }
  /// For each node, the nodes that read it.
  std::vector<std::vector<int>> users() const;
  int64_t elements(int id) const;
  /// Throws compile_error when an input id is out of order or a shape is missing.
  void validate() const;
};

std::string print(const graph& g);

/// The same graph with nodes reordered so that inputs come before users
/// (passes that append nodes call it).
graph sort_topologically(const graph& g);

/// Copies the nodes reachable from the outputs into a new graph (in
/// order), renumbering inputs; dead nodes disappear.
graph remove_dead_nodes(const graph& g);

} // namespace troupe::compiler
