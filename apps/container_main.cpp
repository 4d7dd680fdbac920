// troupe-container: serves one model as a model container over Cap'n Proto
// RPC (messages/container.capnp), in a process of its own, so that a model
// that crashes or hangs takes only its container down. A container
// supervisor (actors/serving/container_supervisor.hpp) starts and restarts
// it; it finds the port in the ready file.
//
// A model comes from load_model(): built-in ones now; a new kind of model
// (e.g. --backend xgboost --path F) is one more branch there.
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "actors/serving/container_builtin_models.hpp"
#include "actors/serving/container_faults.hpp"
#include "actors/serving/container_server.hpp"
#include "messages/errors.hpp"

namespace {

using namespace troupe;
using namespace troupe::serving;

struct container_options {
  container_server_options server;
  std::string model = "sum";
  uint32_t version = 1;
  std::string name;  // defaults to the model's
  uint64_t input_length = 0;
  std::vector<std::string> fault;
};

caf::expected<container_model> load_model(const container_options& opts) {
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
  app.add_option("--name", opts.name, "the name the container reports (default: the model's)");
  app.add_option("--version", opts.version, "the model version it reports")
    ->capture_default_str();
  app.add_option("--input-length", opts.input_length,
                 "numbers per input the model takes; 0: any")
    ->capture_default_str();
  app.add_option("--fault", opts.fault,
                 "misbehave, for tests: 'crash-after N', 'hang' or 'garbage'")
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
