#define BOOST_TEST_MODULE cluster
#include <boost/test/unit_test.hpp>

#include <caf/scoped_actor.hpp>

#include "messages/echo_protocol.hpp"
#include "tests/support/cluster_fixture.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct three_nodes : test::cluster_fixture {
  three_nodes() {
    start("a");
    start("b", {"--service", "echo"});
    start("c", {"--service", "echo=echo-c"});
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(cluster, three_nodes)

BOOST_AUTO_TEST_CASE(every_member_of_three_sees_all_three) {
  for (auto name : {"a", "b", "c"}) {
    auto c = client_of(name);
    BOOST_TEST(wait_for_members(c, {"a", "b", "c"}) >= 0, "as seen by " << name);
  }
}

BOOST_AUTO_TEST_CASE(a_typed_request_crosses_nodes_and_names_the_answering_node) {
  auto c = client_of("a");
  BOOST_REQUIRE(wait_for_members(c, {"a", "b", "c"}) >= 0);
  caf::expected<echo_actor> echo = make_error(errc::not_found, "");
  test::wait_until([&] { return static_cast<bool>(echo = c.lookup_as<echo_actor>("echo")); }, 5s);
  BOOST_REQUIRE_MESSAGE(echo, test::why(echo));
  caf::scoped_actor self{client.sys()};
  std::string text, node;
  self->request(*echo, 5s, echo_atom::value, std::string{"ping"})
    .receive([&](std::string& t, std::string& n) { text = t, node = n; },
             [&](caf::error& e) { BOOST_FAIL(describe(e)); });
  BOOST_TEST(text == "ping");
  BOOST_TEST(node == "b");
  uint64_t number = 0;
  self->request(*echo, 5s, echo_atom::value, uint64_t{12345})
    .receive([&](uint64_t x) { number = x; }, [&](caf::error& e) { BOOST_FAIL(describe(e)); });
  BOOST_TEST(number == 12345u);
}

BOOST_AUTO_TEST_CASE(a_large_tensor_crosses_nodes_in_chunks_intact) {
  auto c = client_of("a");
  caf::expected<echo_actor> echo = make_error(errc::not_found, "");
  test::wait_until([&] { return static_cast<bool>(echo = c.lookup_as<echo_actor>("echo-c")); }, 5s);
  BOOST_REQUIRE(echo);
  std::vector<float> values(3'000'000);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<float>(i) * 0.001f;
  auto t = tensor::from_floats({1000, 3000}, values);
  auto chunks = split_into_chunks(t, 77, 1 << 20);
  BOOST_REQUIRE(chunks.size() == 12u);
  caf::scoped_actor self{client.sys()};
  chunk_ack last;
  for (auto& chunk : chunks)
    self->request(*echo, 5s, echo_atom::value, std::move(chunk))
      .receive([&](chunk_ack& ack) { last = ack; }, [&](caf::error& e) { BOOST_FAIL(describe(e)); });
  BOOST_TEST(last.complete);
  BOOST_TEST(last.received == 12u);
  BOOST_TEST(last.checksum == fnv1a(t.bytes.data(), t.bytes.size()));
}

BOOST_AUTO_TEST_CASE(a_lookup_of_an_unknown_name_answers_not_found_at_once) {
  auto c = client_of("b");
  auto start = std::chrono::steady_clock::now();
  auto entry = c.lookup("no-such-actor");
  auto took = std::chrono::steady_clock::now() - start;
  BOOST_REQUIRE(!entry);
  BOOST_TEST(is(entry.error(), errc::not_found));
  BOOST_TEST(describe(entry.error()).find("'no-such-actor'") != std::string::npos);
  BOOST_TEST((took < 1s));
}

BOOST_AUTO_TEST_CASE(names_registered_on_one_node_are_seen_on_every_node) {
  auto a = client_of("a");
  auto b = client_of("b");
  BOOST_REQUIRE(wait_for_members(a, {"a", "b", "c"}) >= 0);
  // A client registers its own actor through member a, which then owns the name.
  auto mine = client.sys().spawn([]() -> caf::behavior {
    return {[](echo_atom, uint64_t x) { return x + 1; }};
  });
  caf::scoped_actor self{client.sys()};
  bool ok = false;
  self->request(a.agent(), 5s, register_atom::value, std::string{"plus-one"}, mine)
    .receive([&](caf::ok_atom) { ok = true; }, [&](caf::error& e) { BOOST_FAIL(describe(e)); });
  BOOST_REQUIRE(ok);
  auto seen_by_b = test::wait_until([&] { return static_cast<bool>(b.lookup("plus-one")); }, 5s);
  BOOST_TEST(seen_by_b >= 0);
  auto entry = b.lookup("plus-one");
  BOOST_REQUIRE(entry);
  BOOST_TEST(entry->node == "a");
  // The same name for another actor is refused, naming the owner.
  auto other = client.sys().spawn([]() -> caf::behavior { return {[](echo_atom, uint64_t x) { return x; }}; });
  caf::error refused;
  self->request(b.agent(), 5s, register_atom::value, std::string{"plus-one"}, other)
    .receive([&](caf::ok_atom) {}, [&](caf::error& e) { refused = e; });
  BOOST_TEST(is(refused, errc::already_exists));
  BOOST_TEST(describe(refused).find("node a") != std::string::npos);
  // A bad name is refused with a reason.
  caf::error bad;
  self->request(a.agent(), 5s, register_atom::value, std::string{"has space"}, other)
    .receive([&](caf::ok_atom) {}, [&](caf::error& e) { bad = e; });
  BOOST_TEST(is(bad, errc::invalid_argument));
  // When the registered actor dies, its name disappears everywhere.
  caf::anon_send_exit(mine, caf::exit_reason::user_shutdown);
  auto gone = test::wait_until([&] { return !b.lookup("plus-one"); }, 5s);
  BOOST_TEST(gone >= 0);
  caf::anon_send_exit(other, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(a_node_with_a_taken_name_is_refused_with_a_clear_error) {
  test::temp_dir logs;
  auto rc = test::run_command(test::troupe_binary() + " node --name b --port 0 --seed "
                              + cluster.seed_address()
                              + " --set cluster.join_timeout_ms=1000 --metrics-port -1");
  BOOST_TEST(rc.status == 1);
  BOOST_TEST(rc.output.find("already taken by live member b@") != std::string::npos,
             rc.output);
}

BOOST_AUTO_TEST_CASE(garbage_sent_to_a_node_port_does_not_crash_it) {
  auto a = client_of("a");
  BOOST_REQUIRE(wait_for_members(a, {"a", "b", "c"}) >= 0);
  auto info = cluster.info("b");
  std::string junk(4096, '\0');
  for (size_t i = 0; i < junk.size(); ++i)
    junk[i] = static_cast<char>((i * 7919) % 251);
  BOOST_TEST(test::send_raw("127.0.0.1", info.port, junk));
  // A header that announces a huge payload, then silence.
  BOOST_TEST(test::send_raw("127.0.0.1", info.port, std::string(64, '\xff')));
  BOOST_TEST(test::send_raw("127.0.0.1", info.port, "GET / HTTP/1.1\r\n\r\n"));
  // Established peers keep their connections to b throughout.
  BOOST_TEST((members_seen_by(a) == std::vector<std::string>{"a", "b", "c"}));
  BOOST_TEST(cluster.process("b").running());
  // New connections are served again shortly. CAF 0.17 refuses them for a
  // few hundred milliseconds after a garbage handshake (see the README),
  // and one CI run saw a connection made at the end of that window accepted
  // and then dropped (every request on it failed for 10 s); so a connection
  // counts only once it answers, and a dead one is replaced.
  caf::expected<cluster_client> b = make_error(errc::unavailable, "");
  auto ms = test::wait_until([&] {
    b = cluster_client::connect(client.sys(), cluster.address_of("b"), 1s);
    return b && members_seen_by(*b) == std::vector<std::string>{"a", "b", "c"};
  }, 10s);
  BOOST_TEST_MESSAGE("new connections served again after " << ms << " ms");
  BOOST_REQUIRE(ms >= 0);
  BOOST_TEST(static_cast<bool>(b->lookup("echo")));
  BOOST_TEST(cluster.process("b").running());
}

BOOST_AUTO_TEST_SUITE_END()
