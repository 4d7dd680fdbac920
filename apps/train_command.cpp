// troupe train: starts the ranks of a training program, like torchrun.
//
// The launcher runs a node of its own whose state store is where the ranks
// meet (their process groups rendezvous through it), then starts N ranks of
// the program with TROUPE_RANK, TROUPE_WORLD_SIZE, TROUPE_RENDEZVOUS, ...
// in their environment, and watches them:
//
//   all ranks exit 0 ───────────────────────────────────────────▶ exit 0
//   a rank fails ──▶ grace: the others may finish or fail ──▶ SIGKILL ──▶ exit 1
//   SIGINT/SIGTERM ─▶ SIGTERM to the ranks ──▶ grace ──▶ SIGKILL ──▶ exit 1
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include <unistd.h>

#include "actors/builtin_services.hpp"
#include "apps/command.hpp"
#include "messages/errors.hpp"
#include "runtime/blas_kernels.hpp"
#include "runtime/child_process.hpp"
#include "runtime/collectives/make_process_group.hpp"
#include "runtime/logging.hpp"
#include "runtime/node.hpp"
#include "runtime/rank_threads.hpp"

namespace troupe {

namespace {

using clock = std::chrono::steady_clock;

struct train_options {
  int nproc = 0;
  std::string backend = "gloo";
  int timeout_ms = 30000;
  int grace_ms = 5000;
  bool debug = false;
  int threads_per_rank = 0;  ///< 0: each rank's share of the cores
  std::string run_id;
  std::vector<std::string> program;  ///< the program and its own arguments
};

/// A fresh directory for the launcher's state store, removed on scope exit.
class scratch_dir {
public:
  scratch_dir() {
    char tmpl[] = "/tmp/troupe-train-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr)
      path_ = tmpl;
  }
  ~scratch_dir() {
    std::error_code ec;
    if (!path_.empty())
      std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

/// The program's path as posix_spawn needs it: a name without a slash is
/// looked up in PATH, as a shell would.
caf::expected<std::string> resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) != 0)
      return make_error(errc::invalid_config,
                        "cannot execute '" + name + "': " + std::strerror(errno));
    return name;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (size_t start = 0; start <= dirs.size();) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos)
      end = dirs.size();
    auto dir = dirs.substr(start, end - start);
    auto candidate = (dir.empty() ? std::string{"."} : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return make_error(errc::invalid_config, "program '" + name + "' not found in PATH");
}

/// Stops the launcher's node, waiting at most `limit`. CAF 0.17 can wait
/// forever for the detached state-store actor when a handle to it is still
/// held after a client disconnects (seen about one stop in three after a
/// remote lookup); the launcher must not hang then: it removes `dir` and
/// ends the process with `rc` itself.
void stop_node_within(std::unique_ptr<node> launcher, const scratch_dir& dir, int rc,
                      std::chrono::milliseconds limit) {
  std::mutex mutex;
  std::condition_variable stopped_signal;
  bool stopped = false;
  std::thread watchdog{[&] {
    std::unique_lock<std::mutex> guard{mutex};
    if (stopped_signal.wait_for(guard, limit, [&] { return stopped; }))
      return;
    std::error_code ec;
    std::filesystem::remove_all(dir.path(), ec);
    std::_Exit(rc);
  }};
  launcher.reset();
  {
    std::lock_guard<std::mutex> guard{mutex};
    stopped = true;
  }
  stopped_signal.notify_all();
  watchdog.join();
}

std::string default_run_id() {
  auto now = std::chrono::system_clock::now().time_since_epoch().count();
  return "run-" + std::to_string(::getpid()) + "-" + std::to_string(now % 1000000007);
}

/// Waits for every rank; see the diagram at the top of the file.
int supervise(std::vector<child_process>& ranks, std::chrono::milliseconds grace,
              const sigset_t& stop_signals) {
  auto n = ranks.size();
  std::vector<bool> exited(n, false), killed(n, false);
  std::optional<clock::time_point> kill_at;
  bool failed = false;
  size_t running = n;
  while (running > 0) {
    for (size_t r = 0; r < n; ++r) {
      if (exited[r])
        continue;
      auto status = ranks[r].wait_for(std::chrono::milliseconds{0});
      if (!status)
        continue;
      exited[r] = true;
      --running;
      if (*status != 0 && !killed[r]) {
        std::cerr << "troupe train: rank " << r << " exited with status " << *status
                  << std::endl;
        failed = true;
        if (!kill_at)
          kill_at = clock::now() + grace;
      }
    }
    if (running == 0)
      break;
    if (kill_at && clock::now() >= *kill_at) {
      for (size_t r = 0; r < n; ++r)
        if (!exited[r] && !killed[r]) {
          std::cerr << "troupe train: killing rank " << r << ", still running "
                    << grace.count() << " ms after the first failure" << std::endl;
          ranks[r].signal(SIGKILL);
          killed[r] = true;
        }
    }
    // The wait for a stop signal doubles as the poll interval.
    timespec poll{0, 10 * 1000 * 1000};
    int signo = ::sigtimedwait(&stop_signals, nullptr, &poll);
    if (signo > 0) {
      std::cerr << "troupe train: received signal " << signo << ", stopping the ranks"
                << std::endl;
      failed = true;
      // A second signal means "now": skip the rest of the grace period.
      kill_at = kill_at ? clock::now() : clock::now() + grace;
      for (size_t r = 0; r < n; ++r)
        if (!exited[r])
          ranks[r].signal(SIGTERM);
    }
  }
  return failed ? exit_failure : exit_ok;
}

int run_train(const train_options& options) {
  if (auto err = collectives::check_backend(options.backend)) {
    std::cerr << "troupe train: --backend: " << describe(err) << "\n";
    return exit_bad_usage;
  }
  auto program = resolve_program(options.program.front());
  if (!program) {
    std::cerr << "troupe train: " << describe(program.error()) << "\n";
    return exit_bad_usage;
  }
  scratch_dir dir;
  if (dir.path().empty()) {
    std::cerr << "troupe train: cannot create a directory under /tmp: " << std::strerror(errno)
              << "\n";
    return exit_failure;
  }
  // Block the stop signals before CAF starts its threads, so that only the
  // supervision loop receives them; ranks start with an empty mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  node_config cfg;
  cfg.name = "train-" + std::to_string(::getpid());
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  cfg.store_path = dir.path() + "/store";
  cfg.store_sync = false;  // rendezvous keys live as long as the run: no fsync
  cfg.metrics_port = -1;
  init_logging(cfg.name, "warn");
  auto started = node::start(cfg, builtin_services());
  if (!started) {
    std::cerr << "troupe train: cannot start the rendezvous node: "
              << describe(started.error()) << "\n";
    return exit_failure;
  }
  auto& info = (*started)->info();
  auto address = info.host + ":" + std::to_string(info.port);
  auto run_id = options.run_id.empty() ? default_run_id() : options.run_id;
  auto argv = options.program;
  argv.front() = *program;
  // Ranks that train through libtorch run its GEMMs on OpenBLAS: on a CPU
  // OpenBLAS does not recognise they would run its SSE3 fallback, 2.6x
  // slower on the DDP benchmark's MLP (runtime/blas_kernels.hpp).
  std::string loaded_core;
  auto better_core = probe_openblas_coretype(&loaded_core);
  if (!better_core.empty())
    std::cerr << "troupe train: OpenBLAS does not recognise this CPU (it chose " << loaded_core
              << "); ranks run with OPENBLAS_CORETYPE=" << better_core
              << " (set OPENBLAS_CORETYPE to choose)\n";
  auto cores = usable_cores();
  auto threads = choose_rank_threads(options.threads_per_rank, options.nproc, cores);
  if (options.threads_per_rank == 0 && threads.threads > 0 && threads.threads < cores)
    std::cerr << "troupe train: " << options.nproc << " ranks share " << cores
              << " cores: each runs with OMP_NUM_THREADS=" << threads.threads
              << " (libtorch's and OpenBLAS's threads; set OMP_NUM_THREADS or "
                 "--threads-per-rank to choose)\n";
  std::vector<child_process> ranks;
  for (int rank = 0; rank < options.nproc; ++rank) {
    std::vector<std::string> env{
      "TROUPE_RANK=" + std::to_string(rank),
      "TROUPE_WORLD_SIZE=" + std::to_string(options.nproc),
      "TROUPE_RENDEZVOUS=" + address,
      "TROUPE_RENDEZVOUS_STORE=store@" + cfg.name,
      "TROUPE_RUN_ID=" + run_id,
      "TROUPE_BACKEND=" + options.backend,
      "TROUPE_COLLECTIVE_TIMEOUT_MS=" + std::to_string(options.timeout_ms),
      std::string{"TROUPE_DEBUG_COLLECTIVES="} + (options.debug ? "1" : "0"),
    };
    if (!better_core.empty())
      env.push_back("OPENBLAS_CORETYPE=" + better_core);
    env.insert(env.end(), threads.env.begin(), threads.env.end());
    auto process = child_process::spawn(argv, {}, env);
    if (!process) {
      // The ranks already started die with their handles (SIGKILL, reaped).
      std::cerr << "troupe train: cannot start rank " << rank << ": "
                << describe(process.error()) << "\n";
      return exit_failure;
    }
    ranks.push_back(std::move(*process));
  }
  auto rc = supervise(ranks, std::chrono::milliseconds{options.grace_ms}, stop_signals);
  stop_node_within(std::move(*started), dir, rc, std::chrono::seconds{3});
  return rc;
}

} // namespace

