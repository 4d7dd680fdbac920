#include "actors/serving/single_model_policy.hpp"

#include "actors/serving/policy_state.hpp"

namespace troupe::serving {

single_model_policy::single_model_policy(size_t models) : models_(models) {
  // nop
}

std::vector<size_t> single_model_policy::choose(std::mt19937_64&) {
  return {0};
}

std::optional<combined_answer>
single_model_policy::combine(const std::vector<size_t>& chosen,
                             const std::vector<model_answer>& answers) const {
  for (size_t i = 0; i < answers.size(); ++i)
    if (answers[i])
      return combined_answer{*answers[i], 1.0, {chosen[i]}};
  return std::nullopt;
}

std::vector<size_t> single_model_policy::feedback_models(std::mt19937_64&) {
  return {};  // nothing to learn
}

void single_model_policy::learn(const std::vector<size_t>&, const std::vector<model_answer>&,
                                const std::string&) {
  // nop
}

std::vector<double> single_model_policy::weights() const {
  std::vector<double> result(models_, 0.0);
  result[0] = 1.0;
  return result;
}

std::string single_model_policy::save() const {
  return save_weights("single", weights());
}

caf::error single_model_policy::restore(const std::string& state) {
  std::vector<double> ignored;
  return restore_weights("single", models_, state, ignored);
}

} // namespace troupe::serving
