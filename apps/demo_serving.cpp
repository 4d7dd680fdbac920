// Step 8 of `troupe demo`: the serving system as a user runs it. A real
// `troupe serve` process; an XGBoost model (by troupe-make-models) and the
// MLP that step 7 trained with DDP and saved as TorchScript, both trained on
// the same training split of the digits; an Exp4 ensemble app made
// through the admin REST API; held-out digits sent through the REST API one
// query at a time, with their accuracy and latency; feedback; /metrics.
#include "apps/demo_serving.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "actors/serving/http_client.hpp"
#include "messages/errors.hpp"
#include "runtime/child_process.hpp"

namespace troupe {

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using serving::http_client;
using clock_type = std::chrono::steady_clock;

struct held_out {
  std::string pixels;  // JSON array of 64 values
  int label;
};

std::vector<held_out> read_digits(const std::string& csv) {
  std::ifstream in{csv};
  std::vector<held_out> out;
  for (std::string line; std::getline(in, line);) {
    auto last = line.rfind(',');
    if (last != std::string::npos)
      out.push_back({"[" + line.substr(0, last) + "]", std::stoi(line.substr(last + 1))});
  }
  return out;
}

caf::error admin_post(http_client& admin, const std::string& op, const json& body) {
  auto r = admin.request("POST", "/admin/" + op, body.dump(), 60s);
  if (!r)
    return r.error();
  if (r->status != 200)
    return make_error(errc::invalid_argument, op + " answered " + std::to_string(r->status) +
                                                ": " + r->body);
  return caf::none;
}

std::string label_of(const json& output) {
  if (output.is_number())
    return std::to_string(static_cast<long long>(output.get<double>()));
  return output.is_string() ? output.get<std::string>() : output.dump();
}

} // namespace

caf::error serve_digits(const std::string& program, const std::string& dir) {
  std::cout << "[8/8] serving digits: troupe serve, an XGBoost model and a TorchScript MLP "
               "in an Exp4 ensemble, queried over REST\n";
  auto models = dir + "/models";
  auto ready = dir + "/serve-ready.json";
  auto serve = child_process::spawn({program, "serve", "start", "--port", "0", "--admin-port",
                                     "0", "--store", dir + "/serving-store", "--ready-file",
                                     ready},
                                    dir + "/serve.log");
  if (!serve)
    return serve.error();
  json info;
  for (auto start = clock_type::now(); clock_type::now() - start < 20s;
       std::this_thread::sleep_for(20ms)) {
    std::ifstream in{ready};
    info = json::parse(in, nullptr, false);
    if (!info.is_discarded() && info.contains("admin_port"))
      break;
  }
  if (info.is_discarded() || !info.contains("admin_port"))
    return make_error(errc::timeout, "troupe serve did not start, see " + dir + "/serve.log");
  uint16_t port = info["port"];
  uint16_t admin_port = info["admin_port"];
  std::cout << fmt::format("      troupe serve (pid {}): queries on :{}, admin on :{}\n",
                           serve->pid(), port, admin_port);
  auto admin = http_client::connect("127.0.0.1", admin_port, 5s);
  if (!admin)
    return admin.error();
  for (auto& [name, backend, file] :
       {std::tuple{"xgb", "xgboost", models + "/digits_xgb.json"},
        std::tuple{"mlp", "torchscript", dir + "/digits_ddp_mlp.pt"}})
    if (auto err = admin_post(*admin, "add_model",
                              json{{"model_name", name},
                                   {"model_version", 1},
                                   {"backend", backend},
                                   {"path", file}}))
      return err;
  if (auto err = admin_post(*admin, "add_app",
                            json{{"name", "digits"},
                                 {"input_type", "ints"},
                                 {"input_length", 64},
                                 {"latency_slo_micros", 20000},
                                 {"default_output", -1},
                                 {"selection_policy", "exp4"},
                                 {"candidate_model_names", {"xgb", "mlp"}}}))
    return err;
  std::cout << "      admin API: added models xgb:1 (XGBoost, by troupe-make-models), mlp:1 "
               "(TorchScript, the MLP that DDP trained in step 7) and app 'digits' (exp4, "
               "SLO 20 ms)\n";
  auto digits = read_digits(models + "/test.csv");
  auto queries = http_client::connect("127.0.0.1", port, 5s);
  if (!queries)
    return queries.error();
  std::vector<double> latencies_us;
  size_t right = 0, defaults = 0;
  for (auto& d : digits) {
    auto sent = clock_type::now();
    auto r = queries->request("POST", "/digits/predict", "{\"input\":" + d.pixels + "}", 5s);
    if (!r)
      return r.error();
    latencies_us.push_back(
      std::chrono::duration<double, std::micro>(clock_type::now() - sent).count());
    auto body = json::parse(r->body, nullptr, false);
    if (r->status != 200 || body.is_discarded())
      return make_error(errc::invalid_argument, "predict answered " + std::to_string(r->status) +
                                                  ": " + r->body);
    right += label_of(body["output"]) == std::to_string(d.label);
    defaults += body["default"] == true;
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  auto quantile = [&](double q) {
    return latencies_us[std::min(latencies_us.size() - 1,
                                 static_cast<size_t>(q * latencies_us.size()))];
  };
  auto accuracy = double(right) / double(digits.size());
  std::cout << fmt::format("      {} held-out digits over REST: accuracy {:.1f} %, {} default "
                           "answers, latency p50 {:.0f} us, p99 {:.0f} us\n",
                           digits.size(), 100 * accuracy, defaults, quantile(0.5),
                           quantile(0.99));
  size_t taught = 0;
  for (size_t i = 0; i < digits.size() && i < 100; ++i) {
    auto r = queries->request("POST", "/digits/update",
                              "{\"input\":" + digits[i].pixels + ",\"label\":" +
                                std::to_string(digits[i].label) + "}",
                              5s);
    taught += r && r->status == 200;
  }
  auto metrics = queries->request("GET", "/metrics", "", 5s);
  std::string batch_line;
  if (metrics)
    for (std::istringstream in{metrics->body}; std::getline(in, batch_line);)
      if (batch_line.rfind("troupe_serving_cache_hits_total", 0) == 0)
        break;
  std::cout << fmt::format("      {} labels sent to POST /digits/update; /metrics: {}\n",
                           taught, batch_line);
  serve->stop(5s);
  if (accuracy < 0.9)
    return make_error(errc::invalid_argument,
                      fmt::format("accuracy through REST {:.3f} is below 0.9", accuracy));
  return caf::none;
}

} // namespace troupe
