// Exp3 (Auer et al.): each query goes to ONE model, drawn with probability
//   p_i = (1 - gamma) * w_i / sum(w) + gamma / K,
// and feedback on a model's answer updates only that model, by its
// importance-weighted loss: w_i *= exp(-eta * loss / p_i). Cheap (one model
// per query) and robust when the best model changes over time.
#pragma once

#include "actors/serving/selection_policy.hpp"

namespace troupe::serving {

class exp3_policy : public selection_policy {
public:
  explicit exp3_policy(size_t models, double eta = 0.1, double gamma = 0.1);

  std::string name() const override { return "exp3"; }
  std::vector<size_t> choose(std::mt19937_64& rng) override;
  std::optional<combined_answer> combine(const std::vector<size_t>& chosen,
                                         const std::vector<model_answer>& answers) const override;
  std::vector<size_t> feedback_models(std::mt19937_64& rng) override;
  void learn(const std::vector<size_t>& models, const std::vector<model_answer>& answers,
             const std::string& label) override;
  std::vector<double> weights() const override { return weights_; }
  std::string save() const override;
  caf::error restore(const std::string& state) override;

  /// The probability of drawing each model.
  std::vector<double> probabilities() const;

private:
  size_t draw(std::mt19937_64& rng) const;
  void normalize();

  double eta_;
  double gamma_;
  std::vector<double> weights_;
};

} // namespace troupe::serving
