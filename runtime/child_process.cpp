#include "runtime/child_process.hpp"

#include <csignal>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "messages/errors.hpp"

extern char** environ;

namespace troupe {

namespace {

// The parent's environment with `extra` laid over it. A variable that is
// only appended would lose to an inherited one of the same name: getenv
// returns the first match.
std::vector<char*> merged_environment(const std::vector<std::string>& extra) {
  auto name_of = [](const char* entry) {
    auto eq = std::strchr(entry, '=');
    return eq ? std::string{entry, eq} : std::string{entry};
  };
  std::vector<char*> result;
  for (char** e = environ; *e != nullptr; ++e) {
    auto name = name_of(*e);
    bool replaced = false;
    for (auto& x : extra)
      replaced = replaced || name_of(x.c_str()) == name;
    if (!replaced)
      result.push_back(*e);
  }
  for (auto& x : extra)
    result.push_back(const_cast<char*>(x.c_str()));
  result.push_back(nullptr);
  return result;
}

} // namespace

caf::expected<child_process> child_process::spawn(const std::vector<std::string>& argv,
                                                  const std::string& log_path,
                                                  const std::vector<std::string>& env) {
  if (argv.empty())
    return make_error(errc::invalid_argument, "cannot start a process without a program");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!log_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  }
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  // The child must not inherit a blocked signal mask (troupe node blocks
  // SIGTERM to wait for it), else it could never be stopped politely.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  auto envp = env.empty() ? std::vector<char*>{} : merged_environment(env);
  auto rc = posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(),
                        env.empty() ? environ : envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    return make_error(errc::unavailable,
                      "cannot start '" + argv[0] + "': " + std::strerror(rc));
  return child_process{pid};
}

child_process::child_process(child_process&& other) noexcept
  : pid_(other.pid_), status_(other.status_) {
  other.pid_ = -1;
}

child_process& child_process::operator=(child_process&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      reap(true);
    }
    pid_ = other.pid_;
    status_ = other.status_;
    other.pid_ = -1;
  }
  return *this;
}

child_process::~child_process() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGCONT);  // a stopped child would never die of SIGKILL's delivery otherwise
    ::kill(pid_, SIGKILL);
    reap(true);
  }
}

bool child_process::reap(bool block) {
  if (status_ || pid_ <= 0)  // never waitpid(-1): that would reap any child
    return true;
  int status = 0;
  auto rc = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (rc == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
  }
  if (rc < 0) {  // not our child any more (reaped elsewhere)
    status_ = -1;
    return true;
  }
  return false;
}

bool child_process::running() {
  return pid_ > 0 && !reap(false);
}

void child_process::signal(int signo) {
  if (running())
    ::kill(pid_, signo);
}

std::optional<int> child_process::wait_for(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!reap(false)) {
    if (std::chrono::steady_clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return status_;
}

int child_process::stop(std::chrono::milliseconds grace) {
  if (!running())
    return status_.value_or(-1);
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGTERM);
  if (auto status = wait_for(grace))
    return *status;
  ::kill(pid_, SIGKILL);
  reap(true);
  return status_.value_or(-1);
}

std::string self_executable() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return {};
  buf[n] = '\0';
  return buf;
}

} // namespace troupe
