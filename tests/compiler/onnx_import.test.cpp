// The ONNX importer on models that torch.onnx.export writes (an MLP,
// ResNet-18, a small CNN with batch norm) and hand-made ones, generated at
// run time by Debian's python (torch, torchvision, onnx; apps/setup.sh
// installs them). Imported graphs are run in the IR interpreter and
// compared with torch's outputs.
#define BOOST_TEST_MODULE onnx_import
#include <boost/test/unit_test.hpp>

#include "compiler/frontend/onnx_import.hpp"
#include "compiler/graph/interpret_graph.hpp"
#include "compiler/graph/op_registry.hpp"
#include "compiler/ir/compile_error.hpp"
#include "compiler/ir/interpreter.hpp"
#include "compiler/lower/lower.hpp"
#include "python_models.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>

#include <sys/wait.h>

using namespace troupe::compiler;
using troupe::compiler::testing::read_bytes;
using troupe::compiler::testing::read_floats;

namespace {

using values = std::vector<float>;

const char* models_script = R"PY(
# Writes the ONNX models of onnx_import_test, and reference outputs as raw float32.
import sys
try:
    import numpy as np
    import onnx
    import torch
    import torchvision
    from onnx import helper, TensorProto
except ImportError as e:
    sys.stderr.write("cannot import %s into /usr/bin/python3: install python3-torch, "
                     "python3-torchvision and python3-onnx (apps/setup.sh does)\n" % e.name)
    sys.exit(3)

out = sys.argv[1]
torch.manual_seed(0)

def export(model, x, name, **kwargs):
    model.eval()
    torch.onnx.export(model, x, "%s/%s.onnx" % (out, name), opset_version=13,
                      input_names=["x"], output_names=["y"], **kwargs)
    with torch.no_grad():
        y = model(x)
    x.numpy().astype(np.float32).tofile("%s/%s.in" % (out, name))
    y.numpy().astype(np.float32).tofile("%s/%s.out" % (out, name))

def mlp():
    return torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                               torch.nn.ReLU(), torch.nn.Linear(256, 10))

export(mlp(), torch.randn(4, 784), "mlp")
export(torchvision.models.resnet18(), torch.randn(1, 3, 224, 224), "resnet18")
export(torchvision.models.resnet18(), torch.randn(1, 3, 32, 32), "resnet18_small")

class SmallCnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = torch.nn.BatchNorm2d(8)
        self.pool = torch.nn.MaxPool2d(3, stride=2, padding=1)
        self.conv2 = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.avg = torch.nn.AvgPool2d(2, count_include_pad=False)
        self.conv3 = torch.nn.Conv2d(8, 16, 1, stride=2)
        self.fc = torch.nn.Linear(16, 5)
    def forward(self, x):
        x = self.pool(torch.relu(self.bn(self.conv1(x))))
        x = torch.relu(x + self.conv2(x) * 0.5)
        x = self.conv3(self.avg(x - 0.25))
        x = torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return torch.softmax(self.fc(x), dim=1)

cnn = SmallCnn()
with torch.no_grad():  # statistics that are not the identity
    cnn.bn.running_mean.uniform_(-0.5, 0.5)
    cnn.bn.running_var.uniform_(0.5, 2.0)
    cnn.bn.weight.uniform_(0.5, 1.5)
    cnn.bn.bias.uniform_(-0.5, 0.5)
# PRESERVE keeps BatchNormalization (EVAL folds it into the convolution).
export(cnn, torch.randn(2, 3, 12, 12), "small_cnn", training=torch.onnx.TrainingMode.PRESERVE)

export(torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.LeakyReLU()), torch.randn(2, 8), "leaky_relu")
torch.onnx.export(mlp().eval(), torch.randn(4, 784), "%s/dynamic_batch.onnx" % out, opset_version=13,
                  input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})

# Hand-made: what torch does not emit (transB=0 Gemm, Reshape, MatMul, Dropout, Constant).
rng = np.random.default_rng(1)
def const(name, array):
    return helper.make_tensor(name, TensorProto.FLOAT, array.shape, array.astype(np.float32).flatten())
