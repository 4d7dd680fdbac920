// An XGBoost model (JSON or UBJSON file, loaded through the C API) as a
// model_backend. Each booster predicts on one thread: Clipper gives every
// container one core, and replicas scale out instead.
#pragma once

#include <memory>
#include <string>

#include "actors/serving/model_backend.hpp"

namespace troupe::serving {

/// How the booster's raw predictions become an output string.
enum class xgboost_output {
  argmax,     ///< multi:softprob: the most probable class
  label,      ///< multi:softmax: the predicted class as is
  threshold,  ///< binary:logistic: "1" if p > 0.5, else "0"
  sign,       ///< binary:logitraw: "1" if the margin > 0, else "0"
  value,      ///< regression and the rest: the number itself
};

/// Predicts with an XGBoost booster; inputs must be numeric, one value per
/// feature of the model.
class xgboost_backend : public model_backend {
public:
  ~xgboost_backend() override;

  caf::expected<model_outputs> predict(const query_inputs& batch) override;
  std::string describe() const override;
  input_requirement input() const override;

  /// The model's objective, e.g. "multi:softprob".
  const std::string& objective() const { return objective_; }

private:
  friend caf::expected<std::unique_ptr<xgboost_backend>> open_xgboost_backend(const std::string&);
  xgboost_backend() = default;

  void* booster_ = nullptr;  // BoosterHandle; void* keeps c_api.h out of this header
  // A DMatrix proxy reused by every predict call. Without one, XGBoost 1.6
  // builds a proxy per call, and with it a context that reads the cgroup's
  // CPU quota from /sys (two opens, reads and closes): ~half the cost of a
  // one-row prediction here.
  void* proxy_ = nullptr;  // DMatrixHandle
  std::string path_;
  std::string objective_;
  xgboost_output output_ = xgboost_output::value;
  uint64_t features_ = 0;
};

/// Loads the model at `path` (.json or .ubj). A missing file gives
/// errc::not_found naming it; a file XGBoost cannot read gives
/// errc::invalid_argument with XGBoost's reason.
caf::expected<std::unique_ptr<xgboost_backend>> open_xgboost_backend(const std::string& path);

} // namespace troupe::serving
