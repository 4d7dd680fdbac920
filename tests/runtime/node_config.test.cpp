#define BOOST_TEST_MODULE node_config
#include <boost/test/unit_test.hpp>

#include <fstream>

#include "messages/errors.hpp"
#include "runtime/node_config.hpp"
#include "tests/support/test_support.hpp"

using namespace troupe;

namespace {

std::string write_file(const test::temp_dir& dir, const std::string& text) {
  auto path = dir.file("node.toml");
  std::ofstream{path} << text;
  return path;
}

std::string error_of(const caf::expected<node_config>& cfg) {
  BOOST_REQUIRE(!cfg);
  return describe(cfg.error());
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_file_sets_every_section) {
  test::temp_dir dir;
  auto path = write_file(dir, R"(
[node]
name = "alpha"
host = "127.0.0.1"
port = 4242
seed = "127.0.0.1:4000"
services = ["echo", "echo=echo-2"]
[cluster]
heartbeat_interval_ms = 100
connection_timeout_ms = 900
[store]
path = "/tmp/x"
sync = false
[metrics]
port = 0
[log]
level = "debug"
)");
  auto cfg = load_node_config(path);
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->name == "alpha");
  BOOST_TEST(cfg->port == 4242);
  BOOST_TEST(cfg->seed == "127.0.0.1:4000");
  BOOST_TEST(cfg->services.size() == 2u);
  BOOST_TEST(cfg->heartbeat_interval.count() == 100);
  BOOST_TEST(cfg->connection_timeout.count() == 900);
  BOOST_TEST(cfg->store_path == "/tmp/x");
  BOOST_TEST(cfg->store_sync == false);
  BOOST_TEST(cfg->metrics_port == 0);
  BOOST_TEST(cfg->log_level == "debug");
}

BOOST_AUTO_TEST_CASE(overrides_win_over_the_file_and_bare_words_are_strings) {
  test::temp_dir dir;
  auto path = write_file(dir, "[node]\nname = \"alpha\"\nport = 1\n");
  auto cfg = load_node_config(path, {"node.port=5000", "node.host=localhost",
                                     "node.name=beta"});
  BOOST_REQUIRE(cfg);
  BOOST_TEST(cfg->port == 5000);
  BOOST_TEST(cfg->host == "localhost");
  BOOST_TEST(cfg->name == "beta");
}

BOOST_AUTO_TEST_CASE(the_defaults_need_no_file) {
  auto cfg = load_node_config("");
  BOOST_REQUIRE(cfg);
  BOOST_TEST(!cfg->name.empty());
  BOOST_TEST(cfg->port == 0);
  BOOST_TEST(cfg->connection_timeout.count() > cfg->heartbeat_interval.count());
}

BOOST_AUTO_TEST_CASE(an_unknown_key_is_named_with_its_file) {
  test::temp_dir dir;
  auto path = write_file(dir, "[cluster]\nheartbeat_ms = 5\n");
  auto msg = error_of(load_node_config(path));
  BOOST_TEST(contains(msg, "unknown key 'cluster.heartbeat_ms'"));
  BOOST_TEST(contains(msg, path));
}

BOOST_AUTO_TEST_CASE(an_unknown_section_is_named) {
  test::temp_dir dir;
  auto msg = error_of(load_node_config(write_file(dir, "[nodes]\nname = \"x\"\n")));
  BOOST_TEST(contains(msg, "unknown key 'nodes.name'"));
}

BOOST_AUTO_TEST_CASE(a_value_of_the_wrong_type_is_named_with_what_was_expected) {
  test::temp_dir dir;
  auto msg = error_of(load_node_config(write_file(dir, "[node]\nport = \"eighty\"\n")));
  BOOST_TEST(contains(msg, "bad value for 'node.port'"));
  BOOST_TEST(contains(msg, "expected an integer in 0..65535"));
}

BOOST_AUTO_TEST_CASE(a_value_out_of_range_is_named_with_the_range) {
  test::temp_dir dir;
  auto msg = error_of(load_node_config(write_file(dir, "[node]\nport = 70000\n")));
  BOOST_TEST(contains(msg, "got 70000"));
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_named) {
  auto cfg = load_node_config("/nonexistent/troupe.toml");
  BOOST_REQUIRE(!cfg);
  BOOST_TEST(is(cfg.error(), errc::not_found));
  BOOST_TEST(contains(describe(cfg.error()), "/nonexistent/troupe.toml"));
}

BOOST_AUTO_TEST_CASE(invalid_toml_is_reported_with_line_and_column) {
  test::temp_dir dir;
  auto path = write_file(dir, "[node]\nname = \n");
  auto msg = error_of(load_node_config(path));
  BOOST_TEST(contains(msg, path + ":2:"));
  BOOST_TEST(contains(msg, "not valid TOML"));
}

BOOST_AUTO_TEST_CASE(bad_overrides_are_named) {
  BOOST_TEST(contains(error_of(load_node_config("", {"node.port"})), "expected section.key=value"));
  BOOST_TEST(contains(error_of(load_node_config("", {"node.nope=1"})), "unknown key 'node.nope'"));
  BOOST_TEST(contains(error_of(load_node_config("", {"log.level=loud"})), "unknown level 'loud'"));
  BOOST_TEST(contains(error_of(load_node_config("", {"node.seed=nohost"})), "not host:port"));
  BOOST_TEST(contains(error_of(load_node_config("", {"node.name=bad name"})),
                      "not a valid node name"));
}

BOOST_AUTO_TEST_CASE(a_connection_timeout_below_the_heartbeat_is_refused) {
  auto msg = error_of(load_node_config("", {"cluster.heartbeat_interval_ms=1000",
                                            "cluster.connection_timeout_ms=500"}));
  BOOST_TEST(contains(msg, "must exceed cluster.heartbeat_interval_ms"));
}

BOOST_AUTO_TEST_CASE(the_shipped_config_files_load) {
  for (auto name : {"node.toml", "seed.toml"}) {
    auto cfg = load_node_config(std::string{TROUPE_SOURCE_DIR} + "/config/" + name);
    BOOST_TEST(static_cast<bool>(cfg), name << ": " << (cfg ? "" : test::why(cfg)));
  }
}

BOOST_AUTO_TEST_CASE(host_port_parsing_checks_both_parts) {
  auto ok = parse_host_port("10.0.0.1:80", "x");
  BOOST_REQUIRE(ok);
  BOOST_TEST(ok->first == "10.0.0.1");
  BOOST_TEST(ok->second == 80);
  BOOST_TEST(!parse_host_port(":80", "x"));
  BOOST_TEST(!parse_host_port("h:", "x"));
  BOOST_TEST(!parse_host_port("h:0", "x"));
  BOOST_TEST(!parse_host_port("h:99999", "x"));
  BOOST_TEST(!parse_host_port("h:8a", "x"));
}
