// `troupe serve start` runs the frontend in a program of its own,
// troupe-serve, next to troupe: it links libtorch (for in-process
// TorchScript models), which the rest of the `troupe` command should not
// load. Both parse the same options, declared here.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace troupe {

struct serve_start_options {
  std::string host = "127.0.0.1";
  uint16_t port = 1337;
  uint16_t admin_port = 1338;
  std::string store = "troupe-serving";
  unsigned threads = 1;
  size_t cache_mb = 64;
  size_t body_limit = 1 << 20;
  unsigned idle_timeout_s = 60;
  unsigned request_timeout_ms = 10'000;
  std::string work_dir;
  std::string ready_file;
  std::string log_level = "info";
  std::string seed;
  uint32_t scheduler_threads = 0;
  unsigned model_threads = 0;  ///< OpenBLAS threads; 0: cores less the HTTP threads
};

/// Declares the options of `serve start` on `cmd`.
void add_serve_start_options(CLI::App* cmd, serve_start_options& o);

/// The command line that gives troupe-serve these options.
std::vector<std::string> serve_start_args(const serve_start_options& o);

/// Runs the frontend until SIGINT/SIGTERM (troupe-serve's main work).
int run_serve_start(const serve_start_options& o);

} // namespace troupe
