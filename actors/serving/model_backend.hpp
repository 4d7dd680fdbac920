// Clipper's narrow model interface, in process: predict a batch of typed
// inputs, one output string per input. Every in-process model (noop,
// XGBoost, TorchScript) is a model_backend; a model container actor drives
// one backend on its own thread (see model_container.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "messages/serving_specs.hpp"
#include "messages/serving_types.hpp"

namespace troupe::serving {

/// What a backend needs of every input of a batch.
struct input_requirement {
  /// True: the kind must be doubles, floats or ints (all travel as numbers).
  bool numeric = true;
  /// Values per input; 0: any length.
  uint64_t length = 0;
};

/// One model, loaded and ready to predict. Backends are not thread-safe:
/// one caller (a model container) at a time.
class model_backend {
public:
  virtual ~model_backend();

  /// Predicts `batch`: one output per input, in order. Checks every input
  /// first; a bad one fails the whole batch with errc::invalid_argument
  /// naming its index, what was expected and what came. An empty batch
  /// answers no outputs.
  virtual caf::expected<model_outputs> predict(const query_inputs& batch) = 0;

  /// One line for logs and errors, e.g. "xgboost model 'm.json' (64 features)".
  virtual std::string describe() const = 0;

  /// What each input must be.
  virtual input_requirement input() const = 0;
};

using backend_ptr = std::shared_ptr<model_backend>;

/// Checks every input of `batch` against `req`; the first bad input gives
/// errc::invalid_argument, e.g. "input 3: expected 64 values, got 10".
caf::error check_batch(const query_inputs& batch, const input_requirement& req);

/// The numbers of a checked numeric batch as one row-major float array
/// (rows = batch.size(), columns = `length`), as XGBoost and libtorch take it.
std::vector<float> dense_floats(const query_inputs& batch, uint64_t length);

/// Opens the model that `spec` names with the backend spec.backend, which
/// must be registered: "noop" and "xgboost" always are; "torchscript" is
/// when the program links troupe_serving_torch, "compiled" when it links
/// troupe_serving_compiled. An unknown backend gives
/// errc::invalid_argument naming it and the known ones; a missing model
/// file gives errc::not_found naming the path.
caf::expected<backend_ptr> open_backend(const model_spec& spec);

/// Makes a backend from a spec (used by open_backend).
using backend_opener = std::function<caf::expected<backend_ptr>(const model_spec&)>;

/// Makes `name` known to open_backend (replacing an opener of that name).
/// Thread-safe; meant for static registration by backend libraries.
void register_backend(const std::string& name, backend_opener opener);

/// The names open_backend knows, sorted.
std::vector<std::string> known_backends();

} // namespace troupe::serving
