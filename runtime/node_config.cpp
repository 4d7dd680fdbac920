#include "runtime/node_config.hpp"

#include <fstream>
#include <functional>
#include <limits>

#include <unistd.h>

#include <toml++/toml.h>

#include "messages/errors.hpp"

namespace troupe {

namespace {

// Applies one TOML value to the config; returns a reason on failure.
using apply_fn = std::function<std::string(const toml::node&, node_config&)>;

struct key_spec {
  std::string key;
  std::string type;
  std::string help;
  apply_fn apply;
};

key_spec string_key(std::string key, std::string help,
                    std::string node_config::*member) {
  return {std::move(key), "string", std::move(help),
          [member](const toml::node& v, node_config& cfg) -> std::string {
            auto s = v.value<std::string>();
            if (!v.is_string() || !s)
              return "expected a string";
            cfg.*member = *s;
            return {};
          }};
}

key_spec bool_key(std::string key, std::string help, bool node_config::*member) {
  return {std::move(key), "bool", std::move(help),
          [member](const toml::node& v, node_config& cfg) -> std::string {
            if (!v.is_boolean())
              return "expected true or false";
            cfg.*member = *v.value<bool>();
            return {};
          }};
}

template <class T>
key_spec int_key(std::string key, std::string help, T node_config::*member,
                 int64_t min, int64_t max) {
  auto type = "integer in " + std::to_string(min) + ".." + std::to_string(max);
  return {std::move(key), type, std::move(help),
          [=](const toml::node& v, node_config& cfg) -> std::string {
            if (!v.is_integer())
              return "expected an " + type;
            auto x = *v.value<int64_t>();
            if (x < min || x > max)
              return "expected an " + type + ", got " + std::to_string(x);
            cfg.*member = static_cast<T>(x);
            return {};
          }};
}

key_spec ms_key(std::string key, std::string help,
                std::chrono::milliseconds node_config::*member, int64_t min,
                int64_t max) {
  auto type = "milliseconds in " + std::to_string(min) + ".." + std::to_string(max);
  return {std::move(key), type, std::move(help),
          [=](const toml::node& v, node_config& cfg) -> std::string {
            if (!v.is_integer())
              return "expected an integer number of " + type;
            auto x = *v.value<int64_t>();
            if (x < min || x > max)
              return "expected " + type + ", got " + std::to_string(x);
            cfg.*member = std::chrono::milliseconds{x};
            return {};
          }};
}

key_spec string_list_key(std::string key, std::string help,
                         std::vector<std::string> node_config::*member) {
  return {std::move(key), "list of strings", std::move(help),
          [member](const toml::node& v, node_config& cfg) -> std::string {
            auto arr = v.as_array();
            if (!arr)
              return "expected a list of strings";
            std::vector<std::string> result;
            for (auto& item : *arr) {
              auto s = item.value<std::string>();
              if (!item.is_string() || !s)
                return "expected a list of strings";
              result.push_back(*s);
            }
            cfg.*member = std::move(result);
            return {};
          }};
}

const std::vector<key_spec>& key_specs() {
  static const std::vector<key_spec> specs = {
    string_key("node.name", "unique name of this node in the cluster (default: host-pid)",
               &node_config::name),
    string_key("node.host", "address to listen on and advertise to peers",
               &node_config::host),
    int_key("node.port", "port of the node's actor endpoint; 0 picks a free one",
            &node_config::port, 0, 65535),
    string_key("node.seed", "host:port of any member to join; empty starts a new cluster",
               &node_config::seed),
    string_list_key("node.services",
                    "built-in actors to start and register, as kind or kind=name "
                    "(kinds in troupe: echo, model_host, tuning_measurer)",
                    &node_config::services),
    string_key("node.ready_file", "file to write (JSON: name, host, port, pid, "
                                  "metrics_port) once the node serves",
               &node_config::ready_file),
    ms_key("cluster.heartbeat_interval_ms", "interval of heartbeats to each peer",
           &node_config::heartbeat_interval, 10, 60000),
    ms_key("cluster.connection_timeout_ms",
           "silence after which a peer is declared down (frozen or unreachable)",
           &node_config::connection_timeout, 50, 600000),
    ms_key("cluster.join_timeout_ms", "how long to keep trying to join through the seed",
           &node_config::join_timeout, 100, 3600000),
    ms_key("cluster.request_timeout_ms", "timeout of requests between nodes",
           &node_config::request_timeout, 10, 3600000),
    ms_key("cluster.gossip_interval_ms", "interval of membership gossip and rejoin checks",
           &node_config::gossip_interval, 10, 600000),
    string_key("store.path", "RocksDB directory of the state store; empty: no store",
               &node_config::store_path),
    bool_key("store.sync", "fsync every write (survives power loss, not only kill -9)",
             &node_config::store_sync),
    int_key("store.max_value_bytes", "largest value a put accepts",
            &node_config::store_max_value_bytes, 1, int64_t{1} << 31),
    int_key("metrics.port", "port of the Prometheus text endpoint; -1 off, 0 any free port",
            &node_config::metrics_port, -1, 65535),
    string_key("log.level", "one of trace, debug, info, warn, error, off",
               &node_config::log_level),
    int_key("scheduler.threads", "worker threads of the actor scheduler; 0: one per core",
            &node_config::scheduler_threads, 0, 1024),
    int_key("scheduler.poll_attempts",
            "50-us sleeps an idle worker polls before it blocks (woken at once by new work)",
            &node_config::scheduler_poll_attempts, 0, 1000000),
  };
  return specs;
}

const key_spec* find_key(const std::string& key) {
  for (auto& spec : key_specs())
    if (spec.key == key)
      return &spec;
  return nullptr;
}

caf::error config_error(const std::string& where, const std::string& what) {
  return make_error(errc::invalid_config, where + ": " + what);
}

caf::error apply_key(const std::string& where, const std::string& key,
                     const toml::node& value, node_config& cfg) {
  auto spec = find_key(key);
  if (!spec)
    return config_error(where, "unknown key '" + key
                                 + "' (troupe node --help-config lists the keys)");
  auto reason = spec->apply(value, cfg);
  if (!reason.empty())
    return config_error(where, "bad value for '" + key + "': " + reason);
  return caf::none;
}

caf::error apply_file(const std::string& path, node_config& cfg) {
  std::ifstream probe{path};
  if (!probe)
    return make_error(errc::not_found, "config file '" + path + "' cannot be read");
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    auto& pos = e.source().begin;
    return config_error(path + ":" + std::to_string(pos.line) + ":"
                          + std::to_string(pos.column),
                        std::string{"not valid TOML: "} + std::string{e.description()});
  }
  for (auto& [section, node] : doc) {
    auto table = node.as_table();
    if (!table)
      return config_error(path, "unknown key '" + std::string{section.str()}
                                  + "' (keys live in sections such as [node])");
    for (auto& [key, value] : *table) {
      auto full = std::string{section.str()} + "." + std::string{key.str()};
      if (auto err = apply_key(path, full, value, cfg))
        return err;
    }
  }
  return caf::none;
}

caf::error apply_override(const std::string& text, node_config& cfg) {
  auto where = "option '" + text + "'";
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    return config_error(where, "expected section.key=value");
  auto key = text.substr(0, eq);
  auto raw = text.substr(eq + 1);
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + raw);
  } catch (const toml::parse_error&) {
    // Not a TOML literal: take it as a bare string (e.g. node.host=localhost).
    parsed = toml::table{{"v", raw}};
  }
  return apply_key(where, key, *parsed.get("v"), cfg);
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64)
    return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  return true;
}

