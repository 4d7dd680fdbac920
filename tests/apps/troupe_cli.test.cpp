#define BOOST_TEST_MODULE troupe_cli
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <fstream>

#include "runtime/child_process.hpp"
#include "runtime/ready_file.hpp"

#include "tests/support/cluster_fixture.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

test::command_result run_troupe(const std::string& args) {
  return test::run_command("timeout 60 " + test::troupe_binary() + " " + args);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_CASE(every_subcommand_has_help) {
  for (auto sub : {"", "node ", "cluster ", "demo ", "compile "}) {
    auto r = run_troupe(std::string{sub} + "--help");
    BOOST_TEST(r.status == 0, sub);
    BOOST_TEST(contains(r.output, "Usage"), sub);
  }
  auto keys = run_troupe("node --help-config");
  BOOST_TEST(keys.status == 0);
  BOOST_TEST(contains(keys.output, "cluster.connection_timeout_ms"));
  BOOST_TEST(contains(keys.output, "echo:"));
}

BOOST_AUTO_TEST_CASE(a_config_with_an_unknown_key_exits_2_naming_the_key) {
  test::temp_dir dir;
  auto path = dir.file("bad.toml");
  std::ofstream{path} << "[node]\nnmae = \"x\"\n";
  auto r = run_troupe("node --config " + path);
  BOOST_TEST(r.status == 2);
  BOOST_TEST(contains(r.output, "unknown key 'node.nmae'"), r.output);
  BOOST_TEST(contains(r.output, path), r.output);
}

BOOST_AUTO_TEST_CASE(a_config_with_a_bad_value_exits_2_naming_the_key) {
  test::temp_dir dir;
  auto path = dir.file("bad.toml");
  std::ofstream{path} << "[cluster]\nheartbeat_interval_ms = \"fast\"\n";
  auto r = run_troupe("node --config " + path);
  BOOST_TEST(r.status == 2);
  BOOST_TEST(contains(r.output, "bad value for 'cluster.heartbeat_interval_ms'"), r.output);
}

BOOST_AUTO_TEST_CASE(a_missing_config_file_exits_2_naming_the_file) {
  auto r = run_troupe("node --config /nonexistent/node.toml");
  BOOST_TEST(r.status == 2);
  BOOST_TEST(contains(r.output, "'/nonexistent/node.toml' cannot be read"), r.output);
}

BOOST_AUTO_TEST_CASE(an_unknown_service_kind_exits_2_listing_the_kinds) {
  auto r = run_troupe("node --port 0 --metrics-port -1 --service teleporter");
  BOOST_TEST(r.status == 2);
  BOOST_TEST(contains(r.output, "unknown kind 'teleporter'"), r.output);
  BOOST_TEST(contains(r.output, "echo"), r.output);
}

BOOST_AUTO_TEST_CASE(a_bad_option_value_exits_2) {
  auto r = run_troupe("node --port notaport");
  BOOST_TEST(r.status == 2);
  auto s = run_troupe("node --set log.level=shouty");
  BOOST_TEST(s.status == 2);
  BOOST_TEST(contains(s.output, "unknown level 'shouty'"), s.output);
}

BOOST_AUTO_TEST_CASE(serve_start_refuses_timeouts_that_are_not_positive) {
  for (auto bad : {"--idle-timeout 0", "--idle-timeout -5", "--request-timeout-ms 0",
                   "--request-timeout-ms soon"}) {
    auto r = run_troupe(std::string{"serve start --port 0 --admin-port 0 "} + bad + " 2>&1");
    BOOST_TEST(r.status == 2, bad);
    auto option = std::string{bad}.substr(0, std::string{bad}.find(' '));
    BOOST_TEST(contains(r.output, option), bad << ": " << r.output);
  }
}

BOOST_AUTO_TEST_CASE(an_unknown_command_or_option_exits_2_naming_it) {
  auto r = run_troupe("teleport");
  BOOST_TEST(r.status == 2);
  BOOST_TEST(contains(r.output, "troupe: unknown command or option 'teleport'"), r.output);
  auto o = run_troupe("--teleport");
  BOOST_TEST(o.status == 2);
  BOOST_TEST(contains(o.output, "'--teleport'"), o.output);
  auto nested = run_troupe("serve teleport");
  BOOST_TEST(nested.status == 2);
  BOOST_TEST(contains(nested.output, "troupe serve: unknown command or option 'teleport'"),
             nested.output);
  auto none = run_troupe("serve");
  BOOST_TEST(none.status == 2);
  BOOST_TEST(contains(none.output, "A subcommand is required"), none.output);
}

BOOST_AUTO_TEST_CASE(a_seed_that_does_not_answer_fails_the_join_in_bounded_time) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_troupe("node --port 0 --metrics-port -1 --seed 127.0.0.1:1 "
                  "--set cluster.join_timeout_ms=800");
  auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(r.status == 1);
  BOOST_TEST(contains(r.output, "could not join the cluster through 127.0.0.1:1"), r.output);
  BOOST_TEST((took < 15s));
}

