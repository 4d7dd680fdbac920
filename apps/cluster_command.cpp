// troupe cluster: prints the members of a cluster and their registered actors.
#include <iostream>

#include <fmt/core.h>

#include "apps/command.hpp"
#include "messages/errors.hpp"
#include "runtime/cluster_client.hpp"
#include "runtime/node.hpp"

namespace troupe {

namespace {

struct cluster_options {
  std::string seed;
  int timeout_ms = 3000;
};

int run_cluster(const cluster_options& options) {
  node_config defaults;
  auto cfg = make_actor_system_config(defaults);
  caf::actor_system sys{*cfg};
  auto timeout = std::chrono::milliseconds{options.timeout_ms};
  auto client = cluster_client::connect(sys, options.seed, timeout);
  if (!client) {
    std::cerr << "troupe cluster: " << describe(client.error()) << "\n";
    return is(client.error(), errc::invalid_config) ? exit_bad_usage : exit_failure;
  }
  auto members = client->members();
  auto names = client->directory();
  if (!members || !names) {
    std::cerr << "troupe cluster: "
              << describe(!members ? members.error() : names.error()) << "\n";
    return exit_failure;
  }
  std::cout << fmt::format("{} member(s) seen by {}\n", members->size(), options.seed);
  std::cout << fmt::format("  {:<24} {:<22} {:>8}  {}\n", "NAME", "ADDRESS", "PID", "ACTORS");
  for (auto& m : *members) {
    std::string actors;
    for (auto& entry : *names)
      if (entry.node == m.name)
        actors += (actors.empty() ? "" : ", ") + entry.name;
    std::cout << fmt::format("  {:<24} {:<22} {:>8}  {}\n", m.name,
                             m.host + ":" + std::to_string(m.port), m.pid,
                             actors.empty() ? "-" : actors);
  }
  return exit_ok;
}

} // namespace

command_runner add_cluster_command(CLI::App& app) {
  auto options = std::make_shared<cluster_options>();
  auto* cmd = app.add_subcommand("cluster", "Print the members of a cluster and their actors");
  cmd->add_option("--seed", options->seed, "host:port of any member")->required();
  cmd->add_option("--timeout-ms", options->timeout_ms, "request timeout in milliseconds")
    ->capture_default_str()
    ->check(CLI::Range(1, 3600000));
  return [options] { return run_cluster(*options); };
}

} // namespace troupe
