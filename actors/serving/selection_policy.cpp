#include "actors/serving/selection_policy.hpp"

#include "actors/serving/exp3_policy.hpp"
#include "actors/serving/exp4_policy.hpp"
#include "actors/serving/single_model_policy.hpp"
#include "messages/errors.hpp"

namespace troupe::serving {

selection_policy::~selection_policy() = default;

caf::expected<std::unique_ptr<selection_policy>> make_policy(const std::string& name,
                                                             size_t models) {
  if (models == 0)
    return make_error(errc::invalid_argument,
                      "a selection policy needs at least one model; the app has none linked");
  if (name == "single")
    return std::unique_ptr<selection_policy>{new single_model_policy(models)};
  if (name == "exp3")
    return std::unique_ptr<selection_policy>{new exp3_policy(models)};
  if (name == "exp4")
    return std::unique_ptr<selection_policy>{new exp4_policy(models)};
  return make_error(errc::invalid_argument, "unknown selection policy '" + name
                                              + "' (known: single, exp3, exp4)");
}

} // namespace troupe::serving