x = rng.standard_normal((2, 3, 2, 2)).astype(np.float32)
b = rng.standard_normal((12, 4)).astype(np.float32)
c = rng.standard_normal(4).astype(np.float32)
m = rng.standard_normal((12, 3)).astype(np.float32)
nodes = [
    helper.make_node("Constant", [], ["shape"], value=helper.make_tensor("shape", TensorProto.INT64, [2], [0, -1])),
    helper.make_node("Reshape", ["x", "shape"], ["flat"], name="reshape"),
    helper.make_node("Dropout", ["flat"], ["dropped"], name="dropout"),
    helper.make_node("Gemm", ["dropped", "b", "c"], ["gemm"], name="gemm"),
    helper.make_node("Mul", ["gemm", "two"], ["doubled"], name="mul"),
    helper.make_node("Sub", ["doubled", "c"], ["shifted"], name="sub"),
    helper.make_node("Identity", ["shifted"], ["same"], name="identity"),
    helper.make_node("Softmax", ["same"], ["y"], name="softmax", axis=-1),
    helper.make_node("MatMul", ["flat", "m"], ["z"], name="matmul"),
]
graph = helper.make_graph(nodes, "handmade",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 2, 2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4]),
                           helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 3])],
                          [const("b", b), const("c", c), const("m", m), const("two", np.array(2.0))])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), out + "/handmade.onnx")
flat = x.reshape(2, -1)
s = (flat @ b + c) * 2 - c
y = np.exp(s - s.max(axis=1, keepdims=True))
y /= y.sum(axis=1, keepdims=True)
x.tofile(out + "/handmade.in")
np.concatenate([y.flatten(), (flat @ m).flatten()]).astype(np.float32).tofile(out + "/handmade.out")

def bad_model(name, node, inputs, output_shape, initializers=()):
    graph = helper.make_graph([node], name, [helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
                                             for n, s in inputs],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)],
                              list(initializers))
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]),
              "%s/%s.onnx" % (out, name))

bad_model("asymmetric_pads", helper.make_node("Conv", ["x", "w"], ["y"], name="padded_conv", pads=[0, 0, 1, 1]),
          [("x", [1, 1, 4, 4]), ("w", [1, 1, 3, 3])], [1, 1, 3, 3])
bad_model("ceil_mode", helper.make_node("MaxPool", ["x"], ["y"], name="ceil_pool", kernel_shape=[2, 2], ceil_mode=1),
          [("x", [1, 1, 5, 5])], [1, 1, 3, 3])
bad_model("bad_reshape", helper.make_node("Reshape", ["x", "shape"], ["y"], name="regroup"),
          [("x", [2, 12])], [3, 8], [helper.make_tensor("shape", TensorProto.INT64, [2], [3, -1])])
)PY";

std::string model_file(const std::string& name) {
  static testing::python_models folder(models_script, "onnx_import_test");
  return folder.file(name);
}

std::map<std::string, int> op_counts(const graph& g) {
  std::map<std::string, int> counts;
  for (auto& n : g.nodes)
    ++counts[n.op];
  return counts;
}

int64_t constant_values(const graph& g) {
  int64_t total = 0;
  for (auto& n : g.nodes)
    if (n.op == "constant")
      total += static_cast<int64_t>(n.data->size());
  return total;
}

const graph_node& node_named(const graph& g, const std::string& name) {
  for (auto& n : g.nodes)
    if (n.name == name)
      return n;
  BOOST_FAIL("no node named " << name << " in\n" << print(g));
  throw std::logic_error("unreachable");
}

/// The graph run operator by operator in the interpreter; the outputs'
/// values, concatenated.
values interpret_outputs(const graph& g, const values& input) {
  values outputs;
  for (auto& out : interpret_graph(g, {input}))
    outputs.insert(outputs.end(), out.begin(), out.end());
  return outputs;
}

/// max |actual - expected| relative to max |expected|.
void require_close(const values& actual, const values& expected, double tolerance = 1e-4) {
  BOOST_REQUIRE_EQUAL(actual.size(), expected.size());
  double worst = 0, scale = 1e-6;
  for (size_t i = 0; i < actual.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(actual[i]) - expected[i]));
    scale = std::max(scale, std::abs(static_cast<double>(expected[i])));
  }
  BOOST_TEST_MESSAGE("relative error " << worst / scale);
  BOOST_REQUIRE_MESSAGE(worst <= tolerance * scale, "relative error " << worst / scale << " > "
                                                                      << tolerance);
}

