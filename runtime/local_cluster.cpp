#include "runtime/local_cluster.hpp"

#include <deque>
#include <filesystem>
#include <fstream>
#include <thread>

#include <csignal>

#include <unistd.h>

#include "messages/errors.hpp"

namespace troupe {

local_cluster::local_cluster(std::string troupe_binary, std::string work_dir)
  : binary_(std::move(troupe_binary)), dir_(std::move(work_dir)) {
  std::filesystem::create_directories(dir_);
}

local_cluster::~local_cluster() {
  // SIGTERM everyone first, then wait for each: shutdowns overlap.
  for (auto& [_, n] : nodes_) {
    n.process.signal(SIGCONT);
    n.process.signal(SIGTERM);
  }
  for (auto& [_, n] : nodes_)
    n.process.stop(std::chrono::seconds{3});
}

std::string local_cluster::log_path(const std::string& name) const {
  return dir_ + "/" + name + ".log";
}

std::string local_cluster::log_tail(const std::string& name, size_t lines) const {
  std::ifstream in{log_path(name)};
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(line);
    if (tail.size() > lines)
      tail.pop_front();
  }
  std::string result;
  for (auto& line : tail)
    result += line + "\n";
  return result;
}

std::string local_cluster::address_of(const std::string& name) const {
  auto& info = nodes_.at(name).info;
  return info.host + ":" + std::to_string(info.port);
}

caf::expected<ready_info> local_cluster::start_node(const std::string& name,
                                                    std::vector<std::string> extra_args,
                                                    std::chrono::milliseconds timeout) {
  return launch(name, std::move(extra_args), 0, timeout);
}

caf::expected<ready_info> local_cluster::launch(const std::string& name,
                                                std::vector<std::string> extra_args,
                                                uint16_t port,
                                                std::chrono::milliseconds timeout) {
  // A node just sent SIGKILL may not have been reaped yet: give it a moment.
  if (auto i = nodes_.find(name);
      i != nodes_.end() && !i->second.process.wait_for(std::chrono::seconds{3}))
    return make_error(errc::already_exists, "node '" + name + "' is already running");
  if (seed_name_.empty())
    seed_name_ = name;
  auto ready_path = dir_ + "/" + name + ".ready";
  std::vector<std::string> args{binary_, "node", "--name", name, "--host", "127.0.0.1",
                                "--port", std::to_string(port), "--ready-file", ready_path,
                                "--metrics-port", "-1", "--parent-pid",
                                std::to_string(getpid())};
  if (name != seed_name_)
    args.insert(args.end(), {"--seed", seed_address()});
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::error_code ec;
  std::filesystem::remove(ready_path, ec);
  auto process = child_process::spawn(args, log_path(name));
  if (!process)
    return process.error();
  auto& entry = nodes_[name];
  entry.args = std::move(extra_args);
  entry.process = std::move(*process);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto info = read_ready_file(ready_path)) {
      entry.info = *info;
      return *info;
    }
    if (!entry.process.running())
      return make_error(errc::unavailable, "node '" + name + "' exited before serving:\n"
                                             + log_tail(name));
    if (std::chrono::steady_clock::now() >= deadline)
      return make_error(errc::timeout, "node '" + name + "' did not serve within "
                                         + std::to_string(timeout.count()) + " ms:\n"
                                         + log_tail(name));
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

caf::expected<ready_info> local_cluster::restart_node(const std::string& name,
                                                      std::chrono::milliseconds timeout) {
  auto i = nodes_.find(name);
  if (i == nodes_.end())
    return make_error(errc::not_found, "no node '" + name + "' was started");
  // Same port as before: the others may know this node as their seed.
  return launch(name, i->second.args, i->second.info.port, timeout);
}

std::string local_cluster::seed_address() const {
  auto i = nodes_.find(seed_name_);
  return i == nodes_.end() ? std::string{} : address_of(seed_name_);
}

void local_cluster::signal(const std::string& name, int signo) {
  nodes_.at(name).process.signal(signo);
}

void local_cluster::stop_node(const std::string& name) {
  nodes_.at(name).process.stop();
}

} // namespace troupe
