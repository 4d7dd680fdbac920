// The node agent: one per node. It keeps the cluster's live membership and
// the named-actor directory, and answers clients that are not members.
//
// Membership protocol (every member runs the same code):
//
//   joiner J                 any member S                  other members M
//     | -- join(J) ----------> |                                 |
//     | <-- members ---------- | -- member_up(J) --------------> |
//     | -- hello(J, names) -> members M with J < M   (the smaller name dials)
//     | <- hello(M, names) --- members M with M < J, on member_up(J)
//
// Every member monitors every other member's agent; CAF's heartbeats and
// connection timeout turn a dead or frozen peer into a DOWN message, upon
// which the peer and all names it owned are dropped. Gossip (one random peer
// per tick) heals joins that raced through different members; a member
// whose seed is gone rejoins through it when it comes back.
#pragma once

#include <cstdint>
#include <string>

#include <caf/typed_actor.hpp>
#include <caf/replies_to.hpp>

#include "messages/atoms.hpp"
#include "messages/cluster_types.hpp"

namespace troupe {

using node_agent_actor = caf::typed_actor<
  // -- membership -------------------------------------------------------------
  /// A node asks to join; the answer is every live member, the callee first.
  caf::replies_to<caf::join_atom, member_info>::with<member_list>,
  /// A member announces a newcomer to the others.
  caf::reacts_to<member_up_atom, member_info>,
  /// First words on a new direct connection: who I am and my names.
  caf::reacts_to<hello_atom, member_info, directory_list>,
  /// Anti-entropy: the sender's view of the membership.
  caf::reacts_to<gossip_atom, member_list>,
  /// The live members, this node included.
  caf::replies_to<caf::get_atom, members_atom>::with<member_list>,
  /// Makes this node join the cluster through the member at host:port.
  caf::replies_to<join_cluster_atom, std::string, uint16_t>::with<caf::ok_atom>,
  /// Periodic housekeeping (gossip, rejoin, metrics); sent to itself.
  caf::reacts_to<caf::tick_atom>,
  // -- named-actor directory ------------------------------------------------------
  /// Registers an actor under a cluster-wide name owned by this node.
  caf::replies_to<register_atom, std::string, caf::actor>::with<caf::ok_atom>,
  /// Removes a name this node owns.
  caf::replies_to<unregister_atom, std::string>::with<caf::ok_atom>,
  /// Finds a name anywhere in the cluster; not_found if nobody has it.
  caf::replies_to<lookup_atom, std::string>::with<directory_entry>,
  /// Every name known to this node.
  caf::replies_to<caf::get_atom, directory_atom>::with<directory_list>,
  /// A member's complete list of names (sent on every change), with its info.
  caf::reacts_to<names_atom, member_info, directory_list>>;

} // namespace troupe
