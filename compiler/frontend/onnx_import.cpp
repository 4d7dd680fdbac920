#include "compiler/frontend/onnx_import.hpp"

#include "compiler/ir/compile_error.hpp"

#include <onnx/onnx_pb.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <iterator>

namespace troupe::compiler {

namespace {

using shape_t = std::vector<int64_t>;

// -- names ----------------------------------------------------------------

/// torch's tensor names ("/layer1/layer1.0/conv1/Conv_output_0",
/// "onnx::Conv_193") made readable: "layer1.layer1.0.conv1.Conv", "Conv_193".
std::string sanitize(std::string name) {
  if (name.rfind("onnx::", 0) == 0)
    name.erase(0, 6);
  const std::string suffix = "_output_0";
  if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    name.erase(name.size() - suffix.size());
  while (!name.empty() && name.front() == '/')
    name.erase(0, 1);
  for (auto& c : name) {
    if (c == '/')
      c = '.';
    else if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.')
      c = '_';
  }
  return name.empty() ? "tensor" : name;
}

// -- tensors and attributes -------------------------------------------------

std::string dtype_name(int32_t type) {
  return onnx::TensorProto_DataType_IsValid(type)
             ? onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(type))
             : fmt::format("type {}", type);
}

shape_t dims_of(const onnx::TensorProto& t) {
  shape_t shape(t.dims().begin(), t.dims().end());
  if (shape.empty())
    shape = {1};  // scalars broadcast like [1]
  return shape;
}

int64_t count_of(const shape_t& shape) {
  int64_t count = 1;
  for (auto d : shape)
    count *= d;
  return count;
}

void require_internal(const onnx::TensorProto& t) {
  if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL)
    throw compile_error(fmt::format("tensor '{}' keeps its data in an external file, which is "
                                    "unsupported (save the model with its weights inside)",
                                    t.name()));
}

std::vector<float> float_values(const onnx::TensorProto& t) {
  require_internal(t);
  auto count = static_cast<size_t>(count_of(dims_of(t)));
  std::vector<float> values;
  if (t.has_raw_data()) {
    if (t.raw_data().size() != count * sizeof(float))
      throw compile_error(fmt::format("float tensor '{}' of shape {} has {} bytes of data, not {}",
                                      t.name(), dims_of(t), t.raw_data().size(), count * sizeof(float)));
    values.resize(count);
    std::memcpy(values.data(), t.raw_data().data(), count * sizeof(float));  // little-endian hosts
  } else {
    values.assign(t.float_data().begin(), t.float_data().end());
    if (values.size() != count)
      throw compile_error(fmt::format("float tensor '{}' of shape {} has {} values, not {}", t.name(),
                                      dims_of(t), values.size(), count));
  }
  return values;
}

std::vector<int64_t> int64_values(const onnx::TensorProto& t) {
  require_internal(t);
  auto count = static_cast<size_t>(count_of(dims_of(t)));
  std::vector<int64_t> values;
  if (t.has_raw_data()) {
    if (t.raw_data().size() != count * sizeof(int64_t))
      throw compile_error(fmt::format("int64 tensor '{}' has {} bytes of data, not {}", t.name(),
                                      t.raw_data().size(), count * sizeof(int64_t)));
    values.resize(count);
    std::memcpy(values.data(), t.raw_data().data(), count * sizeof(int64_t));
  } else {
    values.assign(t.int64_data().begin(), t.int64_data().end());
  }
  return values;
}

const onnx::AttributeProto* find_attribute(const onnx::NodeProto& node, const std::string& name) {
  for (auto& attribute : node.attribute())
    if (attribute.name() == name)
      return &attribute;
  return nullptr;
}

int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  auto* a = find_attribute(node, name);
  return a ? a->i() : fallback;
}

shape_t ints_attribute(const onnx::NodeProto& node, const std::string& name, shape_t fallback) {
  auto* a = find_attribute(node, name);
  return a ? shape_t(a->ints().begin(), a->ints().end()) : fallback;
}

float float_attribute(const onnx::NodeProto& node, const std::string& name, float fallback) {
  auto* a = find_attribute(node, name);
  return a ? a->f() : fallback;
}

std::string string_attribute(const onnx::NodeProto& node, const std::string& name) {
  auto* a = find_attribute(node, name);
  return a ? a->s() : std::string();
}