/// Checks that `f` throws compile_error; returns its message.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const compile_error& e) {
    BOOST_TEST_MESSAGE("error: " << e.what());
    return e.what();
  }
  BOOST_FAIL("no compile_error thrown");
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_SUITE(models_exported_by_torch)

BOOST_AUTO_TEST_CASE(an_mlp_imports_as_three_dense_layers_and_computes_what_torch_computes) {
  auto g = import_onnx(model_file("mlp.onnx"));
  g.validate();
  auto counts = op_counts(g);
  BOOST_TEST(counts["dense"] == 3);
  BOOST_TEST(counts["relu"] == 2);
  BOOST_TEST(counts["constant"] == 6);
  BOOST_TEST(counts["input"] == 1);
  BOOST_TEST(g.nodes.size() == 12u);
  BOOST_TEST(constant_values(g) == 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
  BOOST_TEST(g.node(g.inputs.at(0)).shape == (std::vector<int64_t>{4, 784}));
  BOOST_REQUIRE_EQUAL(g.outputs.size(), 1u);
  BOOST_TEST(g.node(g.outputs[0]).shape == (std::vector<int64_t>{4, 10}));
  auto& first = node_named(g, "0.Gemm");  // from "/0/Gemm_output_0"
  BOOST_TEST(first.op == "dense");
  BOOST_TEST(g.node(first.inputs.at(1)).shape == (std::vector<int64_t>{256, 784}));
  require_close(interpret_outputs(g, read_floats(model_file("mlp.in"))),
                read_floats(model_file("mlp.out")));
}

BOOST_AUTO_TEST_CASE(resnet18_imports_with_its_convolutions_pools_and_residual_additions) {
  auto g = import_onnx(model_file("resnet18.onnx"));
  g.validate();
  auto counts = op_counts(g);
  // torch folds batch norm into the convolutions in eval mode; its 16
  // Identity nodes (shared bias initializers) are aliases.
  BOOST_TEST(counts["conv2d"] == 20);
  BOOST_TEST(counts["relu"] == 17);
  BOOST_TEST(counts["add"] == 8);
  BOOST_TEST(counts["max_pool2d"] == 1);
  BOOST_TEST(counts["global_avg_pool2d"] == 1);
  BOOST_TEST(counts["flatten"] == 1);
  BOOST_TEST(counts["dense"] == 1);
  BOOST_TEST(counts["constant"] == 26);
  BOOST_TEST(counts["input"] == 1);
  BOOST_TEST(g.nodes.size() == 76u);
  BOOST_TEST(constant_values(g) == 11680872);
  BOOST_TEST(g.node(g.inputs.at(0)).shape == (std::vector<int64_t>{1, 3, 224, 224}));
  BOOST_REQUIRE_EQUAL(g.outputs.size(), 1u);
  BOOST_TEST(g.node(g.outputs[0]).shape == (std::vector<int64_t>{1, 1000}));
  auto& conv1 = node_named(g, "conv1.Conv");
  BOOST_TEST(conv1.shape == (std::vector<int64_t>{1, 64, 112, 112}));
  BOOST_TEST(conv1.ints.at("strides") == (std::vector<int64_t>{2, 2}));
  BOOST_TEST(conv1.ints.at("pads") == (std::vector<int64_t>{3, 3}));
  BOOST_TEST(conv1.inputs.size() == 3u);  // with the folded batch norm's bias
  auto& pool = node_named(g, "maxpool.MaxPool");
  BOOST_TEST(pool.ints.at("kernel") == (std::vector<int64_t>{3, 3}));
  BOOST_TEST(pool.ints.at("strides") == (std::vector<int64_t>{2, 2}));
  BOOST_TEST(pool.ints.at("pads") == (std::vector<int64_t>{1, 1}));
  BOOST_TEST(pool.shape == (std::vector<int64_t>{1, 64, 56, 56}));
}

BOOST_AUTO_TEST_CASE(resnet18_on_a_32x32_image_computes_what_torch_computes) {
  auto g = import_onnx(model_file("resnet18_small.onnx"));
  BOOST_TEST(g.node(g.outputs.at(0)).shape == (std::vector<int64_t>{1, 1000}));
  require_close(interpret_outputs(g, read_floats(model_file("resnet18_small.in"))),
                read_floats(model_file("resnet18_small.out")));
}

BOOST_AUTO_TEST_CASE(a_small_cnn_with_batch_norm_pools_and_softmax_computes_what_torch_computes) {
  auto g = import_onnx(model_file("small_cnn.onnx"));
  g.validate();
  auto counts = op_counts(g);
  BOOST_TEST(counts["conv2d"] == 3);
  BOOST_TEST(counts["batch_norm"] == 1);
  BOOST_TEST(counts["relu"] == 2);
  BOOST_TEST(counts["max_pool2d"] == 1);
  BOOST_TEST(counts["avg_pool2d"] == 1);
  BOOST_TEST(counts["global_avg_pool2d"] == 1);
  BOOST_TEST(counts["multiply"] == 1);
  BOOST_TEST(counts["add"] == 1);
  BOOST_TEST(counts["subtract"] == 1);
  BOOST_TEST(counts["flatten"] == 1);
  BOOST_TEST(counts["dense"] == 1);
  BOOST_TEST(counts["softmax"] == 1);
  BOOST_TEST(counts["constant"] == 13);  // 11 initializers, 2 Constant nodes
  auto& bn = node_named(g, "bn.BatchNormalization");
  BOOST_TEST(bn.inputs.size() == 5u);
  BOOST_TEST(std::abs(bn.floats.at("epsilon") - 1e-5) < 1e-9);
  BOOST_TEST(g.node(g.outputs.at(0)).shape == (std::vector<int64_t>{2, 5}));
  require_close(interpret_outputs(g, read_floats(model_file("small_cnn.in"))),
                read_floats(model_file("small_cnn.out")));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hand_made_models)

BOOST_AUTO_TEST_CASE(gemm_without_transB_reshape_matmul_and_aliases_compute_what_numpy_computes) {
  auto g = import_onnx(model_file("handmade.onnx"));
  g.validate();
  auto counts = op_counts(g);
  BOOST_TEST(counts["flatten"] == 1);  // Reshape to [0, -1]
  BOOST_TEST(counts["dense"] == 1);
  BOOST_TEST(counts["matmul"] == 1);
  BOOST_TEST(counts["multiply"] == 1);
  BOOST_TEST(counts["subtract"] == 1);
  BOOST_TEST(counts["softmax"] == 1);
  // b [12, 4] transposed for dense; the original is dead and removed.
  auto& gemm = node_named(g, "gemm");
  BOOST_TEST(g.node(gemm.inputs.at(1)).name == "b.T");
  BOOST_TEST(g.node(gemm.inputs.at(1)).shape == (std::vector<int64_t>{4, 12}));
  BOOST_TEST(counts["constant"] == 4);  // b.T, c, m, two
  BOOST_REQUIRE_EQUAL(g.outputs.size(), 2u);
  BOOST_TEST(g.node(g.outputs[0]).shape == (std::vector<int64_t>{2, 4}));
  BOOST_TEST(g.node(g.outputs[1]).shape == (std::vector<int64_t>{2, 3}));
  require_close(interpret_outputs(g, read_floats(model_file("handmade.in"))),
                read_floats(model_file("handmade.out")));
}

BOOST_AUTO_TEST_CASE(bytes_import_like_files) {
  auto bytes = read_bytes(model_file("handmade.onnx"));
  BOOST_TEST(print(import_onnx_bytes(bytes)) == print(import_onnx(model_file("handmade.onnx"))));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bad_inputs)

BOOST_AUTO_TEST_CASE(a_missing_file_is_an_error_naming_the_path) {
  auto error = error_of([] { import_onnx("/nonexistent/model.onnx"); });
  BOOST_TEST(contains(error, "/nonexistent/model.onnx"));
  BOOST_TEST(contains(error, "cannot open"));
}

BOOST_AUTO_TEST_CASE(garbage_bytes_are_not_an_onnx_model) {
  auto path = model_file("garbage.onnx");
  std::ofstream(path) << "this is not an ONNX model\n";
  auto error = error_of([&] { import_onnx(path); });
  BOOST_TEST(contains(error, path));
  BOOST_TEST(contains(error, "not an ONNX model"));
  std::ofstream(path, std::ios::trunc).flush();  // empty: parses, but holds no graph
  BOOST_TEST(contains(error_of([&] { import_onnx(path); }), "not an ONNX model"));
  BOOST_TEST(contains(error_of([] { import_onnx_bytes("\x08\x07garbage"); }), "ONNX"));
}

// Random damage to real model files (bytes replaced, the tail cut off):
// the importer either refuses with compile_error or returns a graph whose
// shapes hold together, so that the interpreter runs it on zeros. Nothing
// else may escape, and nothing may crash.
BOOST_AUTO_TEST_CASE(damaged_model_bytes_are_refused_or_import_as_consistent_graphs) {
  std::mt19937_64 rng(20261128);
  size_t refused = 0, imported = 0;
  for (const char* name : {"handmade.onnx", "small_cnn.onnx"}) {
    auto original = read_bytes(model_file(name));
    BOOST_REQUIRE(!original.empty());
    for (int i = 0; i < 500; ++i) {
      auto bytes = original;
      if (rng() % 6 == 0) {
        bytes.resize(rng() % bytes.size());
      } else {
        for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits)
          bytes[rng() % bytes.size()] = static_cast<char>(rng() % 256);
      }
      graph g;
      try {
        g = import_onnx_bytes(bytes);
      } catch (const compile_error&) {
        ++refused;
        continue;
      } catch (const std::exception& e) {
        BOOST_ERROR(name << " damaged (try " << i << "): " << e.what()
                         << " escaped instead of compile_error");
        continue;
      }
      ++imported;
      std::vector<values> inputs;
      for (auto id : g.inputs) {
        int64_t size = 1;
        for (auto d : g.node(id).shape)
          size *= d;
        inputs.emplace_back(static_cast<size_t>(size), 0.0f);
      }
      try {
        auto outputs = interpret_graph(g, inputs);
        BOOST_TEST(outputs.size() == g.outputs.size());
      } catch (const compile_error&) {
        // a refusal at run time names the node: fine
      } catch (const std::exception& e) {
        BOOST_ERROR(name << " damaged (try " << i << "): the interpreter threw " << e.what());
      }
    }
  }
  BOOST_TEST_MESSAGE("damaged models: " << refused << " refused, " << imported << " imported");
  BOOST_TEST(refused > 50u);
  BOOST_TEST(imported > 50u);
}