caf::error check_consistency(node_config& cfg) {
  if (cfg.name.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    cfg.name = std::string{host} + "-" + std::to_string(getpid());
  }
  if (!valid_name(cfg.name))
    return config_error("node.name", "'" + cfg.name
                                       + "' is not a valid node name (1-64 of "
                                         "letters, digits, '-', '_', '.')");
  static const char* levels[] = {"trace", "debug", "info", "warn", "error", "off"};
  if (std::find(std::begin(levels), std::end(levels), cfg.log_level) == std::end(levels))
    return config_error("log.level", "unknown level '" + cfg.log_level
                                       + "' (one of trace, debug, info, warn, error, off)");
  if (!cfg.seed.empty())
    if (auto hp = parse_host_port(cfg.seed, "node.seed"); !hp)
      return hp.error();
  if (cfg.connection_timeout <= cfg.heartbeat_interval)
    return config_error("cluster.connection_timeout_ms",
                        "must exceed cluster.heartbeat_interval_ms, else every "
                        "peer is declared down between two heartbeats");
  return caf::none;
}

} // namespace

std::vector<config_key_doc> node_config_keys() {
  std::vector<config_key_doc> result;
  for (auto& spec : key_specs())
    result.push_back({spec.key, spec.type, spec.help});
  return result;
}

caf::expected<node_config> load_node_config(const std::string& path,
                                            const std::vector<std::string>& overrides) {
  node_config cfg;
  if (!path.empty())
    if (auto err = apply_file(path, cfg))
      return err;
  for (auto& text : overrides)
    if (auto err = apply_override(text, cfg))
      return err;
  if (auto err = check_consistency(cfg))
    return err;
  return cfg;
}

caf::expected<std::pair<std::string, uint16_t>>
parse_host_port(const std::string& text, const std::string& what) {
  auto colon = text.rfind(':');
  auto bad = [&] {
    return config_error(what, "'" + text + "' is not host:port");
  };
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return bad();
  auto port_text = text.substr(colon + 1);
  if (port_text.size() > 5
      || port_text.find_first_not_of("0123456789") != std::string::npos)
    return bad();
  auto port = std::stoi(port_text);
  if (port < 1 || port > 65535)
    return config_error(what, "port " + port_text + " is outside 1..65535");
  return std::make_pair(text.substr(0, colon), static_cast<uint16_t>(port));
}

} // namespace troupe
