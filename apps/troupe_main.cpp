// troupe: the one command of Troupe. See README.md, "Commands".
#include <iostream>
#include <vector>

#include "apps/command.hpp"

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
  } catch (const CLI::ParseError& e) {
    auto rc = app.exit(e);
    return rc == 0 ? 0 : troupe::exit_bad_usage;
  }
  for (auto& [sub, run] : commands)
    if (sub && sub->parsed())
      return run();
  return troupe::exit_bad_usage;
}
