// Command-line parsing shared by the benchmark programs: like CLI11_PARSE,
// but a bad command line exits 2, as Troupe's apps do (CLI11's own codes,
// 105-115, say nothing to a script that checks for usage errors).
#pragma once

#include <CLI/CLI.hpp>

namespace troupe::bench {

/// Parses argv into `app`; returns the exit code to leave with (0 after
/// --help, 2 after an error, which CLI11 has printed), or -1 to go on.
inline int parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
}

} // namespace troupe::bench

/// In main(): parse, or return the exit code parse_command_line chose.
#define TROUPE_BENCH_PARSE(app, argc, argv)                                                \
  if (int troupe_bench_exit = ::troupe::bench::parse_command_line(app, argc, argv);        \
      troupe_bench_exit >= 0)                                                              \
  return troupe_bench_exit
