#include "actors/serving/noop_backend.hpp"

namespace troupe::serving {

caf::expected<model_outputs> noop_backend::predict(const query_inputs& batch) {
  return model_outputs(batch.size(), "0");
}

std::string noop_backend::describe() const {
  return "noop model (answers \"0\")";
}

input_requirement noop_backend::input() const {
  return {false, 0};
}

} // namespace troupe::serving
