// troupe-container: serves one model as a model container over Cap'n Proto
// RPC (messages/container.capnp), in a process of its own, so that a model
// that crashes or hangs takes only its container down. A container
// supervisor (actors/serving/container_supervisor.hpp) starts and restarts
// it; it finds the port in the ready file.
//
// A model comes from load_model(): a built-in one (--model sum), or a file
// opened with an in-process backend (--backend xgboost --path F), the same
// backends the serving system runs in process (model_backend.hpp).
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "actors/serving/container_builtin_models.hpp"
#include "actors/serving/container_faults.hpp"
#include "actors/serving/container_server.hpp"
#include "actors/serving/model_backend.hpp"
#include "messages/errors.hpp"

namespace {

using namespace troupe;
using namespace troupe::serving;

struct container_options {
  container_server_options server;
  std::string model = "sum";
  /// Non-empty: serve `path` with this model_backend instead of `model`.
  std::string backend;
  std::string path;
  /// The kind a backend's inputs are announced as (a backend takes numbers
  /// of every numeric kind; noop takes anything).
  std::string input_kind = "doubles";
  uint32_t version = 1;
  std::string name;  // defaults to the model's
  uint64_t input_length = 0;
  std::vector<std::string> fault;
};

/// `opts.path` opened by the backend `opts.backend`, as a container model.
caf::expected<container_model> load_backend_model(const container_options& opts) {
  model_spec spec;
  spec.backend = opts.backend;
  spec.path = opts.path;
  spec.version = opts.version;
  spec.name = !opts.name.empty()   ? opts.name
              : opts.path.empty() ? opts.backend
                                  : std::filesystem::path{opts.path}.stem().string();
  if (spec.backend != "noop" && spec.path.empty())
    return make_error(errc::invalid_argument, "--backend " + spec.backend + " needs --path FILE");
  auto backend = open_backend(spec);
  if (!backend)
    return std::move(backend.error());
  auto need = (*backend)->input();
  container_model m;
  m.info.name = spec.name;
  m.info.version = spec.version;
  if (!from_string(opts.input_kind, m.info.kind))
    return make_error(errc::invalid_argument,
                      "--input-kind: '" + opts.input_kind
                        + "' is none of doubles, floats, ints, strings, bytes");
  bool numeric_kind = m.info.kind == input_kind::doubles || m.info.kind == input_kind::floats
                      || m.info.kind == input_kind::ints;
  if (need.numeric && !numeric_kind)
    return make_error(errc::invalid_argument, (*backend)->describe() + " takes numbers, not "
                                                + opts.input_kind);
  m.info.input_length = need.length;
  if (opts.input_length != 0 && need.length != 0 && opts.input_length != need.length)
    return make_error(errc::invalid_argument,
                      "--input-length " + std::to_string(opts.input_length) + ": "
                        + (*backend)->describe() + " takes " + std::to_string(need.length));
  if (need.length == 0)
    m.info.input_length = opts.input_length;
  // The container server calls predict on its one event-loop thread, one
  // batch at a time: the backend's single caller, as it requires.
  m.predict = [b = *backend](const query_inputs& batch) { return b->predict(batch); };
  return m;
}

caf::expected<container_model> load_model(const container_options& opts) {
  if (!opts.backend.empty())
    return load_backend_model(opts);
  auto m = make_builtin_model(opts.model, opts.version);
  if (!m)
    return m;
  if (!opts.name.empty())
    m->info.name = opts.name;
  m->info.input_length = opts.input_length;
  return m;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Troupe model container: serves one model over Cap'n Proto RPC "
               "(messages/container.capnp)",
               "troupe-container"};
  container_options opts;
  app.add_option("--host", opts.server.host, "address to serve on")->capture_default_str();
  app.add_option("--port", opts.server.port, "port to serve on; 0: a free one")
    ->capture_default_str();
  app.add_option("--ready-file", opts.server.ready_file,
                 "write {name, host, port, pid} here as JSON once serving");
  app.add_option("--model", opts.model, "built-in model: sum, echo-length")
    ->capture_default_str();
  app.add_option("--backend", opts.backend,
                 "serve --path with this backend instead of a built-in model: noop, xgboost, "
                 "torchscript, compiled");
  app.add_option("--path", opts.path, "the model file --backend opens");
  app.add_option("--input-kind", opts.input_kind,
                 "with --backend: the input kind announced (doubles, floats, ints; strings or "
                 "bytes for noop)")
    ->capture_default_str();
  app.add_option("--name", opts.name, "the name the container reports (default: the model's)");
  app.add_option("--version", opts.version, "the model version it reports")
    ->capture_default_str();
  app.add_option("--input-length", opts.input_length,
                 "numbers per input the model takes; 0: any")
    ->capture_default_str();
  app.add_option("--fault", opts.fault,
                 "misbehave, for tests: 'crash-after N', 'hang', 'garbage' or 'slow MICROS'")
    ->expected(1, 2);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    auto rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  auto fault = parse_fault(opts.fault);
  if (!fault) {
    std::cerr << "troupe-container: " << describe(fault.error()) << '\n';
    return 2;
  }
  auto model = load_model(opts);
  if (!model) {
    std::cerr << "troupe-container: " << describe(model.error()) << '\n';
    return 2;
  }
  auto err = run_container_server(opts.server, model->info,
                                  with_fault(std::move(model->predict), *fault));
  std::cerr << "troupe-container: " << describe(err) << '\n';
  return 1;
}