// -- the importer -----------------------------------------------------------

class importer {
public:
  importer(const onnx::GraphProto& onnx_graph, int64_t opset) : onnx_(onnx_graph), opset_(opset) {}

  graph run() {
    read_initializers();
    read_inputs();
    for (auto& node : onnx_.node())
      convert(node);
    for (auto& output : onnx_.output()) {
      auto found = values_.find(output.name());
      if (found == values_.end())
        throw compile_error(fmt::format("graph output '{}' is not produced by any node", output.name()));
      g_.mark_output(found->second);
    }
    if (g_.outputs.empty())
      throw compile_error("the ONNX graph has no outputs");
    return remove_dead_nodes(g_);
  }

private:
  using handler = void (importer::*)(const onnx::NodeProto&);

  static const std::map<std::string, handler>& handlers() {
    static const std::map<std::string, handler> table = {
        {"Add", &importer::binary},
        {"AveragePool", &importer::pool},
        {"BatchNormalization", &importer::batch_normalization},
        {"Constant", &importer::constant},
        {"Conv", &importer::conv},
        {"Dropout", &importer::alias},
        {"Flatten", &importer::flatten},
        {"Gemm", &importer::gemm},
        {"GlobalAveragePool", &importer::unary},
        {"Identity", &importer::alias},
        {"MatMul", &importer::binary},
        {"MaxPool", &importer::pool},
        {"Mul", &importer::binary},
        {"Relu", &importer::unary},
        {"Reshape", &importer::reshape},
        {"Softmax", &importer::softmax},
        {"Sub", &importer::binary},
    };
    return table;
  }

  static std::string graph_op(const std::string& onnx_op) {
    static const std::map<std::string, std::string> names = {
        {"Add", "add"},
        {"AveragePool", "avg_pool2d"},
        {"GlobalAveragePool", "global_avg_pool2d"},
        {"MatMul", "matmul"},
        {"MaxPool", "max_pool2d"},
        {"Mul", "multiply"},
        {"Relu", "relu"},
        {"Sub", "subtract"},
    };
    return names.at(onnx_op);
  }

  // -- errors -------------------------------------------------------------

  static std::string label(const onnx::NodeProto& node) {
    auto name = !node.name().empty() ? node.name() : node.output_size() ? node.output(0) : "?";
    return fmt::format("ONNX node '{}' ({})", name, node.op_type());
  }

  [[noreturn]] static void fail(const onnx::NodeProto& node, const std::string& what) {
    throw compile_error(fmt::format("{}: {}", label(node), what));
  }

  // -- tensors --------------------------------------------------------------

  std::string unique_name(const std::string& onnx_name) {
    auto base = sanitize(onnx_name);
    auto name = base;
    for (int k = 2; !used_names_.insert(name).second; ++k)
      name = fmt::format("{}_{}", base, k);
    return name;
  }

  /// The node of a float tensor read by `node`.
  int value(const onnx::NodeProto& node, const std::string& tensor) {
    if (auto found = values_.find(tensor); found != values_.end())
      return found->second;
    if (int64s_.count(tensor))
      fail(node, fmt::format("reads int64 tensor '{}' as data; only float32 tensors are supported "
                             "(int64 ones only as Reshape shapes)", tensor));
    if (auto found = rejected_.find(tensor); found != rejected_.end())
      fail(node, fmt::format("reads tensor '{}' of element type {}; only float32 is supported",
                             tensor, found->second));
    fail(node, fmt::format("reads tensor '{}', which no supported node produces", tensor));
  }

  int input(const onnx::NodeProto& node, int i) { return value(node, node.input(i)); }

  bool has_input(const onnx::NodeProto& node, int i) {
    return node.input_size() > i && !node.input(i).empty();
  }

  const shape_t& shape_of(int id) const { return g_.node(id).shape; }

  void require_inputs(const onnx::NodeProto& node, int lo, int hi) {
    if (node.input_size() < lo || node.input_size() > hi)
      fail(node, fmt::format("takes {} to {} inputs, got {}", lo, hi, node.input_size()));
    if (node.output_size() < 1 || node.output(0).empty())
      fail(node, "has no output");
  }

