#include "actors/serving/spec_json.hpp"

#include <nlohmann/json.hpp>

#include "messages/errors.hpp"

namespace troupe::serving {

namespace {

using json = nlohmann::json;

const char* const policies[] = {"single", "exp3", "exp4"};
const char* const backends[] = {"noop", "xgboost", "torchscript", "compiled", "container"};
const char* const threads[] = {"own", "shared"};

caf::error bad(std::string what) {
  return make_error(errc::invalid_argument, std::move(what));
}

caf::expected<json> parse_object(std::string_view text, const char* what) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end(), nullptr, false);
  } catch (const json::exception&) {  // out_of_range ("1e400") throws regardless
    doc = json::value_t::discarded;
  }
  if (doc.is_discarded())
    return bad(std::string{what} + " is not valid JSON");
  if (!doc.is_object())
    return bad(std::string{what} + " must be a JSON object");
  return doc;
}

/// Reads field `key` into `out` if present; a wrong JSON type is an error
/// naming the field. `required` fields must be present.
template <class T>
caf::error read(const json& doc, const char* key, T& out, bool required = false) {
  auto it = doc.find(key);
  if (it == doc.end())
    return required ? bad(std::string{"missing field \""} + key + "\"") : caf::error{};
  try {
    if constexpr (std::is_unsigned_v<T>) {
      if (!it->is_number_integer() || it->template get<int64_t>() < 0)
        return bad(std::string{"\""} + key + "\" must be a non-negative integer");
    } else if constexpr (std::is_integral_v<T>) {
      if (!it->is_number_integer())
        return bad(std::string{"\""} + key + "\" must be an integer");
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!it->is_string())
        return bad(std::string{"\""} + key + "\" must be a string");
    }
    out = it->template get<T>();
  } catch (const json::exception&) {
    return bad(std::string{"\""} + key + "\" has the wrong type");
  }
  return {};
}

template <class Range>
bool contains(const Range& names, const std::string& x) {
  for (auto* n : names)
    if (x == n)
      return true;
  return false;
}

} // namespace

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64)
    return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return false;
  return true;
}

caf::error validate(const app_spec& spec) {
  if (!is_valid_name(spec.name))
    return bad("app name '" + spec.name + "' must be 1-64 of A-Z a-z 0-9 _ . -");
  if (spec.slo_us <= 0)
    return bad("latency_slo_micros of app '" + spec.name + "' must be positive");
  if (!contains(policies, spec.policy))
    return bad("selection_policy '" + spec.policy + "' of app '" + spec.name +
               "' is none of single, exp3, exp4");
  for (auto& m : spec.models)
    if (!is_valid_name(m))
      return bad("model name '" + m + "' of app '" + spec.name + "' is not a valid name");
  return {};
}

caf::error validate(const model_spec& spec) {
  if (!is_valid_name(spec.name))
    return bad("model name '" + spec.name + "' must be 1-64 of A-Z a-z 0-9 _ . -");
  if (spec.version == 0)
    return bad("model_version of model '" + spec.name + "' must be at least 1");
  if (!contains(backends, spec.backend))
    return bad("backend '" + spec.backend + "' of model '" + spec.name +
               "' is none of noop, xgboost, torchscript, compiled, container");
  if (spec.backend != "noop" && spec.path.empty())
    return bad("model '" + spec.name + "' needs a path (backend " + spec.backend + ")");
  if (spec.replicas == 0 || spec.replicas > max_replicas)
    return bad("replicas of model '" + spec.name + "' must be 1.." +
               std::to_string(max_replicas));
  if (spec.max_batch == 0)
    return bad("max_batch_size of model '" + spec.name + "' must be at least 1");
  for (auto& h : spec.hosts)
    if (!is_valid_name(h))
      return bad("host '" + h + "' of model '" + spec.name + "' is not a valid name");
  if (spec.batch_delay_us < 0)
    return bad("batch_wait_timeout_micros of model '" + spec.name + "' must not be negative");
  if (spec.batches_in_flight == 0 || spec.batches_in_flight > max_batches_in_flight)
    return bad("batches_in_flight of model '" + spec.name + "' must be 1.." +
               std::to_string(max_batches_in_flight));
  if (!contains(threads, spec.thread))
    return bad("thread '" + spec.thread + "' of model '" + spec.name +
               "' is neither own nor shared");
  return {};
}

