#include "actors/serving/torchscript_backend.hpp"

#include <filesystem>

#include <torch/script.h>
#include <torch/torch.h>

#include "messages/errors.hpp"

namespace troupe::serving {

namespace {

// libtorch's messages carry a C++ backtrace after the first line.
std::string first_line(const std::string& what) {
  return what.substr(0, what.find('\n'));
}

class torchscript_backend : public model_backend {
public:
  torchscript_backend(std::string path, torch::jit::Module module, uint64_t features)
    : path_(std::move(path)), module_(std::move(module)), features_(features) {
  }

  caf::expected<model_outputs> predict(const query_inputs& batch) override {
    if (auto err = check_batch(batch, input()))
      return err;
    if (batch.empty())
      return model_outputs{};
    auto rows = static_cast<int64_t>(batch.size());
    auto values = dense_floats(batch, features_);
    // No autograd bookkeeping: serving never calls backward.
    c10::InferenceMode guard;
    auto x = torch::from_blob(values.data(), {rows, static_cast<int64_t>(features_)});
    c10::IValue result;
    try {
      result = module_.forward({x});
    } catch (const std::exception& ex) {
      return make_error(errc::io_failure,
                        "TorchScript model '" + path_ + "' failed: " + first_line(ex.what()));
    }
    if (!result.isTensor())
      return make_error(errc::invalid_argument,
                        "TorchScript model '" + path_ + "' did not return a tensor");
    auto y = result.toTensor();
    if (y.dim() == 0 || y.size(0) != rows)
      return make_error(errc::invalid_argument,
                        "TorchScript model '" + path_ + "' answered shape "
                          + c10::str(y.sizes()) + " for " + std::to_string(rows) + " inputs");
    auto labels = y.dim() == 2 && y.size(1) > 1 ? y.argmax(1) : y.reshape({rows});
    model_outputs out;
    out.reserve(batch.size());
    if (labels.scalar_type() == torch::kLong) {
      auto acc = labels.accessor<int64_t, 1>();
      for (int64_t i = 0; i < rows; ++i)
        out.push_back(std::to_string(acc[i]));
    } else {
      auto as_double = labels.to(torch::kDouble);
      auto acc = as_double.accessor<double, 1>();
      for (int64_t i = 0; i < rows; ++i)
        out.push_back(c10::str(acc[i]));
    }
    return out;
  }

  std::string describe() const override {
    return "torchscript model '" + path_ + "' (" + std::to_string(features_) + " features)";
  }

  input_requirement input() const override {
    return {true, features_};
  }

private:
  std::string path_;
  torch::jit::Module module_;
  uint64_t features_;
};

} // namespace

caf::expected<backend_ptr> open_torchscript_backend(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return make_error(errc::not_found, "torchscript model file '" + path + "' does not exist");
  // One core per container (Clipper): intra-op parallelism would only
  // fight the other replicas for cores.
  torch::set_num_threads(1);
  torch::jit::Module module;
  try {
    module = torch::jit::load(path);
  } catch (const std::exception& ex) {
    return make_error(errc::invalid_argument,
                      "cannot load TorchScript model '" + path + "': " + first_line(ex.what()));
  }
  module.eval();
  uint64_t features = 0;
  for (const auto& p : module.parameters()) {
    if (p.dim() == 2) {
      features = static_cast<uint64_t>(p.size(1));
      break;
    }
  }
  if (features == 0)
    return make_error(errc::invalid_argument, "TorchScript model '" + path
                                                + "' has no 2-D parameter to infer its"
                                                  " input length from");
  return backend_ptr{std::make_shared<torchscript_backend>(path, std::move(module), features)};
}

// Registers "torchscript" with open_backend when this library is linked
// (CMake links it whole-archive so this initializer is never dropped).
namespace {
const bool registered = [] {
  register_backend("torchscript", [](const model_spec& spec) {
    return open_torchscript_backend(spec.path);
  });
  return true;
}();
} // namespace

} // namespace troupe::serving
