#include "actors/serving/exp4_policy.hpp"

#include <cmath>
#include <map>
#include <numeric>

#include "actors/serving/policy_state.hpp"

namespace troupe::serving {

exp4_policy::exp4_policy(size_t models, double eta) : eta_(eta), weights_(models, 1.0) {
  // nop
}

std::vector<size_t> exp4_policy::choose(std::mt19937_64&) {
  std::vector<size_t> all(weights_.size());
  std::iota(all.begin(), all.end(), 0);
  return all;
}

std::optional<combined_answer> exp4_policy::combine(const std::vector<size_t>& chosen,
                                                    const std::vector<model_answer>& answers) const {
  // Weighted vote among the models that answered. Ties go to the output
  // seen first (the lowest model index), so answers are deterministic.
  std::map<std::string, double> votes;
  std::vector<std::string> order;
  double total = 0;
  for (size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i] || chosen[i] >= weights_.size())
      continue;
    auto w = weights_[chosen[i]];
    if (votes.find(*answers[i]) == votes.end())
      order.push_back(*answers[i]);
    votes[*answers[i]] += w;
    total += w;
  }
  if (order.empty())
    return std::nullopt;
  auto best = order.front();
  for (auto& out : order)
    if (votes[out] > votes[best])
      best = out;
  combined_answer result;
  result.output = best;
  result.confidence = total > 0 ? votes[best] / total : 0.0;
  for (size_t i = 0; i < answers.size(); ++i)
    if (answers[i] && *answers[i] == best)
      result.used.push_back(chosen[i]);
  return result;
}

std::vector<size_t> exp4_policy::feedback_models(std::mt19937_64& rng) {
  return choose(rng);
}

void exp4_policy::learn(const std::vector<size_t>& models, const std::vector<model_answer>& answers,
                        const std::string& label) {
  for (size_t i = 0; i < models.size() && i < answers.size(); ++i) {
    if (models[i] >= weights_.size())
      continue;
    double loss = (answers[i] && *answers[i] == label) ? 0.0 : 1.0;
    weights_[models[i]] *= std::exp(-eta_ * loss);
  }
  rescale(weights_);
}

std::string exp4_policy::save() const {
  return save_weights("exp4", weights_);
}

caf::error exp4_policy::restore(const std::string& state) {
  return restore_weights("exp4", weights_.size(), state, weights_);
}

} // namespace troupe::serving
