#include "compiler/tuning/measurer.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace troupe::compiler {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::chrono::milliseconds start_timeout{10000};

std::string seconds_text(std::chrono::milliseconds d) {
  return fmt::format("{:g}", static_cast<double>(d.count()) / 1000.0);
}

} // namespace

measurer::measurer(std::string worker_path, std::string log_path)
    : worker_path_(std::move(worker_path)), log_path_(std::move(log_path)) {}

measurer::~measurer() { stop(); }

std::string measurer::start() {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0)
    return fmt::format("cannot create a pipe: {}", std::strerror(errno));
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return fmt::format("cannot create a pipe: {}", std::strerror(errno));
  }
  int log_fd = -1;
  if (!log_path_.empty())
    log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<char*> argv{worker_path_.data(), nullptr};
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    if (log_fd >= 0)
      dup2(log_fd, STDERR_FILENO);
    // The worker dies with its tuner, even one killed with SIGKILL. (Linux
    // sends it when the forking *thread* exits: a measurer belongs to the
    // thread, or detached actor, that uses it.)
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(127);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  if (log_fd >= 0)
    close(log_fd);
  if (pid < 0) {
    close(in[1]);
    close(out[0]);
    return fmt::format("cannot fork: {}", std::strerror(errno));
  }
  pid_ = pid;
  to_worker_ = in[1];
  from_worker_ = out[0];
  buffer_.clear();
  ++started_;

  std::string line;
  auto status = read_line(line, clock_type::now() + start_timeout);
  if (status == read_status::line) {
    try {
      auto hello = json::parse(line);
      if (hello.value("hello", false)) {
        device_ = hello.value("device", std::string{});
        return {};
      }
    } catch (const json::exception&) {
    }
    stop();
    return "worker " + worker_path_ + " did not say hello: " + line;
  }
  if (status == read_status::timeout) {
    stop();
    return fmt::format("worker {} did not start within {} s", worker_path_,
                       seconds_text(start_timeout));
  }
  return fmt::format("worker {} failed to start ({})", worker_path_, crash_reason());
}

void measurer::stop() {
  if (to_worker_ >= 0)
    close(to_worker_);
  if (from_worker_ >= 0)
    close(from_worker_);
  to_worker_ = from_worker_ = -1;
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
}

std::string measurer::crash_reason() {
  int status = 0;
  pid_t pid = pid_;
  std::string reason = "worker crashed";
  if (pid > 0) {
    // EOF: the worker is gone or going; give it a moment to be reapable.
    pid_t r = 0;
    for (int i = 0; i < 200 && (r = waitpid(pid, &status, WNOHANG)) == 0; ++i)
      usleep(10000);
    if (r == pid) {
      pid_ = -1;
      if (WIFSIGNALED(status))
        reason = fmt::format("worker crashed (signal {}: {})", WTERMSIG(status),
                             strsignal(WTERMSIG(status)));
      else if (WIFEXITED(status))
        reason = fmt::format("worker crashed (exit status {})", WEXITSTATUS(status));
    }
  }
  stop();
  return reason;
}

measurer::read_status measurer::read_line(std::string& line, clock_type::time_point deadline) {
  for (;;) {
    auto newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return read_status::line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0)
      return read_status::timeout;
    pollfd pfd{from_worker_, POLLIN, 0};
    int n = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count() + 1, 60000)));
    if (n < 0 && errno != EINTR)
      return read_status::eof;
    if (n <= 0)
      continue;
    char chunk[4096];
    ssize_t got = ::read(from_worker_, chunk, sizeof(chunk));
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (got <= 0)
      return read_status::eof;
    buffer_.append(chunk, static_cast<size_t>(got));
  }
}

bool measurer::write_all(const std::string& text) {
  // A worker that died between requests must not kill the tuner with
  // SIGPIPE: block it on this thread and swallow a pending one.
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  bool ok = true;
  for (size_t done = 0; done < text.size();) {
    ssize_t n = ::write(to_worker_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (!ok) {
    timespec zero{0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  return ok;
}

measure_result measurer::measure(const tuning_task& task, const tuning_config& config,
                                 const measure_options& options) {
  measure_result result;
  result.config = config;
  auto finish = [&](std::string error) {
    result.error = std::move(error);
    if (result.device.empty())
      result.device = device_;
    result.timestamp = unix_millis();
    return result;
  };

  if (pid_ <= 0)
    if (auto error = start(); !error.empty())
      return finish(error);

  measure_request request{task, config, options.repeats, options.threads,
                          options.seed, options.check, options.fault};
  request.flush = options.flush;
  request.min_repeat_ms = options.min_repeat_ms;
  if (!write_all(request_to_json(request) + "\n"))
    return finish(crash_reason());

  auto deadline = clock_type::now() + options.compile_timeout;
  const char* stage = "compiling";
  auto timeout = options.compile_timeout;
  for (;;) {
    std::string line;
    auto status = read_line(line, deadline);
    if (status == read_status::timeout) {
      stop();
      return finish(fmt::format("timeout after {} s ({})", seconds_text(timeout), stage));
    }
    if (status == read_status::eof)
      return finish(crash_reason() + " while " + stage);
    json reply;
    try {
      reply = json::parse(line);
    } catch (const json::exception&) {
      stop();
      return finish("worker sent a malformed reply: " + line.substr(0, 200));
    }
    if (reply.contains("stage")) {
      stage = "running";
      timeout = options.run_timeout;
      deadline = clock_type::now() + options.run_timeout;
      continue;
    }
    try {
      result.device = reply.value("device", device_);
      result.max_error = reply.value("max_error", 0.0);
      if (!reply.value("ok", false))
        return finish(reply.value("error", std::string("worker gave no reason")));
      result.seconds = reply.value("seconds", 0.0);
      result.mean_seconds = reply.value("mean_seconds", 0.0);
      result.gflops = reply.value("gflops", 0.0);
    } catch (const json::exception& e) {
      return finish(std::string("worker sent a malformed reply: ") + e.what());
    }
    return finish({});
  }
}

} // namespace troupe::compiler
