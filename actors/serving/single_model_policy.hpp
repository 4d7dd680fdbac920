// The simplest policy: every query goes to the app's first linked model.
#pragma once

#include "actors/serving/selection_policy.hpp"

namespace troupe::serving {

class single_model_policy : public selection_policy {
public:
  explicit single_model_policy(size_t models);

  std::string name() const override { return "single"; }
  std::vector<size_t> choose(std::mt19937_64& rng) override;
  bool chooses_alike() const override { return true; }
  std::optional<combined_answer> combine(const std::vector<size_t>& chosen,
                                         const std::vector<model_answer>& answers) const override;
  std::vector<size_t> feedback_models(std::mt19937_64& rng) override;
  void learn(const std::vector<size_t>& models, const std::vector<model_answer>& answers,
             const std::string& label) override;
  std::vector<double> weights() const override;
  std::string save() const override;
  caf::error restore(const std::string& state) override;

private:
  size_t models_;
};

} // namespace troupe::serving
