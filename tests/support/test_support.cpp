#include "tests/support/test_support.hpp"

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/node.hpp"

namespace troupe::test {

temp_dir::temp_dir() {
  char tmpl[] = "/tmp/troupe-test-XXXXXX";
  path_ = mkdtemp(tmpl) ? tmpl : "/tmp/troupe-test-fallback";
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

client_system::client_system() {
  cfg_ = make_actor_system_config(node_config{});
  sys_ = std::make_unique<caf::actor_system>(*cfg_);
}

client_system::~client_system() = default;

double wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    if (pred())
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
    if (std::chrono::steady_clock::now() - start >= timeout)
      return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

namespace {

int connect_to(const std::string& host, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

} // namespace

bool send_raw(const std::string& host, uint16_t port, const std::string& bytes) {
  int fd = connect_to(host, port);
  if (fd < 0)
    return false;
  auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  ::close(fd);
  return n >= 0;
}

std::string http_get(const std::string& host, uint16_t port, const std::string& path) {
  int fd = connect_to(host, port);
  if (fd < 0)
    return {};
  auto request = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  std::array<char, 4096> buf;
  for (ssize_t n; (n = ::recv(fd, buf.data(), buf.size(), 0)) > 0;)
    response.append(buf.data(), static_cast<size_t>(n));
  ::close(fd);
  return response;
}

command_result run_command(const std::string& command_line) {
  command_result result;
  auto pipe = ::popen((command_line + " 2>&1").c_str(), "r");
  if (!pipe)
    return result;
  std::array<char, 4096> buf;
  for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0;)
    result.output.append(buf.data(), n);
  auto status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

} // namespace troupe::test