BOOST_AUTO_TEST_CASE(an_unsupported_operator_is_named_with_its_node_and_the_supported_ones) {
  auto error = error_of([] { import_onnx(model_file("leaky_relu.onnx")); });
  BOOST_TEST(contains(error, "'LeakyRelu' is not supported"));
  BOOST_TEST(contains(error, "/1/LeakyRelu"));
  BOOST_TEST(contains(error, "Conv, Dropout"));
}

BOOST_AUTO_TEST_CASE(a_dynamic_batch_dimension_is_an_error_about_dynamic_shapes) {
  auto error = error_of([] { import_onnx(model_file("dynamic_batch.onnx")); });
  BOOST_TEST(contains(error, "dynamic shapes are unsupported"));
  BOOST_TEST(contains(error, "'x'"));
  BOOST_TEST(contains(error, "batch"));
}

BOOST_AUTO_TEST_CASE(asymmetric_pads_and_ceil_mode_are_errors_naming_the_node) {
  auto pads = error_of([] { import_onnx(model_file("asymmetric_pads.onnx")); });
  BOOST_TEST(contains(pads, "padded_conv"));
  BOOST_TEST(contains(pads, "not symmetric"));
  auto ceil = error_of([] { import_onnx(model_file("ceil_mode.onnx")); });
  BOOST_TEST(contains(ceil, "ceil_pool"));
  BOOST_TEST(contains(ceil, "ceil_mode"));
}

BOOST_AUTO_TEST_CASE(a_reshape_other_than_flattening_is_an_error_naming_the_node) {
  auto error = error_of([] { import_onnx(model_file("bad_reshape.onnx")); });
  BOOST_TEST(contains(error, "regroup"));
  BOOST_TEST(contains(error, "reshaping [2, 12] to [3, -1] is unsupported"));
}

BOOST_AUTO_TEST_SUITE_END()
