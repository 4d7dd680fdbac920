// troupe serve: the serving system (after Clipper).
//   troupe serve start       runs a frontend (REST + admin API) until SIGINT/SIGTERM
//   troupe serve add-app ... admin requests to a running frontend, over its
//   admin REST API (the same JSON a curl user sends; see README "Serving")
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/serving/http_client.hpp"
#include "actors/serving/serving_frontend.hpp"
#include "apps/command.hpp"
#include "messages/errors.hpp"
#include "runtime/logging.hpp"
#include "runtime/node.hpp"
#include "runtime/state_store.hpp"

namespace troupe {

namespace {

using json = nlohmann::json;
using namespace serving;

struct start_options {
  frontend_options frontend;
  std::string store = "troupe-serving";
  std::string ready_file;
  std::string log_level = "info";
  size_t cache_mb = 64;
};

std::string program_dir() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string{} : self.parent_path().string();
}

bool write_json_atomically(const std::string& path, const json& doc) {
  auto tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f)
    return false;
  auto text = doc.dump();
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  return ok && std::rename(tmp.c_str(), path.c_str()) == 0;
}

int run_start(start_options& o) {
  init_logging("serve", o.log_level);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::error_code ec;
  std::filesystem::create_directories(o.store, ec);
  auto& f = o.frontend;
  if (f.work_dir.empty())
    f.work_dir = o.store + "/containers";
  std::filesystem::create_directories(f.work_dir, ec);
  if (ec) {
    std::cerr << "troupe serve: cannot create " << f.work_dir << ": " << ec.message() << "\n";
    return exit_failure;
  }
  f.program_dir = program_dir();
  f.cache_bytes = o.cache_mb << 20;
  node_config defaults;
  auto cfg = make_actor_system_config(defaults);
  auto sys = std::make_unique<caf::actor_system>(*cfg);
  auto store = spawn_state_store(*sys, {o.store + "/db", true, uint64_t{64} << 20});
  if (!store) {
    std::cerr << "troupe serve: " << describe(store.error()) << "\n";
    return exit_failure;
  }
  auto frontend = serving_frontend::start(*sys, *store, f);
  if (!frontend) {
    std::cerr << "troupe serve: " << describe(frontend.error()) << "\n";
    caf::anon_send_exit(*store, caf::exit_reason::user_shutdown);
    return exit_failure;
  }
  auto& fe = **frontend;
  std::cout << "troupe serve: queries on http://" << f.host << ":" << fe.port()
            << ", admin on http://" << f.host << ":" << fe.admin_port() << ", store "
            << o.store << std::endl;
  if (!o.ready_file.empty() &&
      !write_json_atomically(o.ready_file, json{{"host", f.host},
                                                {"port", fe.port()},
                                                {"admin_port", fe.admin_port()},
                                                {"pid", ::getpid()}})) {
    std::cerr << "troupe serve: cannot write the ready file " << o.ready_file << "\n";
    return exit_failure;
  }
  int signo = 0;
  sigwait(&stop_signals, &signo);
  spdlog::info("serving: stopping (signal {})", signo);
  fe.stop();
  caf::anon_send_exit(*store, caf::exit_reason::user_shutdown);
  // As in `troupe node`: bounded teardown (CAF 0.17 may wait forever for a
  // detached actor a vanished peer references); the store is closed by now.
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds{5});
    spdlog::warn("actor system did not stop within 5 s; exiting anyway");
    std::_Exit(exit_ok);
  }).detach();
  frontend->reset();
  sys.reset();
  return exit_ok;
}

// -- admin client ---------------------------------------------------------------

struct admin_target {
  std::string address = "127.0.0.1:1338";
  int timeout_s = 90;
};

/// Sends one admin request and prints the answer; the exit code says how it went.
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

  auto start = std::make_shared<start_options>();
  auto* s = serve->add_subcommand("start", "Run a frontend: REST queries on --port, the admin "
                                           "API on --admin-port, until SIGINT/SIGTERM");
  s->add_option("--host", start->frontend.host, "address to listen on")->capture_default_str();
  s->add_option("--port", start->frontend.port, "query port (POST /<app>/predict); 0: free")
    ->capture_default_str();
  s->add_option("--admin-port", start->frontend.admin_port, "admin API port; 0: free")
    ->capture_default_str();
  s->add_option("--store", start->store,
                "directory of the RocksDB store holding apps, models and policy state")
    ->capture_default_str();
  s->add_option("--threads", start->frontend.http_threads, "HTTP I/O threads")
    ->capture_default_str();
  s->add_option("--cache-mb", start->cache_mb, "prediction cache size in MiB; 0: off")
    ->capture_default_str();
  s->add_option("--body-limit", start->frontend.body_limit,
                "largest request body in bytes (larger: 413)")
    ->capture_default_str();
  s->add_option("--work-dir", start->frontend.work_dir,
                "where container processes keep logs (default: STORE/containers)");
  s->add_option("--ready-file", start->ready_file,
                "write {host, port, admin_port, pid} here as JSON once serving");
  s->add_option("--log-level", start->log_level, "trace|debug|info|warn|error|off")
    ->capture_default_str();
  s->callback([run, start] { *run = [start] { return run_start(*start); }; });

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
  m->add_option("--backend", model->backend, "noop|xgboost|torchscript|container")
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
                             {"batch_wait_timeout_micros", model->batch_delay_us}});
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
  auto* ls = serve->add_subcommand("list", "Print the apps and models as JSON");
  add_admin_flags(ls, *target);
  ls->callback([run, target] {
    *run = [target] { return admin_call(*target, "GET", "get_state", json{}); };
  });
  return [run] { return *run ? (*run)() : exit_bad_usage; };
}

} // namespace troupe
