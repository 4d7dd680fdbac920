// A node's configuration: a TOML file (config/node.toml documents every key)
// plus command-line overrides. Validation is strict: an unknown key, a value
// of the wrong type or out of range, or a missing file is an error that names
// the key or file, never a silent default.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace troupe {

struct node_config {
  // [node]
  std::string name;            ///< unique in the cluster; default host-pid
  std::string host = "127.0.0.1";  ///< address to listen on and advertise
  uint16_t port = 0;           ///< 0 picks a free port
  std::string seed;            ///< host:port of any member; empty starts a cluster
  std::vector<std::string> services;  ///< built-in actors to start: kind[=name]
  std::string ready_file;      ///< written (JSON) once the node serves

  // [cluster]
  std::chrono::milliseconds heartbeat_interval{250};
  std::chrono::milliseconds connection_timeout{1500};
  std::chrono::milliseconds join_timeout{10000};
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds gossip_interval{1000};

  // [store]
  std::string store_path;      ///< RocksDB directory; empty: no store
  bool store_sync = true;      ///< fsync each write (survives power loss)
  uint64_t store_max_value_bytes = uint64_t{64} << 20;

  // [metrics]
  int32_t metrics_port = -1;   ///< Prometheus endpoint; -1 off, 0 any free port

  // [log]
  std::string log_level = "info";

  // [scheduler]
  uint32_t scheduler_threads = 0;  ///< 0: one per core
  /// Polls of 50 us sleeps an idle worker makes before it blocks; while
  /// blocked it is woken at once by new work, so fewer polls mean lower
  /// latency and less idle CPU. CAF's default is 500; 0 cut the round trip
  /// between two nodes from ~215 us to ~80 us here (benchmarks/README.md).
  uint32_t scheduler_poll_attempts = 0;
};

/// One documented configuration key, for `troupe node --help-config`.
struct config_key_doc {
  std::string key;
  std::string type;
  std::string help;
};

/// Every key a node configuration file may contain.
std::vector<config_key_doc> node_config_keys();

/// Reads `path` (if not empty) and then applies `overrides`, each
/// "section.key=value" with a TOML value (bare words are taken as strings).
/// Errors are invalid_config or not_found, naming the file and key.
caf::expected<node_config> load_node_config(const std::string& path,
                                            const std::vector<std::string>& overrides = {});

/// Splits "host:port"; invalid_config naming `what` on a bad form.
caf::expected<std::pair<std::string, uint16_t>>
parse_host_port(const std::string& text, const std::string& what);

} // namespace troupe
