// The model that does nothing: answers "0" for every input, of any kind and
// length. Serving it measures the system's own overhead (Clipper's noop
// container).
#pragma once

#include "actors/serving/model_backend.hpp"

namespace troupe::serving {

/// Answers "0" per input; accepts every input.
class noop_backend : public model_backend {
public:
  caf::expected<model_outputs> predict(const query_inputs& batch) override;
  std::string describe() const override;
  input_requirement input() const override;
};

} // namespace troupe::serving