command_runner add_train_command(CLI::App& app) {
  auto options = std::make_shared<train_options>();
  auto* cmd = app.add_subcommand(
    "train", "Start N ranks of a training program that meet through this launcher's store");
  cmd->add_option("-n,--nproc", options->nproc, "number of ranks to start")
    ->required()
    ->check(CLI::Range(1, 4096));
  cmd->add_option("--backend", options->backend, "collectives backend: gloo, ucx or nccl")
    ->capture_default_str();
  cmd->add_option("--timeout-ms", options->timeout_ms,
                  "per-collective and rendezvous timeout passed to the ranks")
    ->capture_default_str()
    ->check(CLI::Range(1, 24 * 3600 * 1000));
  cmd->add_flag("--debug-collectives", options->debug,
               "ranks compare a fingerprint of every collective and report a desync");
  cmd->add_option("--grace-ms", options->grace_ms,
                  "after a rank fails, how long the others may run before SIGKILL")
    ->capture_default_str()
    ->check(CLI::Range(0, 3600 * 1000));
  cmd->add_option("--threads-per-rank", options->threads_per_rank,
                  "OpenMP and OpenBLAS threads of each rank (sets OMP_NUM_THREADS and "
                  "OPENBLAS_NUM_THREADS); 0: the cores shared evenly among the ranks, unless "
                  "OMP_NUM_THREADS is set")
    ->capture_default_str()
    ->check(CLI::Range(0, 4096));
  cmd->add_option("--run-id", options->run_id,
                  "name of this run in the store (default: derived from pid and time)");
  // Everything after `--` is the program's, untouched, even its --options.
  cmd->add_option("program", options->program, "PROGRAM [ARGS...] (put `--` before it)")
    ->required();
  cmd->footer("Each rank gets TROUPE_RANK, TROUPE_WORLD_SIZE, TROUPE_RENDEZVOUS,\n"
              "TROUPE_RENDEZVOUS_STORE, TROUPE_RUN_ID, TROUPE_BACKEND and\n"
              "TROUPE_COLLECTIVE_TIMEOUT_MS in its environment.");
  return [options] { return run_train(*options); };
}

} // namespace troupe
