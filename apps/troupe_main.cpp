// troupe: the one command of Troupe. See README.md, "Commands".
#include <iostream>
#include <string>
#include <vector>

#include "apps/command.hpp"

namespace {

/// The innermost subcommand the parser entered (`app` itself when none).
CLI::App* innermost_parsed(CLI::App* app) {
  for (auto* sub : app->get_subcommands())
    if (sub->parsed())
      return innermost_parsed(sub);
  return app;
}

/// "troupe serve" for the serve subcommand.
std::string command_path(CLI::App* app) {
  std::string path = app->get_name();
  for (auto* up = app->get_parent(); up != nullptr; up = up->get_parent())
    path = up->get_name() + " " + path;
  return path;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Troupe: ML serving, distributed training and a tensor compiler, as actors",
               "troupe"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "troupe 0.1.0");
  std::vector<std::pair<CLI::App*, troupe::command_runner>> commands;
  auto add = [&](troupe::command_runner (*adder)(CLI::App&)) {
    auto before = app.get_subcommands({}).size();
    auto runner = adder(app);
    auto subs = app.get_subcommands({});
    commands.emplace_back(subs.size() > before ? subs.back() : nullptr, std::move(runner));
  };
  add(troupe::add_node_command);
  add(troupe::add_cluster_command);
  add(troupe::add_demo_command);
  add(troupe::add_train_command);
  add(troupe::add_serve_command);
  add(troupe::add_compile_command);
  add(troupe::add_tune_command);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RequiredError& e) {
    // CLI11 reports a missing subcommand before an unknown word, so
    // `troupe bogus` would only say "A subcommand is required": name the
    // word the parser could not place instead.
    auto* where = innermost_parsed(&app);
    if (auto extras = where->remaining(); !extras.empty()) {
      std::cerr << command_path(where) << ": unknown command or option '" << extras.front()
                << "'\nRun with --help for more information.\n";
      return troupe::exit_bad_usage;
    }
    app.exit(e);
    return troupe::exit_bad_usage;
  } catch (const CLI::ParseError& e) {
    auto rc = app.exit(e);
    return rc == 0 ? 0 : troupe::exit_bad_usage;
  }
  for (auto& [sub, run] : commands)
    if (sub && sub->parsed())
      return run();
  return troupe::exit_bad_usage;
}