caf::expected<app_spec> parse_app_spec(std::string_view text) {
  auto doc = parse_object(text, "the app");
  if (!doc)
    return doc.error();
  app_spec spec;
  std::string input = "doubles";
  if (auto err = read(*doc, "name", spec.name, true))
    return err;
  if (auto err = read(*doc, "input_type", input))
    return err;
  if (!from_string(input, spec.input))
    return bad("input_type '" + input + "' is none of doubles, floats, ints, strings, bytes");
  if (auto err = read(*doc, "input_length", spec.input_length))
    return err;
  if (auto err = read(*doc, "latency_slo_micros", spec.slo_us))
    return err;
  // Clipper takes the default output as a string; a JSON value is kept as
  // its JSON text, so that {"default_output": -1} answers -1.
  if (auto it = doc->find("default_output"); it != doc->end())
    spec.default_output = it->is_string() ? it->get<std::string>() : it->dump();
  if (auto err = read(*doc, "selection_policy", spec.policy))
    return err;
  if (auto it = doc->find("candidate_model_names"); it != doc->end()) {
    if (!it->is_array())
      return bad("\"candidate_model_names\" must be an array of model names");
    for (auto& m : *it) {
      if (!m.is_string())
        return bad("\"candidate_model_names\" must be an array of model names");
      spec.models.push_back(m.get<std::string>());
    }
  }
  if (auto err = validate(spec))
    return err;
  return spec;
}

caf::expected<model_spec> parse_model_spec(std::string_view text) {
  auto doc = parse_object(text, "the model");
  if (!doc)
    return doc.error();
  model_spec spec;
  if (auto err = read(*doc, "model_name", spec.name, true))
    return err;
  uint64_t version = 1;
  if (auto err = read(*doc, "model_version", version))
    return err;
  if (version > UINT32_MAX)
    return bad("model_version is too large");
  spec.version = static_cast<uint32_t>(version);
  if (auto err = read(*doc, "backend", spec.backend))
    return err;
  if (auto err = read(*doc, "path", spec.path))
    return err;
  uint64_t replicas = 1;
  if (auto err = read(*doc, "replicas", replicas))
    return err;
  spec.replicas = static_cast<uint32_t>(std::min<uint64_t>(replicas, UINT32_MAX));
  if (auto err = read(*doc, "max_batch_size", spec.max_batch))
    return err;
  if (auto err = read(*doc, "batch_wait_timeout_micros", spec.batch_delay_us))
    return err;
  uint64_t in_flight = spec.batches_in_flight;
  if (auto err = read(*doc, "batches_in_flight", in_flight))
    return err;
  spec.batches_in_flight = static_cast<uint32_t>(std::min<uint64_t>(in_flight, UINT32_MAX));
  if (auto err = read(*doc, "thread", spec.thread))
    return err;
  if (auto it = doc->find("hosts"); it != doc->end()) {
    if (!it->is_array())
      return bad("\"hosts\" must be an array of model host names");
    for (auto& h : *it) {
      if (!h.is_string())
        return bad("\"hosts\" must be an array of model host names");
      spec.hosts.push_back(h.get<std::string>());
    }
  }
  if (auto err = validate(spec))
    return err;
  return spec;
}

std::string render(const app_spec& spec) {
  json doc{{"name", spec.name},
           {"input_type", to_string(spec.input)},
           {"input_length", spec.input_length},
           {"latency_slo_micros", spec.slo_us},
           {"default_output", spec.default_output},
           {"selection_policy", spec.policy},
           {"candidate_model_names", spec.models}};
  return doc.dump();
}

std::string render(const model_spec& spec) {
  json doc{{"model_name", spec.name},
           {"model_version", spec.version},
           {"backend", spec.backend},
           {"path", spec.path},
           {"replicas", spec.replicas},
           {"max_batch_size", spec.max_batch},
           {"batch_wait_timeout_micros", spec.batch_delay_us},
           {"batches_in_flight", spec.batches_in_flight},
           {"hosts", spec.hosts},
           {"thread", spec.thread}};
  return doc.dump();
}

} // namespace troupe::serving
