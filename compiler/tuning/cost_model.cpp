#include "compiler/tuning/cost_model.hpp"

#include <fmt/format.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace troupe::compiler {

namespace {

// XGBoost's message without the stack trace it appends after the first line.
[[noreturn]] void fail(const std::string& what) {
  const char* msg = XGBGetLastError();
  std::string s = msg ? msg : "unknown XGBoost error";
  throw std::runtime_error(what + ": " + s.substr(0, s.find('\n')));
}

void check(int rc, const char* what) {
  if (rc != 0)
    fail(what);
}

/// A DMatrix that frees itself.
class matrix {
public:
  explicit matrix(const std::vector<std::vector<float>>& rows, size_t columns) {
    std::vector<float> flat;
    flat.reserve(rows.size() * columns);
    for (auto& r : rows) {
      if (r.size() != columns)
        throw std::invalid_argument(
          fmt::format("cost_model: a feature row has {} values, expected {}", r.size(), columns));
      flat.insert(flat.end(), r.begin(), r.end());
    }
    // NaN marks missing values: a zero feature is a real value.
    check(XGDMatrixCreateFromMat(flat.data(), rows.size(), columns, std::nanf(""), &handle_),
          "cannot create an XGBoost matrix");
  }
  ~matrix() {
    if (handle_)
      XGDMatrixFree(handle_);
  }
  matrix(const matrix&) = delete;
  matrix& operator=(const matrix&) = delete;
  DMatrixHandle get() const { return handle_; }

private:
  DMatrixHandle handle_ = nullptr;
};

} // namespace

cost_model::cost_model(cost_model_options options) : options_(options) {}

cost_model::~cost_model() {
  if (booster_)
    XGBoosterFree(static_cast<BoosterHandle>(booster_));
}

cost_model::cost_model(cost_model&& other) noexcept
    : options_(other.options_), booster_(other.booster_), features_(other.features_) {
  other.booster_ = nullptr;
  other.features_ = 0;
}

cost_model& cost_model::operator=(cost_model&& other) noexcept {
  if (this != &other) {
    if (booster_)
      XGBoosterFree(static_cast<BoosterHandle>(booster_));
    options_ = other.options_;
    booster_ = other.booster_;
    features_ = other.features_;
    other.booster_ = nullptr;
    other.features_ = 0;
  }
  return *this;
}

void cost_model::set_params(void* booster) const {
  auto h = static_cast<BoosterHandle>(booster);
  auto set = [&](const char* name, const std::string& value) {
    check(XGBoosterSetParam(h, name, value.c_str()), name);
  };
  set("objective", options_.objective);
  set("eval_metric", "ndcg");
  set("tree_method", "hist");
  set("max_depth", std::to_string(options_.max_depth));
  set("eta", fmt::format("{}", options_.eta));
  set("num_pairsample", std::to_string(std::max(1, options_.pairs_per_record)));
  set("seed", std::to_string(options_.seed));
  set("nthread", std::to_string(std::max(1, options_.threads)));
  set("verbosity", "0");
}

