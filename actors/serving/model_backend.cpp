#include "actors/serving/model_backend.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include "actors/serving/noop_backend.hpp"
#include "actors/serving/xgboost_backend.hpp"
#include "messages/errors.hpp"

namespace troupe::serving {

model_backend::~model_backend() = default;

caf::error check_batch(const query_inputs& batch, const input_requirement& req) {
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& x = batch[i];
    bool numeric = x.kind == input_kind::doubles || x.kind == input_kind::floats
                   || x.kind == input_kind::ints;
    if (req.numeric && !numeric)
      return make_error(errc::invalid_argument,
                        "input " + std::to_string(i)
                          + ": expected numbers (doubles, floats or ints), got "
                          + to_string(x.kind));
    if (req.length != 0 && numeric && x.numbers.size() != req.length)
      return make_error(errc::invalid_argument,
                        "input " + std::to_string(i) + ": expected " + std::to_string(req.length)
                          + " values, got " + std::to_string(x.numbers.size()));
  }
  return {};
}

std::vector<float> dense_floats(const query_inputs& batch, uint64_t length) {
  // Sized once and written through a pointer, so that each row converts
  // as one vectorized loop (push_back checked the capacity per value).
  std::vector<float> out(batch.size() * length);
  float* to = out.data();
  for (const auto& x : batch) {
    const double* from = x.numbers.data();
    for (uint64_t j = 0; j < length; ++j)
      to[j] = static_cast<float>(from[j]);
    to += length;
  }
  return out;
}

// -- registry -----------------------------------------------------------------

namespace {

struct registry {
  std::mutex mtx;
  std::map<std::string, backend_opener> openers;
};

// A function-local static: backend libraries register from their static
// initializers, which may run before this file's globals are constructed.
registry& the_registry() {
  static registry* r = [] {
    auto* r = new registry;
    r->openers["noop"] = [](const model_spec&) -> caf::expected<backend_ptr> {
      return backend_ptr{std::make_shared<noop_backend>()};
    };
    r->openers["xgboost"] = [](const model_spec& spec) -> caf::expected<backend_ptr> {
      auto b = open_xgboost_backend(spec.path);
      if (!b)
        return std::move(b.error());
      return backend_ptr{std::move(*b)};
    };
    return r;
  }();
  return *r;
}

} // namespace

void register_backend(const std::string& name, backend_opener opener) {
  auto& r = the_registry();
  std::lock_guard<std::mutex> guard{r.mtx};
  r.openers[name] = std::move(opener);
}

std::vector<std::string> known_backends() {
  auto& r = the_registry();
  std::lock_guard<std::mutex> guard{r.mtx};
  std::vector<std::string> names;
  for (auto& kv : r.openers)
    names.push_back(kv.first);
  return names;
}

caf::expected<backend_ptr> open_backend(const model_spec& spec) {
  backend_opener opener;
  {
    auto& r = the_registry();
    std::lock_guard<std::mutex> guard{r.mtx};
    if (auto i = r.openers.find(spec.backend); i != r.openers.end())
      opener = i->second;
  }
  if (!opener) {
    std::string known;
    for (auto& name : known_backends())
      known += (known.empty() ? "" : ", ") + name;
    std::string hint = spec.backend == "torchscript"
                         ? " (link troupe_serving_torch for TorchScript models)"
                       : spec.backend == "compiled"
                         ? " (link troupe_serving_compiled for compiled models)"
                         : "";
    return make_error(errc::invalid_argument, "model '" + spec.id() + "': unknown backend '"
                                                + spec.backend + "'; known: " + known + hint);
  }
  return opener(spec);
}

} // namespace troupe::serving
