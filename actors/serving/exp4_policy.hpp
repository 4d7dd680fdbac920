// Exp4 (Clipper's ensemble policy): every query goes to ALL models; the
// answer is the weighted vote of those that made the deadline, and its
// confidence the share of their weight that agrees. Feedback updates every
// model by its own loss: w_i *= exp(-eta * loss_i). More accurate than any
// one model when they err differently, at K times the work per query.
#pragma once

#include "actors/serving/selection_policy.hpp"

namespace troupe::serving {

class exp4_policy : public selection_policy {
public:
  explicit exp4_policy(size_t models, double eta = 0.2);

  std::string name() const override { return "exp4"; }
  std::vector<size_t> choose(std::mt19937_64& rng) override;
  bool chooses_alike() const override { return true; }
  std::optional<combined_answer> combine(const std::vector<size_t>& chosen,
                                         const std::vector<model_answer>& answers) const override;
  std::vector<size_t> feedback_models(std::mt19937_64& rng) override;
  void learn(const std::vector<size_t>& models, const std::vector<model_answer>& answers,
             const std::string& label) override;
  std::vector<double> weights() const override { return weights_; }
  std::string save() const override;
  caf::error restore(const std::string& state) override;

private:
  double eta_;
  std::vector<double> weights_;
};

} // namespace troupe::serving
