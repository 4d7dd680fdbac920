// Replicas on other nodes: a frontend in a cluster places replicas of a
// model on nodes' model hosts (`troupe node --service model_host=NAME`) and
// in its own process; when a node dies, its replicas' queries go to the
// others.
#define BOOST_TEST_MODULE model_hosts
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/serving/http_client.hpp"
#include "actors/serving/serving_frontend.hpp"
#include "runtime/state_store.hpp"
#include "tests/support/cluster_fixture.hpp"

using namespace troupe;
using namespace troupe::serving;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

struct fixture : test::cluster_fixture {
  state_store_actor store;
  std::unique_ptr<serving_frontend> frontend;
  std::unique_ptr<http_client> queries;
  std::unique_ptr<http_client> admin;

  void start_frontend(const std::string& seed) {
    auto s = spawn_state_store(client.sys(), {dir.file("serving-db"), false, 1 << 20});
    BOOST_REQUIRE_MESSAGE(s, test::why(s));
    store = *s;
    frontend_options opts;
    opts.port = 0;
    opts.admin_port = 0;
    opts.work_dir = dir.path();
    opts.program_dir = TROUPE_CONTAINER_DIR;
    opts.container_ready_timeout = 10s;
    opts.seed = seed;
    auto f = serving_frontend::start(client.sys(), store, opts);
    BOOST_REQUIRE_MESSAGE(f, test::why(f));
    frontend = std::move(*f);
    auto q = http_client::connect("127.0.0.1", frontend->port(), 5s);
    auto a = http_client::connect("127.0.0.1", frontend->admin_port(), 5s);
    BOOST_REQUIRE(q && a);
    queries = std::make_unique<http_client>(std::move(*q));
    admin = std::make_unique<http_client>(std::move(*a));
  }

  ~fixture() {
    if (frontend) {
      frontend->stop();
      frontend.reset();
      caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
      store = state_store_actor{};
    }
  }

  std::pair<unsigned, json> call(http_client& c, const std::string& method,
                                 const std::string& target, const json& body) {
    auto r = c.request(method, target, body.is_null() ? "" : body.dump(), 30s);
    BOOST_REQUIRE_MESSAGE(r, test::why(r));
    return {r->status, json::parse(r->body, nullptr, false)};
  }
};

json sum_model(std::vector<std::string> hosts, uint32_t replicas) {
  return json{{"model_name", "hosted-sum"},
              {"backend", "container"},
              {"path", "troupe-container --model sum"},
              {"replicas", replicas},
              {"hosts", hosts}};
}

json sum_app() {
  return json{{"name", "sum"},
              {"input_type", "doubles"},
              {"latency_slo_micros", 500'000},
              {"default_output", -1},
              {"candidate_model_names", {"hosted-sum"}}};
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(model_hosts, fixture)

BOOST_AUTO_TEST_CASE(replicas_run_on_a_node_and_locally_and_survive_the_node) {
  start("h1", {"--service", "model_host=host-a"});
  start_frontend(cluster.address_of("h1"));
  auto [added, why] = call(*admin, "POST", "/admin/add_model", sum_model({"host-a", "local"}, 2));
  BOOST_REQUIRE_MESSAGE(added == 200, why.dump());
  BOOST_REQUIRE_EQUAL(call(*admin, "POST", "/admin/add_app", sum_app()).first, 200u);
  auto [status, state] = call(*admin, "GET", "/admin/get_state", nullptr);
  BOOST_REQUIRE_EQUAL(status, 200u);
  BOOST_CHECK(state["models"][0]["replica_hosts"] == json({"host-a", "local"}));
  // Both container processes start; then every query is answered right.
  auto answered_by_model = [&](int i) {
    auto [st, p] = call(*queries, "POST", "/sum/predict", json{{"input", {i, 1}}});
    BOOST_REQUIRE_EQUAL(st, 200u);
    if (p["default"] == true)
      return false;
    BOOST_CHECK_EQUAL(p["output"], i + 1);
    return true;
  };
  BOOST_REQUIRE_GE(test::wait_until([&] { return answered_by_model(0); }, 20s), 0.0);
  // Give the remote container time to come up too, then use both.
  std::this_thread::sleep_for(1s);
  size_t right = 0;
  for (int i = 0; i < 40; ++i)
    right += answered_by_model(i);
  BOOST_CHECK_EQUAL(right, 40u);
  // Replica 0 (on host-a) took its share: its batcher sent batches across.
  auto metrics = queries->request("GET", "/metrics", "", 10s);
  BOOST_REQUIRE(metrics);
  auto line = "troupe_serving_batches{model=\"hosted-sum:1\",replica=\"0\"} ";
  auto at = metrics->body.find(line);
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, metrics->body);
  auto remote_batches = std::stod(metrics->body.substr(at + std::strlen(line)));
  BOOST_TEST_MESSAGE("batches served on host-a: " << remote_batches);
  BOOST_CHECK_GE(remote_batches, 10);
  // A typed C++ client in another process reaches the app through the
  // cluster directory, without HTTP.
  test::command_result typed;
  test::wait_until(
    [&] {
      typed = test::run_command(std::string{"timeout 20 "} + TROUPE_BINARY +
                                " serve predict --seed " + cluster.address_of("h1") +
                                " --app sum --input '[2.5, 4]' 2>&1");
      return typed.status == 0;
    },
    10s);
  BOOST_CHECK_MESSAGE(typed.status == 0, typed.output);
  BOOST_CHECK_MESSAGE(typed.output.find("\"output\":6") != std::string::npos, typed.output);
  // The node dies: its replica's queries go to the local one, and its
  // container process, orphaned, exits too.
  auto remote_container = [] {
    return test::run_command("pgrep -f 'hosted-sum:1[#]0' 2>&1").status == 0;
  };
  BOOST_CHECK(remote_container());
  cluster.signal("h1", SIGKILL);
  size_t after = 0;
  for (int i = 0; i < 40; ++i)
    after += answered_by_model(i);
  BOOST_TEST_MESSAGE(after << " of 40 queries answered by a model after the node died");
  BOOST_CHECK_GE(after, 36u);
  BOOST_CHECK_GE(test::wait_until([&] { return !remote_container(); }, 5s), 0.0);
}

BOOST_AUTO_TEST_CASE(unknown_hosts_and_hosts_without_a_cluster_are_refused) {
  start("h1", {"--service", "model_host=host-a"});
  start_frontend(cluster.address_of("h1"));
  auto [status, body] = call(*admin, "POST", "/admin/add_model", sum_model({"ghost"}, 1));
  BOOST_CHECK_EQUAL(status, 404u);
  BOOST_CHECK_NE(body.dump().find("model host 'ghost'"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_standalone_frontend_refuses_remote_hosts) {
  start_frontend("");
  auto [status, body] = call(*admin, "POST", "/admin/add_model", sum_model({"host-a"}, 1));
  BOOST_CHECK_EQUAL(status, 400u);
  BOOST_CHECK_NE(body.dump().find("not in a cluster"), std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
