// The serving system end to end, through its REST API: real models (XGBoost
// and TorchScript on held-out digits), the admin API, bandits learning from
// feedback, bad input, faulty containers, and a restarted `troupe serve`
// serving what it served before.
#define BOOST_TEST_MODULE frontend
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <functional>
#include <fstream>
#include <sstream>
#include <thread>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/serving/app.hpp"
#include "actors/serving/http_client.hpp"
#include "actors/serving/serving_frontend.hpp"
#include "messages/errors.hpp"
#include "runtime/child_process.hpp"
#include "runtime/state_store.hpp"
#include "tests/support/test_support.hpp"

using namespace troupe;
using namespace troupe::serving;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

/// The models, made once per run by the real program.
const test::temp_dir& models() {
  static test::temp_dir dir;
  static bool made = [] {
    auto r = test::run_command("timeout 180 " MAKE_MODELS " --out " + dir.path());
    BOOST_REQUIRE_MESSAGE(r.status == 0, "troupe-make-models failed: " << r.output);
    return true;
  }();
  (void) made;
  return dir;
}

struct digit {
  std::string pixels;  // JSON array text of 64 values
  int label;
};

std::vector<digit> held_out_digits() {
  std::ifstream in{models().file("test.csv")};
  std::vector<digit> out;
  for (std::string line; std::getline(in, line);) {
    auto last = line.rfind(',');
    out.push_back({"[" + line.substr(0, last) + "]", std::stoi(line.substr(last + 1))});
  }
  BOOST_REQUIRE_GT(out.size(), 300u);
  return out;
}

/// An output rendered as a JSON number or string, as a label.
std::string label_of(const json& output) {
  if (output.is_number())
    return std::to_string(static_cast<long long>(output.get<double>()));
  return output.is_string() ? output.get<std::string>() : output.dump();
}

struct reply {
  unsigned status = 0;
  json body;
  std::string text;
};

class rest {
public:
  explicit rest(uint16_t port) {
    auto c = http_client::connect("127.0.0.1", port, 5s);
    BOOST_REQUIRE_MESSAGE(c, test::why(c));
    client_ = std::make_unique<http_client>(std::move(*c));
  }
  reply call(const std::string& method, const std::string& target, const std::string& body = {}) {
    auto r = client_->request(method, target, body, 30s);
    BOOST_REQUIRE_MESSAGE(r, target << ": " << test::why(r));
    reply out{r->status, json::parse(r->body, nullptr, false), r->body};
    return out;
  }
  reply post(const std::string& target, const json& body) {
    return call("POST", target, body.dump());
  }

private:
  std::unique_ptr<http_client> client_;
};

std::string model_path(const std::string& file) {
  return models().file(file);
}

/// The SLO of apps whose accuracy a test checks: generous, so that a loaded
/// machine (a parallel build, CI) gives slow answers, not default ones.
constexpr int64_t accuracy_slo_us = 2'000'000;

json model_json(const std::string& name, const std::string& backend, const std::string& path,
                uint32_t version = 1, uint32_t replicas = 1) {
  return json{{"model_name", name}, {"model_version", version}, {"backend", backend},
              {"path", path},       {"replicas", replicas}};
}

json app_json(const std::string& name, const std::string& policy, int64_t slo_us,
              std::vector<std::string> models, uint64_t length = 64) {
  return json{{"name", name},
              {"input_type", "ints"},
              {"input_length", length},
              {"latency_slo_micros", slo_us},
              {"default_output", -1},
              {"selection_policy", policy},
              {"candidate_model_names", models}};
}

/// An in-process frontend on a fresh store, with free ports.
struct fixture {
  test::temp_dir dir;
  test::client_system client;
  caf::scoped_actor self{client.sys()};
  state_store_actor store;
  std::unique_ptr<serving_frontend> frontend;
  std::unique_ptr<rest> queries;
  std::unique_ptr<rest> admin;

