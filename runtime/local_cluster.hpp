// A cluster of `troupe node` processes on loopback, for the demo, tests and
// benchmarks. Nodes pick free ports themselves and report them through ready
// files, so concurrent clusters never race for ports. Every process is
// stopped (and killed if need be) when the cluster object dies.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/child_process.hpp"
#include "runtime/ready_file.hpp"

namespace troupe {

class local_cluster {
public:
  /// `troupe_binary` runs the nodes; their logs and ready files go to
  /// `work_dir` (created if missing).
  local_cluster(std::string troupe_binary, std::string work_dir);
  ~local_cluster();

  local_cluster(const local_cluster&) = delete;
  local_cluster& operator=(const local_cluster&) = delete;

  /// Starts node `name` with `extra_args` (troupe node options); the first
  /// node started is the seed of the others. Waits until it serves.
  caf::expected<ready_info> start_node(const std::string& name,
                                       std::vector<std::string> extra_args = {},
                                       std::chrono::milliseconds timeout
                                       = std::chrono::seconds{20});

  /// Starts `name` again with the arguments of its last start.
  caf::expected<ready_info> restart_node(const std::string& name,
                                         std::chrono::milliseconds timeout
                                         = std::chrono::seconds{20});

  /// Sends a signal to a node's process (SIGKILL, SIGSTOP, SIGCONT, ...).
  void signal(const std::string& name, int signo);

  /// Stops a node politely (SIGTERM, then SIGKILL).
  void stop_node(const std::string& name);

  /// host:port of the seed (the first node started).
  std::string seed_address() const;

  /// host:port of node `name`.
  std::string address_of(const std::string& name) const;

  const ready_info& info(const std::string& name) const { return nodes_.at(name).info; }
  child_process& process(const std::string& name) { return nodes_.at(name).process; }
  std::string log_path(const std::string& name) const;

  /// The last `lines` lines of a node's log, for error messages.
  std::string log_tail(const std::string& name, size_t lines = 20) const;

private:
  struct node_entry {
    std::vector<std::string> args;
    child_process process;
    ready_info info;
  };

  caf::expected<ready_info> launch(const std::string& name,
                                   std::vector<std::string> extra_args, uint16_t port,
                                   std::chrono::milliseconds timeout);

  std::string binary_;
  std::string dir_;
  std::string seed_name_;
  std::map<std::string, node_entry> nodes_;
};

} // namespace troupe
