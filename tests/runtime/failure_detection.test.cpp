#define BOOST_TEST_MODULE failure_detection
#include <boost/test/unit_test.hpp>

#include <csignal>

#include "tests/support/cluster_fixture.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

// The bound the runtime promises for noticing a dead or frozen peer.
constexpr auto detection_bound = 3000ms;

struct three_nodes : test::cluster_fixture {
  three_nodes() {
    start("a");
    start("b");
    start("c", {"--service", "echo=echo-c"});
    auto ca = client_of("a");
    BOOST_REQUIRE(wait_for_members(ca, {"a", "b", "c"}) >= 0);
    auto cb = client_of("b");
    BOOST_REQUIRE(wait_for_members(cb, {"a", "b", "c"}) >= 0);
  }

  // Time until both a and b see only {a, b}, measured from `since`.
  double both_drop_c(std::chrono::steady_clock::time_point since) {
    auto ca = client_of("a");
    auto cb = client_of("b");
    auto ok = wait_until_both([&] { return members_seen_by(ca) == std::vector<std::string>{"a", "b"}; },
                              [&] { return members_seen_by(cb) == std::vector<std::string>{"a", "b"}; });
    if (!ok)
      return -1;
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
      .count();
  }

  template <class P1, class P2>
  bool wait_until_both(P1 p1, P2 p2) {
    return test::wait_until([&] { return p1() && p2(); }, 10s) >= 0;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(failure_detection, three_nodes)

BOOST_AUTO_TEST_CASE(a_killed_node_is_reported_down_within_the_bound_and_its_names_vanish) {
  auto ca = client_of("a");
  BOOST_REQUIRE(test::wait_until([&] { return static_cast<bool>(ca.lookup("echo-c")); }, 5s) >= 0);
  auto t0 = std::chrono::steady_clock::now();
  cluster.signal("c", SIGKILL);
  auto ms = both_drop_c(t0);
  BOOST_TEST_MESSAGE("kill -9 noticed by a and b after " << ms << " ms");
  BOOST_TEST(ms >= 0);
  BOOST_TEST(ms < detection_bound.count());
  auto entry = ca.lookup("echo-c");
  BOOST_TEST(!entry);
}

BOOST_AUTO_TEST_CASE(a_frozen_node_is_reported_down_within_the_bound_and_rejoins_when_thawed) {
  auto t0 = std::chrono::steady_clock::now();
  cluster.signal("c", SIGSTOP);
  auto ms = both_drop_c(t0);
  BOOST_TEST_MESSAGE("SIGSTOP noticed by a and b after " << ms << " ms");
  BOOST_TEST(ms >= 0);
  BOOST_TEST(ms < detection_bound.count());
  cluster.signal("c", SIGCONT);
  auto ca = client_of("a");
  auto back = wait_for_members(ca, {"a", "b", "c"}, 15s);
  BOOST_TEST_MESSAGE("thawed node rejoined after " << back << " ms");
  BOOST_TEST(back >= 0);
  auto cb = client_of("b");
  BOOST_TEST(wait_for_members(cb, {"a", "b", "c"}, 10s) >= 0);
  BOOST_TEST(test::wait_until([&] { return static_cast<bool>(cb.lookup("echo-c")); }, 5s) >= 0);
}

BOOST_AUTO_TEST_CASE(a_restarted_node_rejoins_with_its_services) {
  cluster.signal("c", SIGKILL);
  BOOST_REQUIRE(both_drop_c(std::chrono::steady_clock::now()) >= 0);
  auto old_pid = cluster.info("c").pid;
  auto info = cluster.restart_node("c");
  BOOST_REQUIRE_MESSAGE(info, test::why(info));
  BOOST_TEST(info->pid != old_pid);
  for (auto name : {"a", "b", "c"}) {
    auto cl = client_of(name);
    BOOST_TEST(wait_for_members(cl, {"a", "b", "c"}) >= 0, "as seen by " << name);
  }
  auto ca = client_of("a");
  BOOST_TEST(test::wait_until([&] { return static_cast<bool>(ca.lookup("echo-c")); }, 5s) >= 0);
  auto members = ca.members();
  BOOST_REQUIRE(members);
  for (auto& m : *members)
    if (m.name == "c")
      BOOST_TEST(m.pid == info->pid);
}

BOOST_AUTO_TEST_CASE(a_restarted_seed_is_rejoined_by_the_others) {
  cluster.signal("a", SIGKILL);
  auto cb = client_of("b");
  BOOST_REQUIRE(wait_for_members(cb, {"b", "c"}) >= 0);
  auto info = cluster.restart_node("a");
  BOOST_REQUIRE_MESSAGE(info, test::why(info));
  auto ca = client_of("a");
  auto ms = wait_for_members(ca, {"a", "b", "c"}, 15s);
  BOOST_TEST_MESSAGE("members rejoined the restarted seed after " << ms << " ms");
  BOOST_TEST(ms >= 0);
  BOOST_TEST(wait_for_members(cb, {"a", "b", "c"}) >= 0);
}

BOOST_AUTO_TEST_SUITE_END()
