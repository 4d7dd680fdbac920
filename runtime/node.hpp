// A Troupe node: one actor system with the CAF middleman, its node agent
// published on host:port, its metrics endpoint, its state store, and the
// services its configuration names. `troupe node` runs one per process.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

#include "messages/node_protocol.hpp"
#include "messages/store_protocol.hpp"
#include "runtime/node_config.hpp"
#include "runtime/service_registry.hpp"

namespace troupe {

class node_metrics;

/// Builds the CAF configuration every Troupe process uses: middleman loaded,
/// Troupe's message types registered, heartbeats and connection timeout on.
std::unique_ptr<caf::actor_system_config> make_actor_system_config(const node_config& cfg);

class node {
public:
  /// Starts a node: actor system, metrics, store, agent (published), services,
  /// then joins the seed (if any) and writes the ready file. Any failure is an
  /// error that names its cause; nothing is left running then.
  static caf::expected<std::unique_ptr<node>> start(node_config cfg,
                                                    const service_registry& services);

  ~node();

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  caf::actor_system& system() { return *system_; }
  const node_config& config() const { return config_; }
  const member_info& info() const { return info_; }
  node_agent_actor agent() const { return agent_; }
  const std::optional<state_store_actor>& store() const { return store_; }
  const std::shared_ptr<node_metrics>& metrics() const { return metrics_; }

  /// Registers `handle` under `name` in the cluster directory, owned by
  /// this node. Blocks up to the request timeout (not for hot paths).
  caf::error register_actor(const std::string& name, const caf::actor& handle);

private:
  node() = default;

  caf::error start_services(const service_registry& services);
  caf::error join_seed();

  node_config config_;
  member_info info_;
  std::unique_ptr<caf::actor_system_config> system_config_;
  std::unique_ptr<caf::actor_system> system_;
  std::shared_ptr<node_metrics> metrics_;
  node_agent_actor agent_;
  std::optional<state_store_actor> store_;
  std::vector<caf::actor> services_;
};

} // namespace troupe
