#include "actors/serving/container_builtin_models.hpp"

#include <cstdio>

#include "messages/errors.hpp"

namespace troupe::serving {

namespace {

std::string render(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", x);
  return buf;
}

caf::expected<model_outputs> sum(const query_inputs& inputs) {
  model_outputs out;
  out.reserve(inputs.size());
  for (const auto& x : inputs) {
    double total = 0;
    for (auto v : x.numbers)
      total += v;
    out.push_back(render(total));
  }
  return out;
}

caf::expected<model_outputs> echo_length(const query_inputs& inputs) {
  model_outputs out;
  out.reserve(inputs.size());
  for (const auto& x : inputs)
    out.push_back(std::to_string(x.text.size()));
  return out;
}

} // namespace

std::vector<std::string> builtin_model_names() {
  return {"sum", "echo-length"};
}

caf::expected<container_model> make_builtin_model(const std::string& name, uint32_t version) {
  container_model m;
  m.info.name = name;
  m.info.version = version;
  if (name == "sum") {
    m.info.kind = input_kind::doubles;
    m.predict = sum;
  } else if (name == "echo-length") {
    m.info.kind = input_kind::strings;
    m.predict = echo_length;
  } else {
    return make_error(errc::not_found,
                      "no built-in model '" + name + "' (there are: sum, echo-length)");
  }
  return m;
}

} // namespace troupe::serving
