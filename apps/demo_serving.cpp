// Step 8 of `troupe demo`: the serving system as a user runs it. A real
// `troupe serve` process; an XGBoost model (by troupe-make-models) served
// by a container process (troupe-container, over Cap'n Proto RPC), the MLP
// that step 7 trained with DDP and saved as TorchScript, in process, and the
// same MLP compiled to native code by `troupe compile`, all trained on the
// same training split of the digits; an Exp4 ensemble app of the three and
// an app of the compiled MLP alone, made through the admin REST API;
// held-out digits sent through the REST API one query at a time, with their
// accuracy and latency; feedback, and the weights Exp4 learned from it
// (/metrics).
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

struct rest_results {
  double accuracy = 0;
  size_t defaults = 0;
  std::vector<double> latencies_us;  ///< sorted

  double quantile(double q) const {
    return latencies_us[std::min(latencies_us.size() - 1,
                                 static_cast<size_t>(q * static_cast<double>(latencies_us.size())))];
  }
};

// Sends every digit to POST /APP/predict, one query at a time.
caf::expected<rest_results> query_app(http_client& queries, const std::string& app,
                                      const std::vector<held_out>& digits) {
  rest_results results;
  size_t right = 0;
  for (auto& d : digits) {
    auto sent = clock_type::now();
    auto r = queries.request("POST", "/" + app + "/predict", "{\"input\":" + d.pixels + "}", 5s);
    if (!r)
      return r.error();
    results.latencies_us.push_back(
      std::chrono::duration<double, std::micro>(clock_type::now() - sent).count());
    auto body = json::parse(r->body, nullptr, false);
    if (r->status != 200 || body.is_discarded())
      return make_error(errc::invalid_argument, app + " predict answered " +
                                                  std::to_string(r->status) + ": " + r->body);
    right += label_of(body["output"]) == std::to_string(d.label);
    results.defaults += body["default"] == true;
  }
  std::sort(results.latencies_us.begin(), results.latencies_us.end());
  results.accuracy = double(right) / double(digits.size());
  return results;
}

} // namespace

