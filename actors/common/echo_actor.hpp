// The echo service (protocol: messages/echo_protocol.hpp).
#pragma once

#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "messages/echo_protocol.hpp"

namespace troupe {

class node_metrics;

/// Spawns an echo actor that names `node_name` in its answers.
echo_actor spawn_echo(caf::actor_system& sys, std::string node_name,
                      std::shared_ptr<node_metrics> metrics = nullptr);

} // namespace troupe
