// Whole models compiled and run natively against torch's outputs for the
// same weights: ResNet-18 (224x224, random weights) and an MLP, exported
// by torch.onnx at run time; with every pass on, without fusion, and
// without the layout transformation.
#define BOOST_TEST_MODULE end_to_end
#include <boost/test/unit_test.hpp>

#include "compiler/executor/graph_executor.hpp"
#include "compiler/frontend/onnx_import.hpp"
#include "python_models.hpp"

#include <cmath>

using namespace troupe::compiler;
using troupe::compiler::testing::read_floats;

namespace {

const char* models_script = R"PY(
import sys
try:
    import numpy as np
    import torch
    import torchvision
except ImportError as e:
    sys.stderr.write("cannot import %s into /usr/bin/python3\n" % e.name)
    sys.exit(3)
out = sys.argv[1]
torch.manual_seed(1)

def export(model, x, name):
    model.eval()
    torch.onnx.export(model, x, "%s/%s.onnx" % (out, name), opset_version=13,
                      input_names=["x"], output_names=["y"])
    with torch.no_grad():
        y = model(x)
    x.numpy().astype(np.float32).tofile("%s/%s.in" % (out, name))
    y.numpy().astype(np.float32).tofile("%s/%s.out" % (out, name))

export(torchvision.models.resnet18(), torch.randn(1, 3, 224, 224), "resnet18")
mlp = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                          torch.nn.ReLU(), torch.nn.Linear(256, 10))
export(mlp, torch.randn(32, 64), "mlp")
)PY";

std::string model_file(const std::string& name) {
  static testing::python_models folder(models_script, "end_to_end_test");
  return folder.file(name);
}

/// The largest |a - b| / (1 + |b|).
double max_relative_error(const std::vector<float>& actual, const std::vector<float>& expected) {
  BOOST_REQUIRE_EQUAL(actual.size(), expected.size());
  double worst = 0;
  for (size_t i = 0; i < actual.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(actual[i]) - expected[i])
                                / (1 + std::abs(static_cast<double>(expected[i]))));
  return worst;
}

size_t argmax(const std::vector<float>& v) {
  return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

} // namespace

BOOST_AUTO_TEST_CASE(resnet18_compiled_matches_torch_with_each_set_of_passes) {
  auto g = import_onnx(model_file("resnet18.onnx"));
  auto input = read_floats(model_file("resnet18.in"));
  auto expected = read_floats(model_file("resnet18.out"));
  struct variant {
    const char* name;
    compile_options options;
  };
  for (auto& v : {variant{"all passes", {}}, variant{"no fusion", {true, true, false}},
                  variant{"no layout transformation", {true, false, true}}}) {
    BOOST_TEST_CONTEXT(v.name) {
      graph_executor executor(optimize_graph(g, v.options));
      auto output = executor.run({input})[0];
      BOOST_TEST(max_relative_error(output, expected) < 1e-4);
      BOOST_TEST(argmax(output) == argmax(expected));
      // Liveness-based reuse keeps the peak well under the naive sum.
      BOOST_TEST(executor.plan().planned_bytes < executor.plan().naive_bytes / 2);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_mlp_compiled_matches_torch_and_runs_repeatedly) {
  auto g = import_onnx(model_file("mlp.onnx"));
  auto input = read_floats(model_file("mlp.in"));
  auto expected = read_floats(model_file("mlp.out"));
  graph_executor executor(optimize_graph(g));
  BOOST_TEST(executor.function_count() == 3u);  // one per dense layer, bias and relu fused
  for (int run = 0; run < 3; ++run)
    BOOST_TEST(max_relative_error(executor.run({input})[0], expected) < 1e-5);
}
