// Plain data that the cluster runtime exchanges: who is a member, and which
// actor is registered under which name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

namespace troupe {

/// One node of the cluster. `incarnation` tells a restarted node (same name,
/// same address) from the process it replaces.
struct member_info {
  std::string name;
  std::string host;
  uint16_t port = 0;
  uint64_t incarnation = 0;
  int32_t pid = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_info& x) {
  return f(caf::meta::type_name("troupe::member_info"), x.name, x.host, x.port,
           x.incarnation, x.pid);
}

inline bool operator==(const member_info& a, const member_info& b) {
  return a.name == b.name && a.host == b.host && a.port == b.port
         && a.incarnation == b.incarnation && a.pid == b.pid;
}

/// "name@host:port", for logs and errors.
std::string to_string(const member_info& x);

/// A name in the cluster-wide directory: the actor, and the node that owns
/// the registration (the name disappears when that node goes down).
struct directory_entry {
  std::string name;
  caf::actor handle;
  std::string node;
  std::string node_host;
  uint16_t node_port = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, directory_entry& x) {
  return f(caf::meta::type_name("troupe::directory_entry"), x.name, x.handle,
           x.node, x.node_host, x.node_port);
}

using member_list = std::vector<member_info>;
using directory_list = std::vector<directory_entry>;

} // namespace troupe
