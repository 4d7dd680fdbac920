// Models that troupe-container serves without any file: for demos, smoke
// tests and the fault tests of the container machinery.
#pragma once

#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/serving/container_server.hpp"

namespace troupe::serving {

/// A model ready to serve: what it says about itself, and its function.
struct container_model {
  container_info info;
  predict_function predict;
};

/// The names make_builtin_model knows.
std::vector<std::string> builtin_model_names();

/// "sum": numbers in, their sum out ("6", "0.30000000000000004": %.17g,
/// exact); "echo-length": strings or bytes in, the byte length out.
/// not_found for another name.
caf::expected<container_model> make_builtin_model(const std::string& name, uint32_t version);

} // namespace troupe::serving
