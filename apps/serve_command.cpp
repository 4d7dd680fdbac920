// troupe serve: the serving system (after Clipper).
//   troupe serve start       runs a frontend (REST + admin API) until SIGINT/SIGTERM
//   troupe serve add-app ... admin requests to a running frontend, over its
//   admin REST API (the same JSON a curl user sends; see README "Serving")
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/serving/http_client.hpp"
#include "actors/serving/query_json.hpp"
#include "apps/command.hpp"
#include "apps/serve_start.hpp"
#include "messages/errors.hpp"
#include "messages/serving_protocol.hpp"
#include "messages/serving_specs.hpp"
#include "runtime/child_process.hpp"
#include "runtime/cluster_client.hpp"
#include "runtime/node.hpp"

namespace troupe {

namespace {

using json = nlohmann::json;
using namespace serving;


// -- admin client ---------------------------------------------------------------

struct admin_target {
  std::string address = "127.0.0.1:1338";
  int timeout_s = 90;
};

/// Sends one admin request and prints the answer; the exit code says how it went.
/// Replaces this process by troupe-serve (installed next to troupe), so
/// that signals and the exit status are the frontend's own.
int exec_troupe_serve(const serve_start_options& o) {
  auto program = (std::filesystem::path{self_executable()}.parent_path() / "troupe-serve").string();
  auto args = serve_start_args(o);
  std::vector<char*> argv;
  argv.push_back(program.data());
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(program.c_str(), argv.data());
  std::cerr << "troupe serve: cannot run " << program << ": " << std::strerror(errno) << "\n";
  return exit_failure;
}

int admin_call(const admin_target& t, const std::string& method, const std::string& op,
               const json& body) {
  auto colon = t.address.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "troupe serve: --admin must be host:port, not '" << t.address << "'\n";
    return exit_bad_usage;
  }
  auto host = t.address.substr(0, colon);
  int port = std::atoi(t.address.c_str() + colon + 1);
  if (port <= 0 || port > 65535) {
    std::cerr << "troupe serve: bad port in --admin '" << t.address << "'\n";
    return exit_bad_usage;
  }
  auto timeout = std::chrono::seconds{t.timeout_s};
  auto client = http_client::connect(host, static_cast<uint16_t>(port), timeout);
  if (!client) {
    std::cerr << "troupe serve: cannot reach the admin API at " << t.address << ": "
              << describe(client.error()) << "\n";
    return exit_failure;
  }
  auto resp = client->request(method, "/admin/" + op, body.is_null() ? "" : body.dump(), timeout);
  if (!resp) {
    std::cerr << "troupe serve: " << op << ": " << describe(resp.error()) << "\n";
    return exit_failure;
  }
  if (resp->status != 200) {
    auto doc = json::parse(resp->body, nullptr, false);
    auto msg = !doc.is_discarded() && doc.contains("error") ? doc["error"].get<std::string>()
                                                            : resp->body;
    std::cerr << "troupe serve: " << op << " failed (HTTP " << resp->status << "): " << msg
              << "\n";
    return resp->status < 500 ? exit_bad_usage : exit_failure;
  }
  auto doc = json::parse(resp->body, nullptr, false);
  std::cout << (doc.is_discarded() ? resp->body : doc.dump(2)) << std::endl;
  return exit_ok;
}

/// `troupe serve predict`: a client actor's typed request to an app actor
/// found in the cluster directory.
int typed_predict(const std::string& seed, const std::string& app, const std::string& input,
                  const std::string& kind_name, int timeout_ms) {
  input_kind kind;
  if (!from_string(kind_name, kind)) {
    std::cerr << "troupe serve: --input-type '" << kind_name << "' is none of doubles, floats, "
              << "ints, strings, bytes\n";
    return exit_bad_usage;
  }
  auto request = parse_predict_request("{\"input\":" + input + "}", kind, 0);
  if (!request) {
    std::cerr << "troupe serve: --input: " << describe(request.error()) << "\n";
    return exit_bad_usage;
  }
  node_config defaults;
  auto cfg = make_actor_system_config(defaults);
  caf::actor_system sys{*cfg};
  auto timeout = std::chrono::milliseconds{timeout_ms};
  auto client = cluster_client::connect(sys, seed, timeout);
  if (!client) {
    std::cerr << "troupe serve: " << describe(client.error()) << "\n";
    return exit_failure;
  }
  auto target = client->lookup_as<app_actor>("serving.app." + app);
  if (!target) {
    std::cerr << "troupe serve: " << describe(target.error()) << "\n";
    return exit_failure;
  }
  caf::scoped_actor self{sys};
  int rc = exit_ok;
  self->request(*target, timeout, predict_atom::value, request->inputs.front())
    .receive([](prediction& p) { std::cout << render_prediction(p) << std::endl; },
             [&](caf::error& err) {
               std::cerr << "troupe serve: predict: " << describe(err) << "\n";
               rc = exit_failure;
             });
  return rc;
}

void add_admin_flags(CLI::App* cmd, admin_target& t) {
  cmd->add_option("--admin", t.address, "host:port of the frontend's admin API")
    ->capture_default_str();
  cmd->add_option("--timeout", t.timeout_s, "seconds to wait for the answer")
    ->capture_default_str();
}

} // namespace