  /// Adds graph operator `op` for `node`, named after its first output.
  int emit(const onnx::NodeProto& node, const std::string& op, std::vector<int> inputs,
           std::map<std::string, std::vector<int64_t>> ints = {},
           std::map<std::string, double> floats = {}, const std::string& suffix = "") {
    int id = -1;
    try {
      id = g_.add_op(op, std::move(inputs), std::move(ints), std::move(floats),
                     unique_name(node.output(0) + suffix));
    } catch (const compile_error& e) {
      fail(node, e.what());
    }
    values_[node.output(0)] = id;
    return id;
  }

  int add_constant(const std::string& onnx_name, shape_t shape, std::vector<float> values) {
    return g_.add_constant(unique_name(onnx_name), std::move(shape), std::move(values));
  }

  const std::vector<float>* constant_data(int id) const {
    auto& n = g_.node(id);
    return n.op == "constant" && n.data ? n.data.get() : nullptr;
  }

  // -- graph inputs and initializers -----------------------------------------

  void read_initializers() {
    for (auto& t : onnx_.initializer())
      define_tensor(t, t.name());
  }

  void define_tensor(const onnx::TensorProto& t, const std::string& name) {
    if (t.data_type() == onnx::TensorProto_DataType_FLOAT)
      values_[name] = add_constant(name, dims_of(t), float_values(t));
    else if (t.data_type() == onnx::TensorProto_DataType_INT64)
      int64s_[name] = int64_values(t);
    else
      rejected_[name] = dtype_name(t.data_type());  // an error if anything reads it
  }

  void read_inputs() {
    for (auto& in : onnx_.input()) {
      if (values_.count(in.name()) || int64s_.count(in.name()) || rejected_.count(in.name()))
        continue;  // an initializer listed as an input (keep_initializers_as_inputs)
      if (!in.type().has_tensor_type())
        throw compile_error(fmt::format("graph input '{}' is not a tensor", in.name()));
      auto& type = in.type().tensor_type();
      if (type.elem_type() != onnx::TensorProto_DataType_FLOAT)
        throw compile_error(fmt::format("graph input '{}' has element type {}; only float32 inputs "
                                        "are supported", in.name(), dtype_name(type.elem_type())));
      if (!type.has_shape())
        throw compile_error(fmt::format("graph input '{}' has no shape: dynamic shapes are "
                                        "unsupported", in.name()));
      shape_t shape;
      for (int d = 0; d < type.shape().dim_size(); ++d) {
        auto& dim = type.shape().dim(d);
        if (!dim.has_dim_value() || dim.dim_value() <= 0)
          throw compile_error(fmt::format(
              "graph input '{}' has a dynamic dimension {} ('{}'): dynamic shapes are unsupported; "
              "export the model with fixed shapes (no dynamic_axes)",
              in.name(), d, dim.has_dim_param() ? dim.dim_param() : "unknown"));
        shape.push_back(dim.dim_value());
      }
      if (shape.empty())
        shape = {1};
      values_[in.name()] = g_.add_input(unique_name(in.name()), shape);
    }
  }

  // -- operators ----------------------------------------------------------------

  void convert(const onnx::NodeProto& node) {
    auto& table = handlers();
    bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
    auto found = default_domain ? table.find(node.op_type()) : table.end();
    if (found == table.end()) {
      std::string supported;
      for (auto& [name, h] : table)
        supported += (supported.empty() ? "" : ", ") + name;
      auto op = default_domain ? node.op_type() : node.domain() + "." + node.op_type();
      fail(node, fmt::format("operator '{}' is not supported (supported ONNX operators: {})", op,
                             supported));
    }
    (this->*found->second)(node);
  }

  void unary(const onnx::NodeProto& node) {
    require_inputs(node, 1, 1);
    emit(node, graph_op(node.op_type()), {input(node, 0)});
  }

  void binary(const onnx::NodeProto& node) {
    require_inputs(node, 2, 2);
    emit(node, graph_op(node.op_type()), {input(node, 0), input(node, 1)});
  }

  void alias(const onnx::NodeProto& node) {
    require_inputs(node, 1, 3);
    if (node.op_type() == "Dropout" && has_input(node, 2))
      fail(node, "the training_mode input is unsupported (inference only)");
    auto& in = node.input(0);
    if (auto found = int64s_.find(in); found != int64s_.end())
      int64s_[node.output(0)] = found->second;
    else
      values_[node.output(0)] = value(node, in);
  }