  fixture() {
    auto s = spawn_state_store(client.sys(), {dir.file("db"), false, 1 << 20});
    BOOST_REQUIRE_MESSAGE(s, test::why(s));
    store = *s;
    frontend_options opts;
    opts.port = 0;
    opts.admin_port = 0;
    opts.body_limit = 64 * 1024;
    opts.work_dir = dir.path();
    opts.program_dir = TROUPE_CONTAINER_DIR;
    opts.container_ready_timeout = 10s;
    auto f = serving_frontend::start(client.sys(), store, opts);
    BOOST_REQUIRE_MESSAGE(f, test::why(f));
    frontend = std::move(*f);
    queries = std::make_unique<rest>(frontend->port());
    admin = std::make_unique<rest>(frontend->admin_port());
  }

  ~fixture() {
    frontend->stop();
    frontend.reset();
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  }

  void ok(const std::string& op, const json& body) {
    auto r = admin->post("/admin/" + op, body);
    BOOST_REQUIRE_MESSAGE(r.status == 200, op << ": " << r.text);
  }

  /// Accuracy of app `name` on held-out digits, in batches of 40.
  double accuracy(const std::string& name, size_t limit = 1000) {
    auto digits = held_out_digits();
    size_t right = 0, total = 0;
    for (size_t first = 0; first < digits.size() && first < limit; first += 40) {
      std::string batch = "{\"input_batch\":[";
      auto last = std::min(digits.size(), first + 40);
      for (size_t i = first; i < last; ++i)
        batch += (i > first ? "," : "") + digits[i].pixels;
      batch += "]}";
      auto r = queries->call("POST", "/" + name + "/predict", batch);
      BOOST_REQUIRE_MESSAGE(r.status == 200, r.text);
      auto& ps = r.body["batch_predictions"];
      BOOST_REQUIRE_EQUAL(ps.size(), last - first);
      for (size_t i = first; i < last; ++i) {
        ++total;
        right += label_of(ps[i - first]["output"]) == std::to_string(digits[i].label);
      }
    }
    return double(right) / double(total);
  }

  /// Sends the true label of the first `n` held-out digits as feedback.
  void teach(const std::string& name, size_t n) {
    auto digits = held_out_digits();
    for (size_t i = 0; i < n; ++i) {
      auto r = queries->call("POST", "/" + name + "/update",
                             "{\"uid\":0,\"input\":" + digits[i % digits.size()].pixels +
                               ",\"label\":" + std::to_string(digits[i % digits.size()].label) +
                               "}");
      BOOST_REQUIRE_MESSAGE(r.status == 200, r.text);
    }
  }