BOOST_AUTO_TEST_CASE(troupe_cluster_prints_members_and_their_actors) {
  test::cluster_fixture f;
  f.start("n1");
  f.start("n2", {"--service", "echo"});
  auto c = f.client_of("n1");
  BOOST_REQUIRE(f.wait_for_members(c, {"n1", "n2"}) >= 0);
  BOOST_REQUIRE(test::wait_until([&] { return static_cast<bool>(c.lookup("echo")); }, 5s) >= 0);
  auto r = run_troupe("cluster --seed " + f.cluster.seed_address());
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(contains(r.output, "2 member(s)"), r.output);
  BOOST_TEST(contains(r.output, "n1"), r.output);
  BOOST_TEST(contains(r.output, "echo"), r.output);
}

BOOST_AUTO_TEST_CASE(troupe_cluster_against_nothing_fails_with_a_reason) {
  auto r = run_troupe("cluster --seed 127.0.0.1:1 --timeout-ms 1000");
  BOOST_TEST(r.status == 1);
  BOOST_TEST(contains(r.output, "cannot reach node 127.0.0.1:1"), r.output);
  auto bad = run_troupe("cluster --seed nonsense");
  BOOST_TEST(bad.status == 2);
  BOOST_TEST(contains(bad.output, "not host:port"), bad.output);
}

BOOST_AUTO_TEST_CASE(a_node_serves_prometheus_metrics) {
  test::cluster_fixture f;
  f.start("m1");
  auto info = f.start("m2", {"--metrics-port", "0", "--service", "echo"});
  BOOST_REQUIRE(info.metrics_port > 0);
  std::string body;
  test::wait_until(
    [&] {
      body = test::http_get("127.0.0.1", static_cast<uint16_t>(info.metrics_port), "/metrics");
      return contains(body, "troupe_cluster_members{node=\"m2\"} 2");
    },
    5s);
  BOOST_TEST(contains(body, "troupe_cluster_members{node=\"m2\"} 2"), body);
  BOOST_TEST(contains(body, "troupe_actor_messages_total{node=\"m2\",actor=\"node_agent\"}"), body);
  BOOST_TEST(contains(body, "troupe_actors_running"), body);
}

BOOST_AUTO_TEST_CASE(the_demo_runs_to_completion) {
  auto r = run_troupe("demo --round-trips 200 --pipelined 2000 --tensor-mib 8");
  BOOST_TEST(r.status == 0, r.output);
  BOOST_TEST(contains(r.output, "answered by node b"), r.output);
  BOOST_TEST(contains(r.output, "checksum matches"), r.output);
  BOOST_TEST(contains(r.output, "final accuracy 0.9"), r.output);
  BOOST_TEST(contains(r.output, "wrote "), r.output);  // troupe compile's artifact
  BOOST_TEST(contains(r.output, "over REST to the compiled MLP alone: accuracy 9"), r.output);
  BOOST_TEST(contains(r.output, "over REST to the ensemble: accuracy 9"), r.output);
  BOOST_TEST(contains(r.output, "the XGBoost container process answered "), r.output);
  BOOST_TEST(!contains(r.output, "answered 0 batches"), r.output);
  BOOST_TEST(contains(r.output, "the bandit favours "), r.output);
  BOOST_TEST(contains(r.output, "demo finished: all steps passed"), r.output);
}

BOOST_AUTO_TEST_CASE(a_node_started_with_parent_pid_stops_when_its_launcher_dies) {
  test::temp_dir dir;
  auto ready = dir.file("orphan.ready");
  // A shell launches the node in the background and is then killed: the node
  // must not outlive it.
  auto script = dir.file("launch.sh");
  std::ofstream{script} << "#!/bin/sh\n"
                        << test::troupe_binary() << " node --port 0 --metrics-port -1"
                        << " --ready-file " << ready << " --parent-pid $$ &\n"
                        << "echo $! > " << dir.file("node.pid") << "\n"
                        << "sleep 60\n";
  auto launcher = child_process::spawn({"/bin/sh", script}, dir.file("launch.log"));
  BOOST_REQUIRE(launcher);
  BOOST_REQUIRE(test::wait_until([&] { return static_cast<bool>(read_ready_file(ready)); }, 10s) >= 0);
  auto pid = read_ready_file(ready)->pid;
  launcher->signal(SIGKILL);
  BOOST_REQUIRE(launcher->wait_for(5s));
  // Gone means no process, or a zombie that nobody has reaped yet.
  auto exited = [pid] {
    std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
    std::string pid_field, comm, state;
    return !(stat >> pid_field >> comm >> state) || state == "Z";
  };
  auto gone = test::wait_until(exited, 5s);
  BOOST_TEST(gone >= 0, "node " << pid << " outlived its launcher");
  if (gone < 0)
    ::kill(pid, SIGKILL);
}
