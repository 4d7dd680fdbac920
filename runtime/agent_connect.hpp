// Reaching the node agent published at host:port, without blocking a
// scheduler thread: the CAF middleman connects asynchronously, and the typed
// interface the remote side announces is checked against ours (a peer of
// another Troupe or CAF version is refused with a clear error).
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/io/middleman.hpp>

#include "messages/errors.hpp"
#include "messages/node_protocol.hpp"

namespace troupe {

/// Turns what the middleman's connect answered into a typed agent handle.
caf::expected<node_agent_actor>
as_node_agent(caf::actor_system& sys, caf::strong_actor_ptr ptr,
              const std::set<std::string>& interface, const std::string& host,
              uint16_t port);

/// The error for a node that cannot be reached, naming it and the cause.
caf::error unreachable(const std::string& host, uint16_t port, const caf::error& cause);

/// Connects asynchronously; `on_result(caf::expected<node_agent_actor>)` runs
/// in `self`'s context, at the latest after `timeout`.
template <class Self, class OnResult>
void connect_node_agent(Self self, const std::string& host, uint16_t port,
                        caf::timespan timeout, OnResult on_result) {
  auto mm = self->system().middleman().actor_handle();
  self->request(mm, timeout, caf::connect_atom::value, host, port)
    .then(
      [self, host, port, on_result](const caf::node_id&, caf::strong_actor_ptr& ptr,
                                    const std::set<std::string>& interface) mutable {
        on_result(as_node_agent(self->system(), std::move(ptr), interface, host, port));
      },
      [host, port, on_result](caf::error& err) mutable {
        on_result(caf::expected<node_agent_actor>{unreachable(host, port, err)});
      });
}

/// Blocking variant for command-line clients and tests (never on a hot path).
caf::expected<node_agent_actor> connect_node_agent(caf::actor_system& sys,
                                                   const std::string& host,
                                                   uint16_t port, caf::timespan timeout);

} // namespace troupe
