// A child process started by Troupe (nodes of a local cluster, model
// containers, measurement workers). The owner cleans up by pid: a child still
// running when its handle dies is killed and reaped.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include <caf/expected.hpp>

namespace troupe {

class child_process {
public:
  /// Starts argv[0] with `argv`; stdout and stderr go to `log_path` (appended)
  /// or are inherited if it is empty. The child gets this process's
  /// environment plus `env` ("KEY=VALUE" entries; each replaces a variable of
  /// the same name).
  static caf::expected<child_process> spawn(const std::vector<std::string>& argv,
                                            const std::string& log_path = {},
                                            const std::vector<std::string>& env = {});

  /// No process: running() is false.
  child_process() = default;

  child_process(child_process&& other) noexcept;
  child_process& operator=(child_process&& other) noexcept;
  ~child_process();

  pid_t pid() const { return pid_; }

  /// True until the process has exited (and been reaped).
  bool running();

  /// Sends `signo` (e.g. SIGKILL, SIGSTOP, SIGCONT, SIGTERM).
  void signal(int signo);

  /// Waits up to `timeout` for exit; the exit status (128 + signal number
  /// for a signal), or nullopt if it is still running.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);

  /// SIGTERM, then SIGKILL if it has not exited after `grace`.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds{3000});

private:
  explicit child_process(pid_t pid) : pid_(pid) {}

  bool reap(bool block);

  pid_t pid_ = -1;
  std::optional<int> status_;
};

/// Path of the running executable (/proc/self/exe resolved).
std::string self_executable();

} // namespace troupe