  std::vector<double> stored_weights(const std::string& app) {
    std::vector<double> weights;
    self->request(store, 5s, caf::get_atom::value, policy_state_key(app))
      .receive([&](std::string& s) { weights = json::parse(s)["weights"].get<std::vector<double>>(); },
               [&](caf::error& e) { BOOST_FAIL(describe(e)); });
    return weights;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(frontend, fixture)

BOOST_AUTO_TEST_CASE(xgboost_and_torchscript_models_classify_held_out_digits_through_rest) {
  ok("add_model", model_json("xgb", "xgboost", model_path("digits_xgb.json")));
  ok("add_model", model_json("mlp", "torchscript", model_path("digits_mlp.pt")));
  ok("add_app", app_json("digits-xgb", "single", accuracy_slo_us, {"xgb"}));
  ok("add_app", app_json("digits-mlp", "single", accuracy_slo_us, {"mlp"}));
  auto xgb = accuracy("digits-xgb");
  auto mlp = accuracy("digits-mlp");
  BOOST_TEST_MESSAGE("REST accuracy on held-out digits: xgboost " << xgb << ", mlp " << mlp);
  BOOST_CHECK_GT(xgb, 0.90);
  BOOST_CHECK_GT(mlp, 0.90);
  // One query, Clipper's response fields.
  auto d = held_out_digits().front();
  auto r = queries->call("POST", "/digits-xgb/predict", "{\"input\":" + d.pixels + "}");
  BOOST_REQUIRE_EQUAL(r.status, 200u);
  BOOST_CHECK(r.body.contains("query_id"));
  BOOST_CHECK_EQUAL(r.body["default"], false);
  BOOST_CHECK(!r.body.contains("default_explanation"));
  // A typed C++ client reaches the same app actor without HTTP.
  auto app = frontend->app("digits-xgb");
  BOOST_REQUIRE(app);
  std::vector<double> pixels = json::parse(d.pixels).get<std::vector<double>>();
  self->request(app, 5s, predict_atom::value, query_input{input_kind::ints, pixels, {}})
    .receive([&](prediction& p) { BOOST_CHECK_EQUAL(p.output, label_of(r.body["output"])); },
             [&](caf::error& e) { BOOST_FAIL(describe(e)); });
  // Metrics carry the app's latency histogram and the learned batch sizes.
  auto m = queries->call("GET", "/metrics");
  BOOST_REQUIRE_EQUAL(m.status, 200u);
  BOOST_CHECK_NE(m.text.find("troupe_serving_latency_us_bucket{app=\"digits-xgb\""),
                 std::string::npos);
  BOOST_CHECK_NE(m.text.find("troupe_serving_batch_size_limit{model=\"xgb:1\""),
                 std::string::npos);
  BOOST_CHECK_NE(m.text.find("troupe_serving_mean_batch_size{model=\"mlp:1\""),
                 std::string::npos);
}

BOOST_AUTO_TEST_CASE(exp3_moves_to_the_better_model_under_feedback) {
  ok("add_model", model_json("xgb", "xgboost", model_path("digits_xgb.json")));
  ok("add_model", model_json("zero", "noop", ""));  // always answers 0
  ok("add_app", app_json("bandit", "exp3", accuracy_slo_us, {"zero", "xgb"}));
  teach("bandit", 300);
  auto w = stored_weights("bandit");
  BOOST_REQUIRE_EQUAL(w.size(), 2u);
  BOOST_TEST_MESSAGE("exp3 weights after feedback: zero " << w[0] << ", xgb " << w[1]);
  BOOST_CHECK_GT(w[1], 5 * w[0]);
  // /metrics shows the same weights as shares of their sum, per model.
  auto m = queries->call("GET", "/metrics");
  BOOST_REQUIRE_EQUAL(m.status, 200u);
  auto share = [&](const std::string& model) {
    auto prefix = "troupe_serving_policy_weight{app=\"bandit\",model=\"" + model + "\"} ";
    auto at = m.text.find(prefix);
    BOOST_REQUIRE_MESSAGE(at != std::string::npos, prefix << " missing from /metrics");
    return std::stod(m.text.substr(at + prefix.size()));
  };
  BOOST_CHECK_CLOSE(share("xgb:1"), w[1] / (w[0] + w[1]), 1e-3);
  BOOST_CHECK_CLOSE(share("zero:1") + share("xgb:1"), 1.0, 1e-6);
  // Most answers now come from xgb, and are right.
  BOOST_CHECK_GT(accuracy("bandit", 200), 0.80);
  // Series of what is gone go with it: unlinked and deleted, "zero" leaves
  // neither a weight nor batcher gauges; a deleted app leaves no weights.
  // (The app restarts without "zero" asynchronously: poll for 5 s.)
  auto metrics_until = [&](const std::function<bool(const std::string&)>& done) {
    std::string text;
    for (int i = 0; i < 100; ++i) {
      text = queries->call("GET", "/metrics").text;
      if (done(text))
        break;
      std::this_thread::sleep_for(50ms);
    }
    return text;
  };
  auto has = [](const std::string& text, const std::string& what) {
    return text.find(what) != std::string::npos;
  };
  const std::string zero_weight = R"(troupe_serving_policy_weight{app="bandit",model="zero:1"})";
  const std::string xgb_weight = R"(troupe_serving_policy_weight{app="bandit",model="xgb:1"} 1)";
  const std::string zero_batches = R"(troupe_serving_batches{model="zero:1")";
  ok("remove_model_links", json{{"app_name", "bandit"}, {"model_names", {"zero"}}});
  ok("delete_model", json{{"model_name", "zero"}});
  auto after = metrics_until([&](const std::string& t) {
    return !has(t, zero_weight) && !has(t, zero_batches) && has(t, xgb_weight);
  });
  BOOST_CHECK_MESSAGE(!has(after, zero_weight), "stale weight: " << after);
  BOOST_CHECK_MESSAGE(!has(after, zero_batches), "stale batcher gauges: " << after);
  BOOST_CHECK_MESSAGE(has(after, xgb_weight), "xgb alone should hold all the weight: " << after);
  BOOST_CHECK(has(after, R"(troupe_serving_batches{model="xgb:1")"));
  ok("delete_app", json{{"name", "bandit"}});
  after = metrics_until([&](const std::string& t) {
    return !has(t, R"(troupe_serving_policy_weight{app="bandit")");
  });
  BOOST_CHECK_MESSAGE(!has(after, R"(troupe_serving_policy_weight{app="bandit")"),
                      "weights of a deleted app: " << after);
}

BOOST_AUTO_TEST_CASE(exp4_weights_the_ensemble_toward_the_better_model) {
  ok("add_model", model_json("xgb", "xgboost", model_path("digits_xgb.json")));
  ok("add_model", model_json("mlp", "torchscript", model_path("digits_mlp.pt")));
  ok("add_model", model_json("zero", "noop", ""));
  ok("add_app", app_json("ensemble", "exp4", accuracy_slo_us, {"zero", "xgb", "mlp"}));
  teach("ensemble", 200);
  auto w = stored_weights("ensemble");
  BOOST_REQUIRE_EQUAL(w.size(), 3u);
  BOOST_TEST_MESSAGE("exp4 weights: zero " << w[0] << ", xgb " << w[1] << ", mlp " << w[2]);
  BOOST_CHECK_GT(w[1], 5 * w[0]);
  BOOST_CHECK_GT(w[2], 5 * w[0]);
  BOOST_CHECK_GT(accuracy("ensemble", 200), 0.90);
  auto r = queries->call("POST", "/ensemble/predict",
                         "{\"input\":" + held_out_digits()[3].pixels + "}");
  BOOST_REQUIRE_EQUAL(r.status, 200u);
  BOOST_CHECK_GT(r.body["confidence"].get<double>(), 0.5);
  // models_used: the models whose output won the vote (zero's "0" lost).
  BOOST_CHECK(r.body["models_used"] == json({"xgb:1", "mlp:1"}));
}

BOOST_AUTO_TEST_CASE(a_repeated_query_is_answered_from_the_cache) {
  ok("add_model", model_json("xgb", "xgboost", model_path("digits_xgb.json")));
  ok("add_app", app_json("cached", "single", accuracy_slo_us, {"xgb"}));
  auto body = "{\"input\":" + held_out_digits()[7].pixels + "}";
  auto first = queries->call("POST", "/cached/predict", body);
  auto second = queries->call("POST", "/cached/predict", body);
  BOOST_REQUIRE_EQUAL(first.status, 200u);
  BOOST_REQUIRE_EQUAL(second.status, 200u);
  BOOST_CHECK_EQUAL(first.body["output"], second.body["output"]);
  BOOST_CHECK_NE(first.body["query_id"], second.body["query_id"]);
  BOOST_CHECK(second.body["models_used"] == json({"xgb:1"}));
  auto m = queries->call("GET", "/metrics").text;
  BOOST_CHECK_NE(m.find("troupe_serving_cache_hits_total{app=\"cached\"} 1"), std::string::npos);
  BOOST_CHECK_NE(m.find("troupe_serving_queries_total{app=\"cached\"} 2"), std::string::npos);
  // The model saw one query: one batch of one.
  BOOST_CHECK_NE(m.find("troupe_serving_batches{model=\"xgb:1\",replica=\"0\"} 1"),
                 std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_queries_get_clear_errors_and_the_frontend_stays_up) {
  ok("add_model", model_json("zero", "noop", ""));
  ok("add_app", app_json("strict", "single", 50'000, {"zero"}, 4));
  auto expect = [&](const reply& r, unsigned status, const std::string& words) {
    BOOST_CHECK_EQUAL(r.status, status);
    BOOST_CHECK_MESSAGE(r.text.find(words) != std::string::npos,
                        "'" << words << "' not in " << r.text);
  };
  expect(queries->call("POST", "/nope/predict", R"({"input":[1,2,3,4]})"), 404, "no app named 'nope'");
  expect(queries->call("POST", "/strict/frobnicate", R"({"input":[1]})"), 404, "no such endpoint");
  expect(queries->call("GET", "/strict/predict"), 405, "POST");
  expect(queries->call("POST", "/strict/predict", R"({"input":[1,2)"), 400, "malformed JSON");
  expect(queries->call("POST", "/strict/predict", R"({"input":[1,2]})"), 400, "expects 4");
  expect(queries->call("POST", "/strict/predict", R"({"input":"four"})"), 400, "input");
  expect(queries->call("POST", "/strict/predict", R"({"input":[1,2,3,1e400]})"), 400,
         "malformed JSON");
  expect(queries->call("POST", "/strict/predict", R"({"inputs":[1,2,3,4]})"), 400, "input");
  expect(queries->call("POST", "/strict/update", R"({"input":[1,2,3,4]})"), 400, "label");
  std::string huge = R"({"input":[)" + std::string(100'000, '1') + "]}";
  auto big = http_client::connect("127.0.0.1", frontend->port(), 5s);
  BOOST_REQUIRE(big);
  auto r = big->request("POST", "/strict/predict", huge, 10s);
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->status, 413u);
  // Still serving.
  auto fine = queries->call("POST", "/strict/predict", R"({"input":[1,2,3,4]})");
  BOOST_CHECK_EQUAL(fine.status, 200u);
  BOOST_CHECK_EQUAL(fine.body["output"], 0);
}

BOOST_AUTO_TEST_CASE(bad_admin_requests_are_refused_with_reasons) {
  auto expect = [&](const std::string& op, const json& body, unsigned status,
                    const std::string& words) {
    auto r = admin->post("/admin/" + op, body);
    BOOST_CHECK_EQUAL(r.status, status);
    BOOST_CHECK_MESSAGE(r.text.find(words) != std::string::npos,
                        op << ": '" << words << "' not in " << r.text);
  };
  expect("add_app", app_json("a", "bogus", 1000, {}), 400, "selection_policy 'bogus'");
  expect("add_app", app_json("a b", "single", 1000, {}), 400, "app name 'a b'");
  expect("add_app", app_json("a", "single", -5, {}), 400, "latency_slo_micros");
  expect("add_app", app_json("a", "single", 1000, {"ghost"}), 404, "model 'ghost'");
  expect("add_model", model_json("m", "tensorflow", "x"), 400, "backend 'tensorflow'");
  expect("add_model", model_json("m", "xgboost", "/no/such/model.json"), 400, "/no/such/model.json");
  expect("add_model", json{{"model_version", 1}}, 400, "model_name");
  {
    auto in_flight = [](int n) {
      auto m = model_json("m", "noop", "");
      m["batches_in_flight"] = n;
      return m;
    };
    expect("add_model", in_flight(0), 400, "batches_in_flight of model 'm' must be 1..8");
    expect("add_model", in_flight(9), 400, "batches_in_flight of model 'm' must be 1..8");
    expect("add_model", in_flight(-1), 400, "batches_in_flight");
    auto m = model_json("m", "noop", "");
    m["thread"] = "fast";
    expect("add_model", m, 400, "thread 'fast' of model 'm' is neither own nor shared");
    m["thread"] = 2;
    expect("add_model", m, 400, "thread");
  }
  expect("frobnicate", json::object(), 404, "no admin operation 'frobnicate'");
  {
    // A number beyond double's range once threw out of the JSON library
    // even in no-exception mode, and killed the gateway.
    auto r = admin->call("POST", "/admin/add_app", R"({"name":"huge","latency_slo_micros":1e400})");
    BOOST_CHECK_EQUAL(r.status, 400u);
    r = admin->call("POST", "/admin/set_model_version", R"({"model_name":"m","model_version":1e400})");
    BOOST_CHECK_EQUAL(r.status, 400u);
  }
  ok("add_model", model_json("m", "noop", ""));
  expect("add_model", model_json("m", "noop", ""), 409, "already has version 1");
  ok("add_app", app_json("a", "single", 10'000, {"m"}));
  expect("add_app", app_json("a", "single", 10'000, {"m"}), 409, "already exists");
  expect("remove_model_links", json{{"app_name", "a"}, {"model_names", {"m"}}}, 400,
         "would leave app 'a' without models");
  expect("delete_model", json{{"model_name", "m"}}, 400, "would leave app 'a' without models");
  expect("set_model_version", json{{"model_name", "m"}, {"model_version", 9}}, 404,
         "has no version 9");
  expect("set_model_replicas", json{{"model_name", "m"}, {"replicas", 0}}, 400, "1..64");
  expect("add_model_links", json{{"app_name", "zz"}, {"model_names", {"m"}}}, 404, "no app");
  // The app still answers with its model.
  auto r = queries->call("POST", "/a/predict", "{\"input\":" + held_out_digits()[0].pixels + "}");
  BOOST_CHECK_EQUAL(r.status, 200u);
  BOOST_CHECK_EQUAL(r.body["default"], false);
}

BOOST_AUTO_TEST_CASE(versions_roll_forward_and_back_and_replicas_scale) {
  ok("add_model", model_json("digits", "xgboost", model_path("digits_xgb.json"), 1));
  ok("add_app", app_json("d", "single", accuracy_slo_us, {"digits"}));
  BOOST_CHECK_GT(accuracy("d", 120), 0.9);
  // Version 2 is a broken model (always 0); rolling back restores accuracy.
  ok("add_model", model_json("digits", "noop", "", 2));
  auto d = held_out_digits()[5];
  auto r = queries->call("POST", "/d/predict", "{\"input\":" + d.pixels + "}");
  BOOST_CHECK_EQUAL(r.body["models_used"][0], "digits:2");
  ok("set_model_version", json{{"model_name", "digits"}, {"model_version", 1}});
  BOOST_CHECK_GT(accuracy("d", 120), 0.9);
  ok("set_model_replicas", json{{"model_name", "digits"}, {"replicas", 3}});
  auto state = admin->call("GET", "/admin/get_state");
  BOOST_REQUIRE_EQUAL(state.status, 200u);
  size_t current = 0;
  for (auto& m : state.body["models"])
    if (m["current"] == true) {
      ++current;
      BOOST_CHECK_EQUAL(m["model_version"], 1);
      BOOST_CHECK_EQUAL(m["running_replicas"], 3);
    }
  BOOST_CHECK_EQUAL(current, 1u);
  BOOST_CHECK_GT(accuracy("d", 120), 0.9);
  ok("delete_app", json{{"name", "d"}});
  BOOST_CHECK_EQUAL(queries->call("POST", "/d/predict", R"({"input":[1]})").status, 404u);
}

BOOST_AUTO_TEST_CASE(crashing_hanging_and_lying_containers_do_not_stop_answers) {
  // Two replicas of a container that crashes after every 3 queries: every
  // query is answered by its deadline (by the other replica, or the default
  // while both restart), and restarted containers serve again: more than
  // the 6 answers the first two processes could give.
  ok("add_model", model_json("flaky", "container",
                             "troupe-container --model sum --fault crash-after 3", 1, 2));
  ok("add_app", app_json("flaky", "single", 300'000, {"flaky"}, 0));
  // add_model answers once its container processes serve.
  auto first = queries->post("/flaky/predict", json{{"input", {0}}});
  BOOST_REQUIRE_MESSAGE(first.body["default"] == false, first.text);
  size_t answered = 0;
  for (int i = 0; i < 60; ++i) {
    auto sent = std::chrono::steady_clock::now();
    auto r = queries->post("/flaky/predict", json{{"input", {i, 1}}});
    auto took = std::chrono::steady_clock::now() - sent;
    BOOST_REQUIRE_EQUAL(r.status, 200u);
    BOOST_CHECK_LT(std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), 1000);
    if (r.body["default"] == false) {
      ++answered;
      BOOST_CHECK_EQUAL(label_of(r.body["output"]), std::to_string(i + 1));
    } else {
      BOOST_CHECK_NE(r.body["default_explanation"].get<std::string>().find("flaky:1"),
                     std::string::npos);
    }
    std::this_thread::sleep_for(50ms);
  }
  BOOST_TEST_MESSAGE("crashing containers: " << answered << " of 60 answered by a model");
  BOOST_CHECK_GT(answered, 6u);
  // A hanging container: the answer is the default, by the deadline.
  ok("add_model", model_json("stuck", "container", "troupe-container --model sum --fault hang"));
  ok("add_app", app_json("stuck", "single", 50'000, {"stuck"}, 0));
  auto started = std::chrono::steady_clock::now();
  auto hung = queries->post("/stuck/predict", json{{"input", {1, 2}}});
  auto took = std::chrono::steady_clock::now() - started;
  BOOST_CHECK_EQUAL(hung.status, 200u);
  BOOST_CHECK_EQUAL(hung.body["default"], true);
  BOOST_CHECK_EQUAL(hung.body["output"], -1);
  BOOST_CHECK(hung.body.contains("default_explanation"));
  BOOST_CHECK_LT(std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), 1000);
  // A container that answers garbage (one output too many) is not believed.
  ok("add_model", model_json("liar", "container", "troupe-container --model sum --fault garbage"));
  ok("add_app", app_json("liar", "single", 100'000, {"liar"}, 0));
  auto lie = queries->post("/liar/predict", json{{"input", {1, 2}}});
  BOOST_CHECK_EQUAL(lie.status, 200u);
  BOOST_CHECK_EQUAL(lie.body["default"], true);
}

BOOST_AUTO_TEST_SUITE_END()

// -- troupe serve, restarted ----------------------------------------------------

namespace {

struct served {
  child_process process;
  uint16_t port = 0;
  uint16_t admin_port = 0;
};

served start_serve(const test::temp_dir& dir, std::vector<std::string> extra_args = {}) {
  auto ready = dir.file("ready.json");
  std::remove(ready.c_str());
  std::vector<std::string> args{TROUPE_BINARY, "serve",          "start", "--port",
                                "0",           "--admin-port",   "0",     "--store",
                                dir.file("store"), "--ready-file", ready};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  auto p = child_process::spawn(args, dir.file("serve.log"));
  BOOST_REQUIRE_MESSAGE(p, test::why(p));
  served s{std::move(*p)};
  json info;
  test::wait_until(
    [&] {
      std::ifstream in{ready};
      info = json::parse(in, nullptr, false);
      return !info.is_discarded() && info.contains("admin_port");
    },
    20s);
  BOOST_REQUIRE_MESSAGE(!info.is_discarded() && info.contains("port"), "troupe serve not ready");
  s.port = info["port"];
  s.admin_port = info["admin_port"];
  return s;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_restarted_troupe_serve_serves_the_same_apps_models_and_learned_state) {
  test::temp_dir dir;
  auto s = start_serve(dir);
  auto admin = "--admin 127.0.0.1:" + std::to_string(s.admin_port);
  auto cli = [&](const std::string& args) {
    auto r = test::run_command(std::string{"timeout 60 "} + TROUPE_BINARY + " serve " + args +
                               " " + admin + " 2>&1");
    BOOST_REQUIRE_MESSAGE(r.status == 0, args << ": " << r.output);
    return r.output;
  };
  cli("add-model --name xgb --backend xgboost --path " + model_path("digits_xgb.json"));
  cli("add-model --name zero --backend noop");
  cli("add-app --name digits --input-type ints --input-length 64 --slo-us 2000000 "
      "--default-output -1 --policy exp3 --model zero --model xgb");
  auto refused = test::run_command(std::string{"timeout 60 "} + TROUPE_BINARY +
                                   " serve remove-model --name nothing " + admin + " 2>&1");
  BOOST_CHECK_EQUAL(refused.status, 2);
  BOOST_CHECK_NE(refused.output.find("no model named 'nothing'"), std::string::npos);
  auto digits = held_out_digits();
  auto xgb_share = [&](uint16_t port) {
    rest q{port};
    size_t from_xgb = 0;
    for (size_t i = 0; i < 100; ++i) {
      auto r = q.call("POST", "/digits/predict", "{\"input\":" + digits[i].pixels + "}");
      BOOST_REQUIRE_EQUAL(r.status, 200u);
      from_xgb += r.body["models_used"][0] == "xgb:1";
    }
    return double(from_xgb) / 100;
  };
  {
    rest q{s.port};
    for (size_t i = 0; i < 250; ++i) {
      auto r = q.call("POST", "/digits/update",
                      "{\"input\":" + digits[i].pixels + ",\"label\":" +
                        std::to_string(digits[i].label) + "}");
      BOOST_REQUIRE_EQUAL(r.status, 200u);
    }
  }
  auto before = xgb_share(s.port);
  BOOST_CHECK_GT(before, 0.8);
  BOOST_CHECK_EQUAL(s.process.stop(5s), 0);
  auto again = start_serve(dir);
  auto state = json::parse(test::run_command(std::string{TROUPE_BINARY} +
                                             " serve list --admin 127.0.0.1:" +
                                             std::to_string(again.admin_port))
                             .output);
  BOOST_REQUIRE_EQUAL(state["apps"].size(), 1u);
  BOOST_CHECK_EQUAL(state["apps"][0]["name"], "digits");
  BOOST_CHECK_EQUAL(state["models"].size(), 2u);
  // Without new feedback, the restarted bandit still prefers xgb.
  auto after = xgb_share(again.port);
  BOOST_TEST_MESSAGE("share of answers from xgb: " << before << " before restart, " << after
                                                   << " after");
  BOOST_CHECK_GT(after, 0.8);
  BOOST_CHECK_EQUAL(again.process.stop(5s), 0);
}

BOOST_AUTO_TEST_CASE(troupe_serve_closes_idle_query_connections_after_its_idle_timeout) {
  test::temp_dir dir;
  auto s = start_serve(dir, {"--idle-timeout", "1", "--request-timeout-ms", "5000"});
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(fd >= 0);
  timeval patience{6, 0};  // the default idle timeout (60 s) would outlast it
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(s.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  auto start = std::chrono::steady_clock::now();
  char byte;
  auto n = ::recv(fd, &byte, 1, 0);  // nothing sent: the server should hang up
  auto waited_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count();
  ::close(fd);
  BOOST_CHECK_EQUAL(n, 0);  // 0: closed by the server; -1: still open at 6 s
  BOOST_CHECK_GE(waited_ms, 900);
  BOOST_CHECK_LT(waited_ms, 4000);
  // A connection in use is not cut: a query still gets its answer.
  rest q{s.port};
  BOOST_CHECK_EQUAL(q.call("GET", "/metrics", "").status, 200u);
  BOOST_CHECK_EQUAL(s.process.stop(5s), 0);
}
