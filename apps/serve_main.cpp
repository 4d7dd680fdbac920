// troupe-serve: the serving frontend's process (see apps/serve_start.hpp;
// users run it as `troupe serve start`).
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/serving/serving_frontend.hpp"
#include "apps/serve_start.hpp"
#include "messages/errors.hpp"
#include "runtime/blas_kernels.hpp"
#include "runtime/child_process.hpp"
#include "runtime/logging.hpp"
#include "runtime/node.hpp"
#include "runtime/rank_threads.hpp"
#include "runtime/state_store.hpp"

namespace troupe {

namespace {

using json = nlohmann::json;
using namespace serving;

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;

bool write_json_atomically(const std::string& path, const json& doc) {
  auto tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f)
    return false;
  auto text = doc.dump();
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  return ok && std::rename(tmp.c_str(), path.c_str()) == 0;
}

} // namespace

int run_serve_start(const serve_start_options& o) {
  init_logging("serve", o.log_level);
  // In-process models share the cores with the HTTP threads: OpenBLAS's
  // default of a thread per core left its workers spinning beside them
  // (the TorchScript MLP at adaptive batching: 26-27K rows/s and p99 4.9-5.0
  // ms with two, 30-31K and 3.8-3.9 ms with one, on 2 cores).
  auto share = static_cast<int>(o.model_threads);
  if (share == 0)
    share = std::max(1, usable_cores() - static_cast<int>(o.threads));
  if (auto blas = limit_openblas_threads(share); blas > 0)
    spdlog::info("serving: in-process models compute on {} OpenBLAS thread(s)", blas);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::error_code ec;
  std::filesystem::create_directories(o.store, ec);
  serving::frontend_options f;
  f.host = o.host;
  f.port = o.port;
  f.admin_port = o.admin_port;
  f.http_threads = o.threads;
  f.body_limit = o.body_limit;
  f.http_idle_timeout = std::chrono::seconds{o.idle_timeout_s};
  f.http_request_timeout = std::chrono::milliseconds{o.request_timeout_ms};
  f.seed = o.seed;
  f.work_dir = o.work_dir.empty() ? o.store + "/containers" : o.work_dir;
  std::filesystem::create_directories(f.work_dir, ec);
  if (ec) {
    std::cerr << "troupe serve: cannot create " << f.work_dir << ": " << ec.message() << "\n";
    return exit_failure;
  }
  f.program_dir = std::filesystem::path{self_executable()}.parent_path().string();
  f.cache_bytes = o.cache_mb << 20;
  node_config defaults;
  defaults.scheduler_threads = o.scheduler_threads;
  auto cfg = make_actor_system_config(defaults);
  auto sys = std::make_unique<caf::actor_system>(*cfg);
  auto store = spawn_state_store(*sys, {o.store + "/db", true, uint64_t{64} << 20});
  if (!store) {
    std::cerr << "troupe serve: " << describe(store.error()) << "\n";
    return exit_failure;
  }
  auto frontend = serving_frontend::start(*sys, *store, f);
  if (!frontend) {
    std::cerr << "troupe serve: " << describe(frontend.error()) << "\n";
    caf::anon_send_exit(*store, caf::exit_reason::user_shutdown);
    return exit_failure;
  }
  auto& fe = **frontend;
  std::cout << "troupe serve: queries on http://" << f.host << ":" << fe.port()
            << ", admin on http://" << f.host << ":" << fe.admin_port() << ", store "
            << o.store << std::endl;
  if (!o.ready_file.empty() &&
      !write_json_atomically(o.ready_file, json{{"host", f.host},
                                                {"port", fe.port()},
                                                {"admin_port", fe.admin_port()},
                                                {"pid", ::getpid()}})) {
    std::cerr << "troupe serve: cannot write the ready file " << o.ready_file << "\n";
    return exit_failure;
  }
  int signo = 0;
  sigwait(&stop_signals, &signo);
  spdlog::info("serving: stopping (signal {})", signo);
  fe.stop();
  caf::anon_send_exit(*store, caf::exit_reason::user_shutdown);
  // As in `troupe node`: bounded teardown (CAF 0.17 may wait forever for a
  // detached actor a vanished peer references); the store is closed by now.
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds{5});
    spdlog::warn("actor system did not stop within 5 s; exiting anyway");
    std::_Exit(exit_ok);
  }).detach();
  frontend->reset();
  // The store is a detached actor: the system waits for its thread, which
  // ends only once the last handle to it is gone.
  *store = state_store_actor{};
  sys.reset();
  return exit_ok;
}


} // namespace troupe

int main(int argc, char** argv) {
  // Before anything loads work onto OpenBLAS (see runtime/blas_kernels.hpp).
  troupe::reexec_with_better_openblas_kernels(argv);
  CLI::App app{"troupe-serve: the serving frontend (run it as `troupe serve start`)",
               "troupe-serve"};
  troupe::serve_start_options options;
  troupe::add_serve_start_options(&app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    auto rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return troupe::run_serve_start(options);
}
