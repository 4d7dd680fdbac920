// A client of a cluster that is not a member: command-line tools, demos and
// tests use it to read the membership and to find actors by name. Calls
// block (with timeouts), so keep it off actors' hot paths.
#pragma once

#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "messages/cluster_types.hpp"
#include "messages/node_protocol.hpp"

namespace troupe {

class cluster_client {
public:
  /// Connects to the member at `address` (host:port).
  static caf::expected<cluster_client> connect(caf::actor_system& sys,
                                               const std::string& address,
                                               caf::timespan timeout);

  /// The live members, as the contacted member sees them.
  caf::expected<member_list> members();

  /// Every registered name.
  caf::expected<directory_list> directory();

  /// Finds `name` and returns a handle on a direct connection to the node
  /// that owns it (not relayed through the contacted member).
  caf::expected<directory_entry> lookup(const std::string& name);

  /// lookup(), cast to a typed handle.
  template <class Handle>
  caf::expected<Handle> lookup_as(const std::string& name) {
    auto entry = lookup(name);
    if (!entry)
      return entry.error();
    return caf::actor_cast<Handle>(entry->handle);
  }

  node_agent_actor agent() const { return agent_; }

private:
  cluster_client(caf::actor_system& sys, node_agent_actor agent, caf::timespan timeout)
    : sys_(&sys), agent_(std::move(agent)), timeout_(timeout) {
    // nop
  }

  template <class Result, class... Ts>
  caf::expected<Result> ask(const node_agent_actor& agent, Ts&&... xs);

  caf::actor_system* sys_;
  node_agent_actor agent_;
  caf::timespan timeout_;
};

} // namespace troupe