  void constant(const onnx::NodeProto& node) {
    require_inputs(node, 0, 0);
    auto& name = node.output(0);
    if (auto* a = find_attribute(node, "value"))
      define_tensor(a->t(), name);
    else if (auto* f = find_attribute(node, "value_float"))
      values_[name] = add_constant(name, {1}, {f->f()});
    else if (auto* fs = find_attribute(node, "value_floats"))
      values_[name] = add_constant(name, {static_cast<int64_t>(fs->floats_size())},
                                   {fs->floats().begin(), fs->floats().end()});
    else if (auto* i = find_attribute(node, "value_ints"))
      int64s_[name] = {i->ints().begin(), i->ints().end()};
    else if (auto* i1 = find_attribute(node, "value_int"))
      int64s_[name] = {i1->i()};
    else
      fail(node, "only value, value_float(s) and value_int(s) constants are supported");
  }

  /// Symmetric [top, left, bottom, right] pads as {pad_h, pad_w}.
  shape_t symmetric_pads(const onnx::NodeProto& node) {
    auto pad_mode = string_attribute(node, "auto_pad");
    if (!pad_mode.empty() && pad_mode != "NOTSET" && pad_mode != "VALID")
      fail(node, fmt::format("auto_pad={} is unsupported (give explicit pads)", pad_mode));
    auto pads = ints_attribute(node, "pads", {0, 0, 0, 0});
    if (pads.size() != 4)
      fail(node, fmt::format("pads {} must have 4 values (2-D spatial axes only)", pads));
    if (pads[0] != pads[2] || pads[1] != pads[3])
      fail(node, fmt::format("pads {} are not symmetric; only equal padding before and after is "
                             "supported", pads));
    return {pads[0], pads[1]};
  }

  shape_t two_values(const onnx::NodeProto& node, const std::string& attribute, shape_t fallback) {
    auto values = ints_attribute(node, attribute, fallback);
    if (values.size() != 2)
      fail(node, fmt::format("{} {} must have 2 values (2-D spatial axes only)", attribute, values));
    return values;
  }

  void require_no_dilation(const onnx::NodeProto& node) {
    auto dilations = ints_attribute(node, "dilations", {1, 1});
    for (auto d : dilations)
      if (d != 1)
        fail(node, fmt::format("dilations {} are unsupported (only 1)", dilations));
  }

  void require_rank(const onnx::NodeProto& node, int id, size_t rank) {
    if (shape_of(id).size() != rank)
      fail(node, fmt::format("input '{}' has shape {}; a {}-D tensor is required", node.input(0),
                             shape_of(id), rank));
  }

  void conv(const onnx::NodeProto& node) {
    require_inputs(node, 2, 3);
    int x = input(node, 0), w = input(node, 1);
    require_rank(node, x, 4);
    auto pads = symmetric_pads(node);
    auto strides = two_values(node, "strides", {1, 1});
    require_no_dilation(node);
    auto kernel = ints_attribute(node, "kernel_shape", {});
    auto& w_shape = shape_of(w);
    if (!kernel.empty() && (w_shape.size() != 4 || kernel != shape_t{w_shape[2], w_shape[3]}))
      fail(node, fmt::format("kernel_shape {} does not match weight shape {}", kernel, w_shape));
    std::vector<int> inputs = {x, w};
    if (has_input(node, 2))
      inputs.push_back(input(node, 2));
    emit(node, "conv2d", inputs,
         {{"strides", strides}, {"pads", pads}, {"groups", {int_attribute(node, "group", 1)}}});
  }

  void pool(const onnx::NodeProto& node) {
    require_inputs(node, 1, 1);
    int x = input(node, 0);
    require_rank(node, x, 4);
    if (!find_attribute(node, "kernel_shape"))
      fail(node, "kernel_shape is missing");
    auto kernel = two_values(node, "kernel_shape", {});
    auto strides = two_values(node, "strides", {1, 1});
    auto pads = symmetric_pads(node);
    require_no_dilation(node);
    if (int_attribute(node, "ceil_mode", 0) != 0)
      fail(node, "ceil_mode=1 is unsupported");
    if (int_attribute(node, "storage_order", 0) != 0)
      fail(node, "storage_order=1 is unsupported");
    if (node.op_type() == "MaxPool" && node.output_size() > 1 && !node.output(1).empty())
      fail(node, "the Indices output is unsupported");
    if (node.op_type() == "AveragePool" && int_attribute(node, "count_include_pad", 0) != 0)
      fail(node, "count_include_pad=1 is unsupported (padding is never counted)");
    emit(node, graph_op(node.op_type()), {x},
         {{"kernel", kernel}, {"strides", strides}, {"pads", pads}});
  }