void cost_model::train(const std::vector<std::vector<float>>& features,
                       const std::vector<double>& throughput, const std::vector<size_t>& groups) {
  if (features.empty())
    throw std::invalid_argument("cost_model: no records to train on");
  if (features.size() != throughput.size())
    throw std::invalid_argument(fmt::format("cost_model: {} feature rows but {} throughputs",
                                            features.size(), throughput.size()));
  std::vector<size_t> sizes = groups.empty() ? std::vector<size_t>{features.size()} : groups;
  size_t total = 0;
  for (auto g : sizes)
    total += g;
  if (total != features.size())
    throw std::invalid_argument(
      fmt::format("cost_model: groups cover {} rows, not {}", total, features.size()));

  size_t columns = features.front().size();
  matrix data(features, columns);
  std::vector<float> labels(features.size());
  std::vector<unsigned> group_info;
  size_t begin = 0;
  for (auto g : sizes) {
    double best = 0;
    for (size_t i = begin; i < begin + g; ++i)
      best = std::max(best, std::isfinite(throughput[i]) ? throughput[i] : 0.0);
    for (size_t i = begin; i < begin + g; ++i)
      labels[i] = best > 0 && std::isfinite(throughput[i])
                    ? static_cast<float>(std::max(0.0, throughput[i]) / best)
                    : 0.0f;
    group_info.push_back(static_cast<unsigned>(g));
    begin += g;
  }
  check(XGDMatrixSetFloatInfo(data.get(), "label", labels.data(), labels.size()),
        "cannot set the labels");
  check(XGDMatrixSetUIntInfo(data.get(), "group", group_info.data(), group_info.size()),
        "cannot set the groups");

  DMatrixHandle train_set[] = {data.get()};
  BoosterHandle h = nullptr;
  check(XGBoosterCreate(train_set, 1, &h), "cannot create an XGBoost booster");
  try {
    set_params(h);
    for (int i = 0; i < options_.rounds; ++i)
      check(XGBoosterUpdateOneIter(h, i, data.get()), "XGBoost training failed");
  } catch (...) {
    XGBoosterFree(h);
    throw;
  }
  replace_booster(h, static_cast<size_t>(columns));
}

std::vector<double> cost_model::predict(const std::vector<std::vector<float>>& features) const {
  if (!booster_)
    throw std::logic_error("cost_model: predict() before train() or load()");
  if (features.empty())
    return {};
  matrix data(features, features_);
  bst_ulong length = 0;
  const float* out = nullptr;
  check(XGBoosterPredict(static_cast<BoosterHandle>(booster_), data.get(), 0, 0, 0, &length, &out),
        "XGBoost prediction failed");
  if (length != features.size())
    throw std::runtime_error(
      fmt::format("XGBoost returned {} predictions for {} rows", length, features.size()));
  return std::vector<double>(out, out + length);
}

std::string cost_model::save() const {
  if (!booster_)
    throw std::logic_error("cost_model: save() before train() or load()");
  bst_ulong length = 0;
  const char* bytes = nullptr;
  check(XGBoosterSaveModelToBuffer(static_cast<BoosterHandle>(booster_), R"({"format": "ubj"})",
                                   &length, &bytes),
        "cannot save the XGBoost model");
  return std::string(bytes, length);
}

void cost_model::load(const std::string& bytes) {
  BoosterHandle h = nullptr;
  check(XGBoosterCreate(nullptr, 0, &h), "cannot create an XGBoost booster");
  bst_ulong columns = 0;
  try {
    check(XGBoosterLoadModelFromBuffer(h, bytes.data(), bytes.size()),
          "cannot load the XGBoost model");
    set_params(h);
    check(XGBoosterGetNumFeature(h, &columns), "cannot read the model's feature count");
  } catch (...) {
    XGBoosterFree(h);
    throw;
  }
  replace_booster(h, static_cast<size_t>(columns));
}

void cost_model::replace_booster(void* booster, size_t columns) {
  if (booster_)
    XGBoosterFree(static_cast<BoosterHandle>(booster_));
  booster_ = booster;
  features_ = columns;
}

double pairwise_accuracy(const std::vector<double>& predicted, const std::vector<double>& truth) {
  size_t pairs = 0, right = 0;
  for (size_t i = 0; i < truth.size() && i < predicted.size(); ++i)
    for (size_t j = i + 1; j < truth.size() && j < predicted.size(); ++j) {
      if (truth[i] == truth[j])
        continue;
      ++pairs;
      if ((truth[i] < truth[j]) == (predicted[i] < predicted[j]))
        ++right;
    }
  return pairs == 0 ? 1.0 : static_cast<double>(right) / static_cast<double>(pairs);
}

} // namespace troupe::compiler
