#include "actors/serving/compiled_backend.hpp"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "compiler/executor/artifact.hpp"
#include "compiler/ir/compile_error.hpp"
#include "messages/errors.hpp"

namespace troupe::serving {

namespace {

class compiled_backend : public model_backend {
public:
  compiled_backend(std::string path, std::unique_ptr<compiler::graph_executor> model,
                   int64_t rows, int64_t features, int64_t outputs)
    : path_(std::move(path)), model_(std::move(model)), rows_(rows), features_(features),
      outputs_(outputs), in_(static_cast<size_t>(rows * features)),
      out_(static_cast<size_t>(rows * outputs)) {
    auto& m = model_->model();
    for (size_t i = 1; i < m.outputs.size(); ++i)
      extra_outputs_.emplace_back(static_cast<size_t>(m.elements(m.outputs[i])));
  }

  caf::expected<model_outputs> predict(const query_inputs& batch) override {
    if (auto err = check_batch(batch, input()))
      return err;
    model_outputs result;
    result.reserve(batch.size());
    std::vector<float*> outputs{out_.data()};
    for (auto& extra : extra_outputs_)
      outputs.push_back(extra.data());
    for (size_t first = 0; first < batch.size(); first += static_cast<size_t>(rows_)) {
      auto count = std::min(batch.size() - first, static_cast<size_t>(rows_));
      std::fill(in_.begin(), in_.end(), 0.0f);
      for (size_t r = 0; r < count; ++r) {
        auto& numbers = batch[first + r].numbers;
        std::transform(numbers.begin(), numbers.end(),
                       in_.begin() + static_cast<std::ptrdiff_t>(r * static_cast<size_t>(features_)),
                       [](double x) { return static_cast<float>(x); });
      }
      try {
        model_->run({in_.data()}, outputs);
      } catch (const std::exception& ex) {
        return make_error(errc::io_failure, "compiled model '" + path_ + "' failed: " + ex.what());
      }
      for (size_t r = 0; r < count; ++r)
        result.push_back(answer(out_.data() + r * static_cast<size_t>(outputs_)));
    }
    return result;
  }

  std::string describe() const override {
    return "compiled model '" + path_ + "' (" + std::to_string(features_) + " features, batches of "
           + std::to_string(rows_) + ")";
  }

  input_requirement input() const override {
    return {true, static_cast<uint64_t>(features_)};
  }

private:
  // The torchscript backend's answers: the argmax class, or the one value.
  std::string answer(const float* row) const {
    if (outputs_ > 1)
      return std::to_string(std::max_element(row, row + outputs_) - row);
    std::ostringstream text;
    text << static_cast<double>(row[0]);
    return text.str();
  }

  std::string path_;
  std::unique_ptr<compiler::graph_executor> model_;
  int64_t rows_;      ///< the compiled batch size
  int64_t features_;  ///< values per input
  int64_t outputs_;   ///< values per row of the first output
  std::vector<float> in_;
  std::vector<float> out_;
  std::vector<std::vector<float>> extra_outputs_;  ///< computed, not answered
};

} // namespace

caf::expected<backend_ptr> open_compiled_backend(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return make_error(errc::not_found, "compiled model file '" + path + "' does not exist");
  std::unique_ptr<compiler::graph_executor> model;
  try {
    model = compiler::load_artifact(path);
  } catch (const std::exception& ex) {
    return make_error(errc::invalid_argument, ex.what());
  }
  auto& m = model->model();
  if (m.inputs.size() != 1)
    return make_error(errc::invalid_argument,
                      "compiled model '" + path + "' takes " + std::to_string(m.inputs.size())
                        + " inputs; serving feeds exactly one");
  auto& input = m.node(m.inputs[0]);
  auto& output = m.node(m.outputs[0]);
  int64_t rows = input.shape[0];
  if (rows <= 0 || output.shape[0] != rows)
    return make_error(errc::invalid_argument,
                      "compiled model '" + path + "': input '" + input.name + "' and output '"
                        + output.name + "' disagree on the batch size (the first dimension)");
  return backend_ptr{std::make_shared<compiled_backend>(path, std::move(model), rows,
                                                        m.elements(m.inputs[0]) / rows,
                                                        m.elements(m.outputs[0]) / rows)};
}

// Registers "compiled" with open_backend when this library is linked
// (CMake links it whole-archive so this initializer is never dropped).
namespace {
const bool registered = [] {
  register_backend("compiled", [](const model_spec& spec) {
    return open_compiled_backend(spec.path);
  });
  return true;
}();
} // namespace

} // namespace troupe::serving
