#include "actors/serving/policy_state.hpp"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "messages/errors.hpp"

namespace troupe::serving {

std::string save_weights(const std::string& policy, const std::vector<double>& weights) {
  nlohmann::json j;
  j["policy"] = policy;
  j["weights"] = weights;
  return j.dump();
}

caf::error restore_weights(const std::string& policy, size_t models, const std::string& state,
                           std::vector<double>& weights) {
  auto j = nlohmann::json::parse(state, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(errc::invalid_argument, "saved " + policy + " state is not a JSON object");
  if (j.value("policy", "") != policy)
    return make_error(errc::invalid_argument, "saved state belongs to policy '"
                                                + j.value("policy", "?") + "', not '" + policy
                                                + "'");
  auto w = j.find("weights");
  if (w == j.end() || !w->is_array())
    return make_error(errc::invalid_argument, "saved " + policy + " state has no weights");
  if (w->size() != models)
    return make_error(errc::invalid_argument,
                      "saved " + policy + " state has " + std::to_string(w->size())
                        + " weights, the app has " + std::to_string(models) + " models");
  std::vector<double> result;
  for (auto& x : *w) {
    if (!x.is_number() || !std::isfinite(x.get<double>()) || x.get<double>() < 0)
      return make_error(errc::invalid_argument,
                        "saved " + policy + " state has a weight that is not a number >= 0");
    result.push_back(x.get<double>());
  }
  weights = std::move(result);
  rescale(weights);
  return {};
}

void rescale(std::vector<double>& weights) {
  auto top = weights.empty() ? 0.0 : *std::max_element(weights.begin(), weights.end());
  if (!(top > 0)) {
    std::fill(weights.begin(), weights.end(), 1.0);  // all lost: start over
    return;
  }
  for (auto& w : weights)
    w = std::max(w / top, 1e-12);  // keep every model drawable
}

} // namespace troupe::serving