  void gemm(const onnx::NodeProto& node) {
    require_inputs(node, 2, 3);
    if (int_attribute(node, "transA", 0) != 0)
      fail(node, "transA=1 is unsupported");
    float alpha = float_attribute(node, "alpha", 1.0F), beta = float_attribute(node, "beta", 1.0F);
    if (alpha != 1.0F || (has_input(node, 2) && beta != 1.0F))
      fail(node, fmt::format("alpha={} and beta={} are unsupported (only 1)", alpha, beta));
    int a = input(node, 0), b = input(node, 1);
    if (int_attribute(node, "transB", 0) == 0)
      b = transposed_constant(node, b);
    std::vector<int> inputs = {a, b};
    int bias = has_input(node, 2) ? input(node, 2) : -1;
    int64_t n = shape_of(b).empty() ? 0 : shape_of(b)[0];
    if (bias >= 0 && constant_data(bias) && g_.elements(bias) == n &&
        (shape_of(bias) == shape_t{n} || shape_of(bias) == shape_t{1, n})) {
      if (shape_of(bias).size() == 2)
        bias = add_constant(node.input(2) + ".flat", {n}, *constant_data(bias));
      inputs.push_back(bias);
      bias = -1;
    }
    if (bias < 0) {
      emit(node, "dense", inputs);
      return;
    }
    // Any other C (broadcast [M, N], or computed) as an addition after the product.
    int product = emit(node, "dense", inputs, {}, {}, ".dense");
    emit(node, "add", {product, bias});
  }

  /// B [K, N] of a transB=0 Gemm as a new constant [N, K] (dense's layout).
  int transposed_constant(const onnx::NodeProto& node, int b) {
    if (auto found = transposed_.find(b); found != transposed_.end())
      return found->second;
    auto* data = constant_data(b);
    if (!data || shape_of(b).size() != 2)
      fail(node, fmt::format("transB=0 needs a 2-D constant B; '{}' is not one", node.input(1)));
    int64_t k = shape_of(b)[0], n = shape_of(b)[1];
    std::vector<float> values(data->size());
    for (int64_t row = 0; row < k; ++row)
      for (int64_t col = 0; col < n; ++col)
        values[static_cast<size_t>(col * k + row)] = (*data)[static_cast<size_t>(row * n + col)];
    int id = add_constant(node.input(1) + ".T", {n, k}, std::move(values));
    transposed_[b] = id;
    return id;
  }

  void batch_normalization(const onnx::NodeProto& node) {
    require_inputs(node, 5, 5);
    if (int_attribute(node, "training_mode", 0) != 0)
      fail(node, "training_mode=1 is unsupported (inference only)");
    std::vector<int> inputs;
    for (int i = 0; i < 5; ++i)
      inputs.push_back(input(node, i));
    emit(node, "batch_norm", inputs, {},
         {{"epsilon", static_cast<double>(float_attribute(node, "epsilon", 1e-5F))}});
  }

  void softmax(const onnx::NodeProto& node) {
    require_inputs(node, 1, 1);
    int x = input(node, 0);
    auto rank = static_cast<int64_t>(shape_of(x).size());
    // Opsets before 13 softmax over the axes from `axis` on (default 1):
    // the same as ours when `axis` is the last one.
    int64_t axis = int_attribute(node, "axis", opset_ >= 13 ? -1 : 1);
    if (axis < 0)
      axis += rank;
    if (axis != rank - 1)
      fail(node, fmt::format("softmax over axis {} of a {}-D tensor is unsupported (only the last)",
                             axis, rank));
    emit(node, "softmax", {x});
  }