command_runner add_serve_command(CLI::App& app) {
  auto* serve = app.add_subcommand("serve", "Prediction serving (after Clipper): run a "
                                            "frontend, manage its apps and models");
  serve->require_subcommand(1);
  auto run = std::make_shared<command_runner>();
  auto target = std::make_shared<admin_target>();

  auto start = std::make_shared<serve_start_options>();
  auto* s = serve->add_subcommand("start", "Run a frontend: REST queries on --port, the admin "
                                           "API on --admin-port, until SIGINT/SIGTERM");
  add_serve_start_options(s, *start);
  s->callback([run, start] { *run = [start] { return exec_troupe_serve(*start); }; });

  auto a = serve->add_subcommand("add-app", "Add an application");
  auto app_fields = std::make_shared<std::tuple<std::string, std::string, uint64_t, int64_t,
                                                std::string, std::string,
                                                std::vector<std::string>>>(
    "", "doubles", 0, 20000, "null", "single", std::vector<std::string>{});
  a->add_option("--name", std::get<0>(*app_fields), "app name (its URL: /<name>/predict)")
    ->required();
  a->add_option("--input-type", std::get<1>(*app_fields), "doubles|floats|ints|strings|bytes")
    ->capture_default_str();
  a->add_option("--input-length", std::get<2>(*app_fields), "values per input; 0: any")
    ->capture_default_str();
  a->add_option("--slo-us", std::get<3>(*app_fields), "latency objective in microseconds")
    ->capture_default_str();
  a->add_option("--default-output", std::get<4>(*app_fields),
                "answer when no model makes the deadline")
    ->capture_default_str();
  a->add_option("--policy", std::get<5>(*app_fields), "single|exp3|exp4")->capture_default_str();
  a->add_option("--model", std::get<6>(*app_fields), "link this model; repeatable");
  add_admin_flags(a, *target);
  a->callback([run, target, app_fields] {
    *run = [target, app_fields] {
      auto& [name, input, length, slo, def, policy, models] = *app_fields;
      return admin_call(*target, "POST", "add_app",
                        json{{"name", name},
                             {"input_type", input},
                             {"input_length", length},
                             {"latency_slo_micros", slo},
                             {"default_output", def},
                             {"selection_policy", policy},
                             {"candidate_model_names", models}});
    };
  });

  auto model = std::make_shared<model_spec>();
  auto m = serve->add_subcommand("add-model", "Add a model version and make it current");
  m->add_option("--name", model->name, "model name")->required();
  m->add_option("--version", model->version, "version number")->capture_default_str();
  m->add_option("--backend", model->backend, "noop|xgboost|torchscript|compiled|container")
    ->capture_default_str();
  m->add_option("--path", model->path,
                "model file; for 'container', the container's command line "
                "(e.g. \"troupe-container --backend xgboost --path m.json\")");
  m->add_option("--replicas", model->replicas, "replicas (one core each)")->capture_default_str();
  m->add_option("--max-batch", model->max_batch, "largest batch AIMD may reach")
    ->capture_default_str();
  m->add_option("--batch-wait-us", model->batch_delay_us,
                "delayed batching: wait up to this long to fill a batch")
    ->capture_default_str();
  m->add_option("--batches-in-flight", model->batches_in_flight,
                "batches sent to each replica's container at once (1: strictly one at a time)")
    ->capture_default_str();
  m->add_option("--thread", model->thread,
                "where an in-process replica computes: own (a thread of its own) or shared "
                "(the actor scheduler's workers; for small batches only)")
    ->check(CLI::IsMember({"own", "shared"}))
    ->capture_default_str();
  m->add_option("--host", model->hosts,
                "model host (node service model_host=NAME) for replica i % count, or 'local'; "
                "repeatable");
  add_admin_flags(m, *target);
  m->callback([run, target, model] {
    *run = [target, model] {
      return admin_call(*target, "POST", "add_model",
                        json{{"model_name", model->name},
                             {"model_version", model->version},
                             {"backend", model->backend},
                             {"path", model->path},
                             {"replicas", model->replicas},
                             {"max_batch_size", model->max_batch},
                             {"batch_wait_timeout_micros", model->batch_delay_us},
                             {"batches_in_flight", model->batches_in_flight},
                             {"hosts", model->hosts},
                             {"thread", model->thread}});
    };
  });

  auto link = std::make_shared<std::pair<std::string, std::vector<std::string>>>();
  for (auto [verb, op] : {std::pair{"link", "add_model_links"},
                          std::pair{"unlink", "remove_model_links"}}) {
    auto* l = serve->add_subcommand(verb, std::string{verb == std::string{"link"}
                                                        ? "Link models to an app"
                                                        : "Unlink models from an app"});
    l->add_option("--app", link->first, "app name")->required();
    l->add_option("--model", link->second, "model name; repeatable")->required();
    add_admin_flags(l, *target);
    std::string operation = op;
    l->callback([run, target, link, operation] {
      *run = [target, link, operation] {
        return admin_call(*target, "POST", operation,
                          json{{"app_name", link->first}, {"model_names", link->second}});
      };
    });
  }

  auto named = std::make_shared<std::pair<std::string, uint32_t>>("", 1);
  auto* v = serve->add_subcommand("set-version", "Make a stored version current (rollback)");
  v->add_option("--model", named->first, "model name")->required();
  v->add_option("--version", named->second, "version")->required();
  add_admin_flags(v, *target);
  v->callback([run, target, named] {
    *run = [target, named] {
      return admin_call(*target, "POST", "set_model_version",
                        json{{"model_name", named->first}, {"model_version", named->second}});
    };
  });
  auto* r = serve->add_subcommand("set-replicas", "Set the replicas of a model's current version");
  r->add_option("--model", named->first, "model name")->required();
  r->add_option("--replicas", named->second, "replicas")->required();
  add_admin_flags(r, *target);
  r->callback([run, target, named] {
    *run = [target, named] {
      return admin_call(*target, "POST", "set_model_replicas",
                        json{{"model_name", named->first}, {"replicas", named->second}});
    };
  });
  auto* ra = serve->add_subcommand("remove-app", "Remove an application and its learned state");
  ra->add_option("--name", named->first, "app name")->required();
  add_admin_flags(ra, *target);
  ra->callback([run, target, named] {
    *run = [target, named] {
      return admin_call(*target, "POST", "delete_app", json{{"name", named->first}});
    };
  });
  auto* rm = serve->add_subcommand("remove-model",
                                   "Remove a model (refused if an app would be left without)");
  rm->add_option("--name", named->first, "model name")->required();
  add_admin_flags(rm, *target);
  rm->callback([run, target, named] {
    *run = [target, named] {
      return admin_call(*target, "POST", "delete_model", json{{"model_name", named->first}});
    };
  });
  auto query = std::make_shared<std::tuple<std::string, std::string, std::string, std::string,
                                            int>>("127.0.0.1:7000", "", "", "doubles", 5000);
  auto* p = serve->add_subcommand(
    "predict", "Send one typed query to an app through the cluster (no HTTP): the app actor "
               "that a frontend started with --seed publishes as serving.app.<app>");
  p->add_option("--seed", std::get<0>(*query), "host:port of a cluster member")
    ->capture_default_str();
  p->add_option("--app", std::get<1>(*query), "app name")->required();
  p->add_option("--input", std::get<2>(*query),
                "the input as JSON, as in {\"input\": ...} (e.g. '[1.5, 2]')")
    ->required();
  p->add_option("--input-type", std::get<3>(*query), "doubles|floats|ints|strings|bytes")
    ->capture_default_str();
  p->add_option("--timeout-ms", std::get<4>(*query), "how long to wait for the answer")
    ->capture_default_str();
  p->callback([run, query] {
    *run = [query] {
      auto& [seed, app_name, input, kind_name, timeout_ms] = *query;
      return typed_predict(seed, app_name, input, kind_name, timeout_ms);
    };
  });

  auto* ls = serve->add_subcommand("list", "Print the apps and models as JSON");
  add_admin_flags(ls, *target);
  ls->callback([run, target] {
    *run = [target] { return admin_call(*target, "GET", "get_state", json{}); };
  });
  return [run] { return *run ? (*run)() : exit_bad_usage; };
}

} // namespace troupe
