// Helpers shared by Troupe's test suites: temporary directories, a client
// actor system, polling with a deadline, raw loopback sockets.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

#include "messages/errors.hpp"

namespace troupe::test {

/// The troupe binary built with the tests.
inline std::string troupe_binary() { return TROUPE_BINARY; }

/// How often `needle` occurs in `haystack` (a process's output).
inline size_t count_of(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

/// The error of `x` described, or "" if it holds a value: safe to use in
/// assertion messages, which are evaluated whether or not they fail.
template <class T>
std::string why(const caf::expected<T>& x) {
  return x ? std::string{} : describe(x.error());
}

/// A fresh directory under /tmp, removed with everything in it on scope exit.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

/// An actor system configured like a Troupe node's (types, heartbeats), for
/// clients inside a test process.
class client_system {
public:
  client_system();
  ~client_system();
  caf::actor_system& sys() { return *sys_; }

private:
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
};

/// Polls `pred` every 10 ms until it holds or `timeout` passes; returns the
/// elapsed milliseconds, or -1 on timeout.
double wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

/// Sends raw bytes to host:port and closes; false if no connection.
bool send_raw(const std::string& host, uint16_t port, const std::string& bytes);

/// A plain HTTP/1.0 GET; the whole response (headers and body) or "".
std::string http_get(const std::string& host, uint16_t port, const std::string& path);

/// Runs a command line through the shell; its exit status and combined output.
struct command_result {
  int status = -1;
  std::string output;
};
command_result run_command(const std::string& command_line);

} // namespace troupe::test
