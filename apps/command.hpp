// The `troupe` command line: one binary, one subcommand per file. Each
// add_*_command registers its options and returns the function that runs it
// (called only if that subcommand was chosen); the result is the exit code.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace troupe {

using command_runner = std::function<int()>;

/// Exit codes shared by every subcommand.
enum exit_code : int {
  exit_ok = 0,
  exit_failure = 1,       ///< the work failed
  exit_bad_usage = 2,     ///< bad options or configuration
};

command_runner add_node_command(CLI::App& app);
command_runner add_cluster_command(CLI::App& app);
command_runner add_demo_command(CLI::App& app);
command_runner add_train_command(CLI::App& app);
command_runner add_serve_command(CLI::App& app);
command_runner add_compile_command(CLI::App& app);
command_runner add_tune_command(CLI::App& app);

} // namespace troupe
