#define BOOST_TEST_MODULE state_store
#include <boost/test/unit_test.hpp>

#include <caf/scoped_actor.hpp>

#include "messages/errors.hpp"
#include "runtime/state_store.hpp"
#include "tests/support/test_support.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct store_fixture {
  test::temp_dir dir;
  test::client_system client;
  state_store_actor store;

  store_fixture() {
    auto spawned = spawn_state_store(client.sys(), {dir.file("db"), false, 1024});
    BOOST_REQUIRE_MESSAGE(spawned, test::why(spawned));
    store = *spawned;
  }

  ~store_fixture() { caf::anon_send_exit(store, caf::exit_reason::user_shutdown); }

  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    caf::scoped_actor self{client.sys()};
    caf::expected<T> result = make_error(errc::timeout, "no answer");
    self->request(store, 5s, std::forward<Ts>(xs)...)
      .receive([&](T& x) { result = std::move(x); }, [&](caf::error& e) { result = e; });
    return result;
  }

  caf::error put(const std::string& k, const std::string& v) {
    auto r = ask<caf::ok_atom>(caf::put_atom::value, k, v);
    return r ? caf::error{} : r.error();
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(state_store, store_fixture)

BOOST_AUTO_TEST_CASE(a_put_value_is_read_back) {
  BOOST_REQUIRE(!put("app/digits", "config-1"));
  auto v = ask<std::string>(caf::get_atom::value, std::string{"app/digits"});
  BOOST_REQUIRE(v);
  BOOST_TEST(*v == "config-1");
  BOOST_REQUIRE(!put("app/digits", "config-2"));
  BOOST_TEST(*ask<std::string>(caf::get_atom::value, std::string{"app/digits"}) == "config-2");
}

BOOST_AUTO_TEST_CASE(binary_values_keep_every_byte) {
  std::string bytes{"a\0b\xff", 4};
  BOOST_REQUIRE(!put("bin", bytes));
  auto v = ask<std::string>(caf::get_atom::value, std::string{"bin"});
  BOOST_REQUIRE(v);
  BOOST_TEST(v->size() == 4u);
  BOOST_TEST((*v == bytes));
}

BOOST_AUTO_TEST_CASE(a_missing_key_answers_not_found_naming_it) {
  auto v = ask<std::string>(caf::get_atom::value, std::string{"nope"});
  BOOST_REQUIRE(!v);
  BOOST_TEST(is(v.error(), errc::not_found));
  BOOST_TEST(describe(v.error()).find("'nope'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_deleted_key_is_gone) {
  BOOST_REQUIRE(!put("k", "v"));
  BOOST_REQUIRE(ask<caf::ok_atom>(caf::delete_atom::value, std::string{"k"}));
  BOOST_TEST(!ask<std::string>(caf::get_atom::value, std::string{"k"}));
  // Deleting an absent key is not an error.
  BOOST_TEST(static_cast<bool>(ask<caf::ok_atom>(caf::delete_atom::value, std::string{"k"})));
}

BOOST_AUTO_TEST_CASE(a_prefix_scan_returns_only_that_prefix_in_key_order) {
  for (auto k : {"model/b", "model/a", "model/c", "app/x", "modelz"})
    BOOST_REQUIRE(!put(k, std::string{"v:"} + k));
  auto all = ask<store_entries>(scan_atom::value, std::string{"model/"}, uint32_t{100});
  BOOST_REQUIRE(all);
  BOOST_REQUIRE(all->size() == 3u);
  BOOST_TEST((*all)[0].key == "model/a");
  BOOST_TEST((*all)[1].key == "model/b");
  BOOST_TEST((*all)[2].key == "model/c");
  BOOST_TEST((*all)[2].value == "v:model/c");
  auto two = ask<store_entries>(scan_atom::value, std::string{"model/"}, uint32_t{2});
  BOOST_REQUIRE(two);
  BOOST_TEST(two->size() == 2u);
}

BOOST_AUTO_TEST_CASE(bad_requests_are_refused_with_a_reason) {
  auto empty_key = put("", "v");
  BOOST_TEST(is(empty_key, errc::invalid_argument));
  auto too_big = put("k", std::string(2048, 'x'));  // limit is 1024 here
  BOOST_TEST(is(too_big, errc::invalid_argument));
  BOOST_TEST(describe(too_big).find("exceeds store.max_value_bytes") != std::string::npos);
  auto long_key = put(std::string(max_store_key_bytes + 1, 'k'), "v");
  BOOST_TEST(is(long_key, errc::invalid_argument));
  auto zero_scan = ask<store_entries>(scan_atom::value, std::string{"x"}, uint32_t{0});
  BOOST_TEST(!zero_scan);
  // The store still serves after refusing.
  BOOST_TEST(!put("still", "alive"));
}

BOOST_AUTO_TEST_CASE(a_second_open_of_the_same_directory_fails_naming_it) {
  auto second = spawn_state_store(client.sys(), {dir.file("db"), false, 1024});
  BOOST_REQUIRE(!second);
  BOOST_TEST(is(second.error(), errc::io_failure));
  BOOST_TEST(describe(second.error()).find(dir.file("db")) != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
