// A local cluster of troupe node processes plus a client actor system, for
// the multi-process suites. Every process is killed when the fixture dies.
#pragma once

#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "messages/errors.hpp"
#include "runtime/cluster_client.hpp"
#include "runtime/local_cluster.hpp"
#include "tests/support/test_support.hpp"

namespace troupe::test {

struct cluster_fixture {
  temp_dir dir;
  local_cluster cluster{troupe_binary(), dir.path()};
  client_system client;

  /// Starts `name`, failing the test with the node's log if it cannot.
  ready_info start(const std::string& name, std::vector<std::string> args = {}) {
    auto info = cluster.start_node(name, std::move(args));
    BOOST_REQUIRE_MESSAGE(info, "starting " << name << ": " << why(info));
    return *info;
  }

  /// A client of the member `name`.
  cluster_client client_of(const std::string& name) {
    auto c = cluster_client::connect(client.sys(), cluster.address_of(name),
                                     std::chrono::seconds{3});
    BOOST_REQUIRE_MESSAGE(c, "connecting to " << name << ": " << why(c));
    return std::move(*c);
  }

  /// The sorted member names that `name` sees, or {"<error>"}.
  std::vector<std::string> members_seen_by(cluster_client& c) {
    auto members = c.members();
    if (!members)
      return {"<error>"};
    std::vector<std::string> names;
    for (auto& m : *members)
      names.push_back(m.name);
    std::sort(names.begin(), names.end());
    return names;
  }

  /// Waits until `c` sees exactly `expected` (sorted); elapsed ms or -1.
  double wait_for_members(cluster_client& c, std::vector<std::string> expected,
                          std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    std::sort(expected.begin(), expected.end());
    return wait_until([&] { return members_seen_by(c) == expected; }, timeout);
  }
};

} // namespace troupe::test
