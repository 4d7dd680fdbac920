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

BOOST_AUTO_TEST_CASE(a_node_with_a_store_stops_cleanly_and_promptly_on_sigterm) {
  start("s3", {"--store", dir.file("store-s3")});
  auto t0 = std::chrono::steady_clock::now();
  cluster.signal("s3", SIGTERM);
  auto status = cluster.process("s3").wait_for(5s);
  BOOST_REQUIRE(status);
  BOOST_TEST(*status == 0);  // not killed: a clean exit
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 3s));
}

BOOST_AUTO_TEST_CASE(a_node_stops_in_bounded_time_after_a_client_listed_its_store) {
  start("s4", {"--store", dir.file("store-s4")});
  // A directory listing sends the store's handle to the client process,
  // which then vanishes without releasing it (CAF 0.17 keeps it registered).
  auto listing = test::run_command(test::troupe_binary() + " cluster --seed "
                                   + cluster.address_of("s4"));
  BOOST_REQUIRE(listing.status == 0);
  auto t0 = std::chrono::steady_clock::now();
  cluster.signal("s4", SIGTERM);
  auto status = cluster.process("s4").wait_for(8s);
  BOOST_REQUIRE(status);
  BOOST_TEST(*status == 0);
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 7s));
}

BOOST_AUTO_TEST_SUITE_END()
