// The node agent actor (protocol and state machine: messages/node_protocol.hpp).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <caf/actor_system.hpp>

#include "messages/node_protocol.hpp"

namespace troupe {

class node_metrics;

struct node_agent_options {
  member_info self;
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds gossip_interval{1000};
  /// How long join_cluster keeps trying before it answers an error.
  std::chrono::milliseconds join_timeout{10000};
  /// How often the agent does its housekeeping (join retries, gossip, gauges).
  std::chrono::milliseconds tick_interval{250};
};

/// Spawns the agent of this node. It starts alone; join_cluster makes it a
/// member of an existing cluster.
node_agent_actor spawn_node_agent(caf::actor_system& sys, node_agent_options options,
                                  std::shared_ptr<node_metrics> metrics);

/// True if `name` may be registered in the directory: 1-256 printable
/// characters without spaces.
bool valid_actor_name(const std::string& name);

} // namespace troupe
