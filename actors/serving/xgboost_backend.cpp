#include "actors/serving/xgboost_backend.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>
#include <xgboost/c_api.h>

#include "messages/errors.hpp"

namespace troupe::serving {

namespace {

// XGBoost's message, without the stack trace it appends after the first line.
std::string last_error() {
  const char* msg = XGBGetLastError();
  std::string s = msg ? msg : "unknown XGBoost error";
  return s.substr(0, s.find('\n'));
}

xgboost_output output_of(const std::string& objective) {
  if (objective == "multi:softprob")
    return xgboost_output::argmax;
  if (objective == "multi:softmax")
    return xgboost_output::label;
  if (objective == "binary:logistic")
    return xgboost_output::threshold;
  if (objective == "binary:logitraw")
    return xgboost_output::sign;
  return xgboost_output::value;
}

std::string render_number(float x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", static_cast<double>(x));
  return buf;
}

} // namespace

xgboost_backend::~xgboost_backend() {
  if (proxy_)
    XGDMatrixFree(static_cast<DMatrixHandle>(proxy_));
  if (booster_)
    XGBoosterFree(static_cast<BoosterHandle>(booster_));
}

caf::expected<std::unique_ptr<xgboost_backend>> open_xgboost_backend(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return make_error(errc::not_found, "xgboost model file '" + path + "' does not exist");
  std::unique_ptr<xgboost_backend> self{new xgboost_backend};
  self->path_ = path;
  BoosterHandle h = nullptr;
  if (XGBoosterCreate(nullptr, 0, &h) != 0)
    return make_error(errc::io_failure, "cannot create an XGBoost booster: " + last_error());
  self->booster_ = h;
  if (XGBoosterLoadModel(h, path.c_str()) != 0)
    return make_error(errc::invalid_argument,
                      "cannot load xgboost model '" + path + "': " + last_error());
  // One core per container: replicas, not threads, scale a model out.
  if (XGBoosterSetParam(h, "nthread", "1") != 0)
    return make_error(errc::io_failure, "cannot set nthread: " + last_error());
  bst_ulong features = 0;
  if (XGBoosterGetNumFeature(h, &features) != 0 || features == 0)
    return make_error(errc::invalid_argument,
                      "xgboost model '" + path + "' has no features: " + last_error());
  self->features_ = features;
  DMatrixHandle proxy = nullptr;
  if (XGProxyDMatrixCreate(&proxy) != 0)
    return make_error(errc::io_failure, "cannot create an XGBoost proxy matrix: " + last_error());
  self->proxy_ = proxy;
  // The objective decides how a prediction becomes a label.
  bst_ulong len = 0;
  const char* config = nullptr;
  if (XGBoosterSaveJsonConfig(h, &len, &config) != 0)
    return make_error(errc::invalid_argument,
                      "cannot read the config of '" + path + "': " + last_error());
  auto json = nlohmann::json::parse(config, config + len, nullptr, false);
  if (json.is_discarded())
    return make_error(errc::invalid_argument, "xgboost returned an unreadable config for '"
                                                + path + "'");
  auto name = json.value(nlohmann::json::json_pointer{"/learner/objective/name"}, "");
  self->objective_ = name;
  self->output_ = output_of(name);
  return self;
}

caf::expected<model_outputs> xgboost_backend::predict(const query_inputs& batch) {
  if (auto err = check_batch(batch, input()))
    return err;
  if (batch.empty())
    return model_outputs{};
  auto values = dense_floats(batch, features_);
  auto rows = batch.size();
  // In-place prediction over a dense array (no DMatrix per batch), described
  // by the __array_interface__ protocol XGBoost takes as JSON.
  auto array = R"({"data": [)" + std::to_string(reinterpret_cast<uintptr_t>(values.data()))
               + R"(, true], "shape": [)" + std::to_string(rows) + ", "
               + std::to_string(features_) + R"(], "typestr": "<f4", "version": 3})";
  const char* config = R"({"type": 0, "training": false, "iteration_begin": 0,)"
                       R"( "iteration_end": 0, "strict_shape": false, "cache_id": 0, "missing": NaN})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  if (XGBoosterPredictFromDense(static_cast<BoosterHandle>(booster_), array.c_str(), config,
                                static_cast<DMatrixHandle>(proxy_), &shape, &dim, &result)
      != 0)
    return make_error(errc::io_failure, "xgboost prediction failed: " + last_error());
  size_t total = 1;
  for (bst_ulong i = 0; i < dim; ++i)
    total *= shape[i];
  if (total % rows != 0)
    return make_error(errc::io_failure, "xgboost answered " + std::to_string(total)
                                          + " values for " + std::to_string(rows) + " inputs");
  auto per_row = total / rows;
  model_outputs out;
  out.reserve(rows);
  for (size_t r = 0; r < rows; ++r) {
    const float* row = result + r * per_row;
    switch (per_row > 1 ? xgboost_output::argmax : output_) {
      case xgboost_output::argmax: {
        size_t best = 0;
        for (size_t k = 1; k < per_row; ++k)
          if (row[k] > row[best])
            best = k;
        out.push_back(std::to_string(best));
        break;
      }
      case xgboost_output::label:
        out.push_back(std::to_string(static_cast<long>(std::lround(row[0]))));
        break;
      case xgboost_output::threshold:
        out.push_back(row[0] > 0.5f ? "1" : "0");
        break;
      case xgboost_output::sign:
        out.push_back(row[0] > 0.0f ? "1" : "0");
        break;
      case xgboost_output::value:
        out.push_back(render_number(row[0]));
        break;
    }
  }
  return out;
}

std::string xgboost_backend::describe() const {
  return "xgboost model '" + path_ + "' (" + objective_ + ", " + std::to_string(features_)
         + " features)";
}

input_requirement xgboost_backend::input() const {
  return {true, features_};
}

} // namespace troupe::serving
