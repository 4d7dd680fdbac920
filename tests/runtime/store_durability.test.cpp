#define BOOST_TEST_MODULE store_durability
#include <boost/test/unit_test.hpp>

#include <csignal>

#include <caf/scoped_actor.hpp>

#include "messages/store_protocol.hpp"
#include "tests/support/cluster_fixture.hpp"

using namespace troupe;
using namespace std::chrono_literals;

BOOST_FIXTURE_TEST_SUITE(store_durability, test::cluster_fixture)

BOOST_AUTO_TEST_CASE(acknowledged_puts_survive_kill_9_of_the_node) {
  auto store_dir = dir.file("store-s");
  start("s", {"--store", store_dir});
  constexpr int keys = 200;
  {
    auto c = client_of("s");
    auto store = c.lookup_as<state_store_actor>("store@s");
    BOOST_REQUIRE_MESSAGE(store, test::why(store));
    caf::scoped_actor self{client.sys()};
    int acked = 0;
    for (int i = 0; i < keys; ++i)
      self->request(*store, 5s, caf::put_atom::value, "key/" + std::to_string(i),
                    "value-" + std::to_string(i * i))
        .receive([&](caf::ok_atom) { ++acked; }, [&](caf::error& e) { BOOST_FAIL(describe(e)); });
    BOOST_REQUIRE(acked == keys);
  }
  // No clean shutdown: the process dies right after the last acknowledgement.
  cluster.signal("s", SIGKILL);
  BOOST_REQUIRE(cluster.process("s").wait_for(5s));
  auto info = cluster.restart_node("s");
  BOOST_REQUIRE_MESSAGE(info, test::why(info));
  auto c = client_of("s");
  auto store = c.lookup_as<state_store_actor>("store@s");
  BOOST_REQUIRE(store);
  caf::scoped_actor self{client.sys()};
  store_entries entries;
  self->request(*store, 5s, scan_atom::value, std::string{"key/"}, uint32_t{1000})
    .receive([&](store_entries& xs) { entries = std::move(xs); },
             [&](caf::error& e) { BOOST_FAIL(describe(e)); });
  BOOST_TEST(entries.size() == static_cast<size_t>(keys));
  std::string v;
  self->request(*store, 5s, caf::get_atom::value, std::string{"key/199"})
    .receive([&](std::string& x) { v = x; }, [&](caf::error& e) { BOOST_FAIL(describe(e)); });
  BOOST_TEST(v == "value-39601");
}

BOOST_AUTO_TEST_CASE(a_second_node_on_a_locked_store_fails_with_a_clear_error) {
  auto store_dir = dir.file("store-locked");
  start("s1", {"--store", store_dir});
  auto rc = test::run_command(test::troupe_binary() + " node --name s2 --port 0 --store "
                              + store_dir + " --metrics-port -1");
  BOOST_TEST(rc.status == 1);
  BOOST_TEST(rc.output.find("cannot open store '" + store_dir + "'") != std::string::npos,
             rc.output);
}

BOOST_AUTO_TEST_SUITE_END()
