#include "actors/serving/exp3_policy.hpp"

#include <cmath>
#include <numeric>

#include "actors/serving/policy_state.hpp"

namespace troupe::serving {

exp3_policy::exp3_policy(size_t models, double eta, double gamma)
  : eta_(eta), gamma_(gamma), weights_(models, 1.0) {
  // nop
}

std::vector<double> exp3_policy::probabilities() const {
  auto total = std::accumulate(weights_.begin(), weights_.end(), 0.0);
  auto k = static_cast<double>(weights_.size());
  std::vector<double> p;
  for (auto w : weights_)
    p.push_back((1 - gamma_) * w / total + gamma_ / k);
  return p;
}

size_t exp3_policy::draw(std::mt19937_64& rng) const {
  auto p = probabilities();
  std::discrete_distribution<size_t> pick(p.begin(), p.end());
  return pick(rng);
}

std::vector<size_t> exp3_policy::choose(std::mt19937_64& rng) {
  return {draw(rng)};
}

std::optional<combined_answer> exp3_policy::combine(const std::vector<size_t>& chosen,
                                                    const std::vector<model_answer>& answers) const {
  for (size_t i = 0; i < answers.size(); ++i)
    if (answers[i])
      return combined_answer{*answers[i], 1.0, {chosen[i]}};
  return std::nullopt;
}

std::vector<size_t> exp3_policy::feedback_models(std::mt19937_64& rng) {
  return {draw(rng)};
}

void exp3_policy::learn(const std::vector<size_t>& models, const std::vector<model_answer>& answers,
                        const std::string& label) {
  auto p = probabilities();
  for (size_t i = 0; i < models.size() && i < answers.size(); ++i) {
    auto m = models[i];
    if (m >= weights_.size())
      continue;
    // A model that failed to answer is as wrong as a wrong answer.
    double loss = (answers[i] && *answers[i] == label) ? 0.0 : 1.0;
    weights_[m] *= std::exp(-eta_ * loss / p[m]);
  }
  rescale(weights_);
}

std::string exp3_policy::save() const {
  return save_weights("exp3", weights_);
}

caf::error exp3_policy::restore(const std::string& state) {
  return restore_weights("exp3", weights_.size(), state, weights_);
}

} // namespace troupe::serving