caf::error serve_digits(const std::string& program, const std::string& dir) {
  std::cout << "[8/8] serving digits: troupe serve, an XGBoost model in a container process, a "
               "TorchScript MLP and the compiled MLP in an Exp4 ensemble, queried over REST\n";
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
  // The container's command line: a bare program name is found next to
  // troupe; the frontend's supervisor starts it and restarts it if it dies.
  auto xgb_container = "troupe-container --backend xgboost --input-kind ints --input-length 64 "
                       "--path " + models + "/digits_xgb.json";
  for (auto& [name, backend, file] :
       {std::tuple{"xgb", "container", xgb_container},
        std::tuple{"mlp", "torchscript", dir + "/digits_ddp_mlp.pt"},
        std::tuple{"mlp-compiled", "compiled", dir + "/digits_ddp_mlp.troupe"}})
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
                                 {"candidate_model_names", {"xgb", "mlp", "mlp-compiled"}}}))
    return err;
  if (auto err = admin_post(*admin, "add_app",
                            json{{"name", "digits-compiled"},
                                 {"input_type", "ints"},
                                 {"input_length", 64},
                                 {"latency_slo_micros", 20000},
                                 {"default_output", -1},
                                 {"selection_policy", "single"},
                                 {"candidate_model_names", {"mlp-compiled"}}}))
    return err;
  std::cout << "      admin API: added models xgb:1 (XGBoost by troupe-make-models, in a "
               "troupe-container process), mlp:1 "
               "(TorchScript, the MLP that DDP trained in step 7), mlp-compiled:1 (that MLP "
               "compiled by troupe compile), app 'digits' (exp4 over the three, SLO 20 ms) and "
               "app 'digits-compiled' (mlp-compiled alone)\n";
  auto digits = read_digits(models + "/test.csv");
  auto queries = http_client::connect("127.0.0.1", port, 5s);
  if (!queries)
    return queries.error();
  // The compiled MLP alone first: its latencies are its own, not the cache's.
  auto compiled = query_app(*queries, "digits-compiled", digits);
  if (!compiled)
    return compiled.error();
  std::cout << fmt::format("      {} held-out digits over REST to the compiled MLP alone: accuracy "
                           "{:.1f} %, {} default answers, latency p50 {:.0f} us, p99 {:.0f} us\n",
                           digits.size(), 100 * compiled->accuracy, compiled->defaults,
                           compiled->quantile(0.5), compiled->quantile(0.99));
  auto ensemble = query_app(*queries, "digits", digits);
  if (!ensemble)
    return ensemble.error();
  std::cout << fmt::format("      {} held-out digits over REST to the ensemble: accuracy {:.1f} %, "
                           "{} default answers, latency p50 {:.0f} us, p99 {:.0f} us\n",
                           digits.size(), 100 * ensemble->accuracy, ensemble->defaults,
                           ensemble->quantile(0.5), ensemble->quantile(0.99));
  size_t taught = 0;
  for (size_t i = 0; i < digits.size() && i < 100; ++i) {
    auto r = queries->request("POST", "/digits/update",
                              "{\"input\":" + digits[i].pixels + ",\"label\":" +
                                std::to_string(digits[i].label) + "}",
                              5s);
    taught += r && r->status == 200;
  }
  auto metrics = queries->request("GET", "/metrics", "", 5s);
  if (!metrics)
    return metrics.error();
  std::string cache_line;
  double container_batches = 0;  // batches the XGBoost container process answered
  std::vector<std::pair<std::string, double>> weights;  // model, share of the weights
  const std::string weight_prefix = "troupe_serving_policy_weight{app=\"digits\",model=\"";
  std::istringstream lines{metrics->body};
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("troupe_serving_cache_hits_total{app=\"digits\"}", 0) == 0)
      cache_line = line;
    if (line.rfind("troupe_serving_batches{model=\"xgb:1\"", 0) == 0)
      container_batches += std::stod(line.substr(line.rfind(' ') + 1));
    if (line.rfind(weight_prefix, 0) == 0) {
      auto name_end = line.find('"', weight_prefix.size());
      auto value_at = line.rfind(' ');
      if (name_end != std::string::npos && value_at != std::string::npos)
        weights.emplace_back(line.substr(weight_prefix.size(), name_end - weight_prefix.size()),
                             std::stod(line.substr(value_at + 1)));
    }
  }
  std::cout << fmt::format("      {} labels sent to POST /digits/update; /metrics: {}\n",
                           taught, cache_line);
  std::cout << fmt::format("      the XGBoost container process answered {:.0f} batches\n",
                           container_batches);
  if (container_batches == 0)
    return make_error(errc::invalid_argument, "the XGBoost container answered no batch, see " +
                                                dir + "/serve.log");
  if (weights.empty())
    return make_error(errc::invalid_argument, "/metrics shows no Exp4 weights for app 'digits'");
  std::sort(weights.begin(), weights.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string shares;
  for (auto& [model, share] : weights)
    shares += fmt::format("{}{} {:.3f}", shares.empty() ? "" : ", ", model, share);
  std::cout << fmt::format("      Exp4's weights after the feedback: {}; the bandit favours {}\n",
                           shares, weights.front().first);
  serve->stop(5s);
  if (ensemble->accuracy < 0.9)
    return make_error(errc::invalid_argument, fmt::format("accuracy through REST {:.3f} is below 0.9",
                                                          ensemble->accuracy));
  if (compiled->accuracy < 0.9)
    return make_error(errc::invalid_argument,
                      fmt::format("the compiled MLP's accuracy through REST {:.3f} is below 0.9",
                                  compiled->accuracy));
  return caf::none;
}

} // namespace troupe