  void flatten(const onnx::NodeProto& node) {
    require_inputs(node, 1, 1);
    int x = input(node, 0);
    auto rank = static_cast<int64_t>(shape_of(x).size());
    int64_t axis = int_attribute(node, "axis", 1);
    if (axis < 0)
      axis += rank;
    if (axis != 1 || rank < 2)
      fail(node, fmt::format("flattening {} from axis {} is unsupported (only axis 1)",
                             shape_of(x), axis));
    emit(node, "flatten", {x});
  }

  void reshape(const onnx::NodeProto& node) {
    require_inputs(node, 2, 2);
    if (int_attribute(node, "allowzero", 0) != 0)
      fail(node, "allowzero=1 is unsupported");
    int x = input(node, 0);
    auto found = int64s_.find(node.input(1));
    if (found == int64s_.end())
      fail(node, fmt::format("the shape '{}' must be a constant int64 tensor", node.input(1)));
    auto& from = shape_of(x);
    auto target = resolve_shape(node, from, found->second);
    if (target == from) {
      values_[node.output(0)] = x;
      return;
    }
    if (from.size() >= 3 && target == shape_t{from[0], g_.elements(x) / from[0]}) {
      emit(node, "flatten", {x});
      return;
    }
    fail(node, fmt::format("reshaping {} to {} is unsupported (only [N, ...] to [N, -1])", from,
                           found->second));
  }

  /// ONNX Reshape's target: 0 copies the input's dimension, -1 takes the rest.
  shape_t resolve_shape(const onnx::NodeProto& node, const shape_t& from, const shape_t& spec) {
    shape_t target = spec;
    int64_t known = 1;
    int free_axis = -1;
    for (size_t d = 0; d < target.size(); ++d) {
      if (target[d] == 0 && d < from.size())
        target[d] = from[d];
      if (target[d] == -1 && free_axis < 0)
        free_axis = static_cast<int>(d);
      else if (target[d] > 0)
        known *= target[d];
      else
        fail(node, fmt::format("shape {} is not a valid Reshape target for {}", spec, from));
    }
    int64_t total = count_of(from);
    if (free_axis >= 0 && known > 0 && total % known == 0)
      target[static_cast<size_t>(free_axis)] = total / known;
    if (count_of(target) != total)
      fail(node, fmt::format("cannot reshape {} to {}", from, spec));
    return target;
  }

  const onnx::GraphProto& onnx_;
  int64_t opset_;
  graph g_;
  std::map<std::string, int> values_;                 ///< float tensors: their nodes
  std::map<std::string, std::vector<int64_t>> int64s_;  ///< int64 constants (shapes)
  std::map<std::string, std::string> rejected_;       ///< other dtypes: their names
  std::map<int, int> transposed_;                     ///< constant -> its transpose
  std::set<std::string> used_names_;
};

/// `source` names the model in errors: "ONNX model 'resnet18.onnx'".
graph import_model(const std::string& bytes, const std::string& source) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes))
    throw compile_error(fmt::format("cannot read {}: not an ONNX model (it does not parse as a "
                                    "protobuf ModelProto)", source));
  if (model.ir_version() <= 0 || !model.has_graph() || model.graph().node_size() == 0)
    throw compile_error(fmt::format("cannot read {}: not an ONNX model (no IR version or no "
                                    "graph)", source));
  int64_t opset = -1;
  for (auto& entry : model.opset_import())
    if (entry.domain().empty() || entry.domain() == "ai.onnx")
      opset = entry.version();
  if (opset < 0)
    throw compile_error(fmt::format("{} declares no ONNX opset", source));
  if (opset < 11)
    throw compile_error(fmt::format("{} uses ONNX opset {}; opsets 11 and newer are supported "
                                    "(export with opset_version=13)", source, opset));
  try {
    return importer(model.graph(), opset).run();
  } catch (const compile_error& e) {
    throw compile_error(fmt::format("{}: {}", source, e.what()));
  }
}

} // namespace

graph import_onnx(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw compile_error(fmt::format("cannot open ONNX model '{}': {}", path, std::strerror(errno)));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad())
    throw compile_error(fmt::format("cannot read ONNX model '{}'", path));
  return import_model(bytes, fmt::format("ONNX model '{}'", path));
}

graph import_onnx_bytes(const std::string& bytes) {
  return import_model(bytes, "ONNX model bytes");
}

} // namespace troupe::compiler
