#include "actors/serving/serving_frontend.hpp"

#include <mutex>
#include <unordered_map>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/serving/http_server.hpp"
#include "actors/serving/query_json.hpp"
#include "actors/serving/spec_json.hpp"
#include "messages/errors.hpp"
#include "messages/type_ids.hpp"
#include "runtime/cluster_client.hpp"

namespace troupe::serving {

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using admin_atom = caf::atom_constant<caf::atom("t_admin")>;

constexpr auto admin_timeout = 60s;  // a model version may take a while to load

/// Responders of requests the gateway is working on, by ticket: the
/// gateway's messages carry the ticket, not the (unserializable) callback.
class ticket_book {
public:
  uint64_t add(http_responder r) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto t = next_++;
    open_.emplace(t, std::move(r));
    return t;
  }
  void answer(uint64_t ticket, http_response response) {
    http_responder r;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto i = open_.find(ticket);
      if (i == open_.end())
        return;
      r = std::move(i->second);
      open_.erase(i);
    }
    r(std::move(response));
  }

private:
  std::mutex mtx_;
  uint64_t next_ = 1;
  std::unordered_map<uint64_t, http_responder> open_;
};

http_response json_response(unsigned status, std::string body) {
  return http_response{status, "application/json", std::move(body)};
}

http_response error_response(const caf::error& err) {
  return json_response(http_status_of(err), render_error(describe(err)));
}

http_response ok_response() {
  return json_response(200, R"({"ok":true})");
}

/// What an app with no serving model answers (Clipper: the default output).
prediction default_prediction(const app_spec& spec) {
  prediction p;
  p.output = spec.default_output;
  p.is_default = true;
  p.default_explanation = "no model linked to app '" + spec.name + "' is serving";
  return p;
}

struct gateway_context {
  ticket_book tickets;
  serving_manager_actor manager;
  std::shared_ptr<serving_metrics> metrics;
};

// -- admin requests -----------------------------------------------------------

caf::expected<json> admin_body(const std::string& body) {
  json doc;
  try {
    doc = json::parse(body, nullptr, false);
  } catch (const json::exception&) {  // out_of_range ("1e400") throws regardless
    doc = json::value_t::discarded;
  }
  if (doc.is_discarded() || !doc.is_object())
    return make_error(errc::invalid_argument, "the request body must be a JSON object");
  return doc;
}

caf::expected<std::string> string_field(const json& doc, const char* key) {
  auto i = doc.find(key);
  if (i == doc.end() || !i->is_string())
    return make_error(errc::invalid_argument,
                      std::string{"field \""} + key + "\" (a string) is missing");
  return i->get<std::string>();
}

caf::expected<uint32_t> count_field(const json& doc, const char* key) {
  auto i = doc.find(key);
  if (i == doc.end() || !i->is_number_integer() || i->get<int64_t>() < 0 ||
      i->get<int64_t>() > UINT32_MAX)
    return make_error(errc::invalid_argument,
                      std::string{"field \""} + key + "\" (a non-negative integer) is missing");
  return static_cast<uint32_t>(i->get<int64_t>());
}

/// Links or unlinks models one after the other; the first error stops it.
void link_all(caf::event_based_actor* self, std::shared_ptr<gateway_context> ctx,
              uint64_t ticket, bool link, std::string app, std::vector<std::string> models) {
  if (models.empty()) {
    ctx->tickets.answer(ticket, ok_response());
    return;
  }
  auto model = models.front();
  models.erase(models.begin());
  auto next = [=](caf::ok_atom) { link_all(self, ctx, ticket, link, app, models); };
  auto fail = [=](caf::error& err) { ctx->tickets.answer(ticket, error_response(err)); };
  if (link)
    self->request(ctx->manager, admin_timeout, link_atom::value, app, model).then(next, fail);
  else
    self->request(ctx->manager, admin_timeout, unlink_atom::value, app, model).then(next, fail);
}

void admin(caf::event_based_actor* self, std::shared_ptr<gateway_context> ctx, uint64_t ticket,
           const std::string& op, const std::string& body) {
  auto answer_ok = [ctx, ticket](caf::ok_atom) { ctx->tickets.answer(ticket, ok_response()); };
  auto answer_error = [ctx, ticket](caf::error& err) {
    ctx->tickets.answer(ticket, error_response(err));
  };
  auto fail = [&](const caf::error& err) { ctx->tickets.answer(ticket, error_response(err)); };
  auto& mgr = ctx->manager;
  if (op == "get_state") {
    self->request(mgr, admin_timeout, list_atom::value)
      .then([ctx, ticket](std::string& state) {
              ctx->tickets.answer(ticket, json_response(200, std::move(state)));
            },
            answer_error);
    return;
  }
  if (op == "add_app") {
    auto spec = parse_app_spec(body);
    if (!spec)
      return fail(spec.error());
    self->request(mgr, admin_timeout, add_app_atom::value, *spec).then(answer_ok, answer_error);
    return;
  }
  if (op == "add_model") {
    auto spec = parse_model_spec(body);
    if (!spec)
      return fail(spec.error());
    self->request(mgr, admin_timeout, add_model_atom::value, *spec).then(answer_ok, answer_error);
    return;
  }
  auto doc = admin_body(body);
  if (!doc)
    return fail(doc.error());
  if (op == "delete_app") {
    auto name = string_field(*doc, "name");
    if (!name)
      return fail(name.error());
    self->request(mgr, admin_timeout, remove_app_atom::value, *name)
      .then(answer_ok, answer_error);
  } else if (op == "delete_model") {
    auto name = string_field(*doc, "model_name");
    if (!name)
      return fail(name.error());
    self->request(mgr, admin_timeout, remove_model_atom::value, *name)
      .then(answer_ok, answer_error);
  } else if (op == "add_model_links" || op == "remove_model_links") {
    auto app = string_field(*doc, "app_name");
    if (!app)
      return fail(app.error());
    auto names = doc->find("model_names");
    std::vector<std::string> models;
    if (names != doc->end() && names->is_array())
      for (auto& m : *names)
        if (m.is_string())
          models.push_back(m.get<std::string>());
    if (models.empty() || models.size() != names->size())
      return fail(make_error(errc::invalid_argument,
                             "field \"model_names\" (a non-empty array of names) is missing"));
    link_all(self, ctx, ticket, op == "add_model_links", *app, std::move(models));
  } else if (op == "set_model_version") {
    auto name = string_field(*doc, "model_name");
    auto version = count_field(*doc, "model_version");
    if (!name)
      return fail(name.error());
    if (!version)
      return fail(version.error());
    self->request(mgr, admin_timeout, set_version_atom::value, *name, *version)
      .then(answer_ok, answer_error);
  } else if (op == "set_model_replicas") {
    auto name = string_field(*doc, "model_name");
    auto replicas = count_field(*doc, "replicas");
    if (!name)
      return fail(name.error());
    if (!replicas)
      return fail(replicas.error());
    self->request(mgr, admin_timeout, set_replicas_atom::value, *name, *replicas)
      .then(answer_ok, answer_error);
  } else {
    fail(make_error(errc::not_found, "no admin operation '" + op + "'"));
  }
}

// -- the gateway ----------------------------------------------------------------

caf::behavior gateway(caf::event_based_actor* self, std::shared_ptr<gateway_context> ctx) {
  return {
    [self, ctx](feedback_atom, uint64_t ticket, const caf::actor& target, feedback& fb,
                int64_t timeout_ms) {
      self->request(caf::actor_cast<app_actor>(target), std::chrono::milliseconds{timeout_ms},
                    feedback_atom::value, std::move(fb))
        .then([ctx, ticket](bool) { ctx->tickets.answer(ticket, ok_response()); },
              [ctx, ticket](caf::error& err) {
                ctx->tickets.answer(ticket, error_response(err));
              });
    },
    [self, ctx](stats_atom, uint64_t ticket) {
      self->request(ctx->manager, 5s, stats_atom::value)
        .then(
          [ctx, ticket](batcher_stats_list& stats) {
            ctx->metrics->update(stats);
            ctx->tickets.answer(ticket, http_response{200, "text/plain; version=0.0.4",
                                                      ctx->metrics->render()});
          },
          [ctx, ticket](caf::error& err) { ctx->tickets.answer(ticket, error_response(err)); });
    },
    [self, ctx](admin_atom, uint64_t ticket, const std::string& op, const std::string& body) {
      admin(self, ctx, ticket, op, body);
    },
  };
}

std::string path_of(const std::string& target) {
  return target.substr(0, target.find('?'));
}

} // namespace

unsigned http_status_of(const caf::error& err) {
  if (err.category() == error_category) {
    switch (static_cast<errc>(err.code())) {
      case errc::not_found:
        return 404;
      case errc::invalid_argument:
      case errc::invalid_config:
        return 400;
      case errc::already_exists:
        return 409;
      case errc::unavailable:
        return 503;
      case errc::timeout:
        return 504;
      default:
        return 500;
    }
  }
  if (err == caf::sec::request_timeout)
    return 504;
  return 500;
}

struct serving_frontend::impl {
  caf::actor_system* sys = nullptr;
  frontend_options opts;
  std::shared_ptr<gateway_context> ctx;
  std::shared_ptr<serving_routes> routes;
  serving_manager_actor manager;
  caf::actor gateway;
  std::unique_ptr<http_server> queries;
  std::unique_ptr<http_server> admin;
  bool stopped = false;

  void on_query(http_request req, http_responder respond) {
    auto path = path_of(req.target);
    if (path == "/metrics") {
      if (req.method != "GET")
        return respond(json_response(405, render_error("GET /metrics")));
      caf::anon_send(gateway, stats_atom::value, ctx->tickets.add(std::move(respond)));
      return;
    }
    // /<app>/predict or /<app>/update
    auto slash = path.find('/', 1);
    if (path.size() < 2 || path[0] != '/' || slash == std::string::npos)
      return respond(json_response(
        404, render_error("no such endpoint '" + path + "'; use POST /<app>/predict, "
                                                        "POST /<app>/update or GET /metrics")));
    auto name = path.substr(1, slash - 1);
    auto verb = path.substr(slash + 1);
    if (verb != "predict" && verb != "update")
      return respond(json_response(404, render_error("no such endpoint '" + path + "'")));
    if (req.method != "POST")
      return respond(json_response(405, render_error("use POST " + path)));
    auto route = routes->find(name);
    if (!route)
      return respond(json_response(404, render_error("no app named '" + name + "'")));
    if (verb == "update") {
      auto timeout_ms = route->spec.slo_us / 1000 + opts.reply_margin.count();
      auto fb = parse_feedback(req.body, route->spec.input, route->spec.input_length);
      if (!fb)
        return respond(error_response(fb.error()));
      if (!route->actor)
        return respond(json_response(
          503, render_error("no model linked to app '" + name + "' is serving; "
                                                               "feedback has nothing to learn")));
      caf::anon_send(gateway, feedback_atom::value, ctx->tickets.add(std::move(respond)),
                     caf::actor_cast<caf::actor>(route->actor), std::move(*fb), timeout_ms);
      return;
    }
    // The SLO counts from here: parsing a large body is part of the query's time.
    auto arrived = std::chrono::steady_clock::now();
    auto parsed = parse_predict_request(req.body, route->spec.input, route->spec.input_length);
    if (!parsed)
      return respond(error_response(parsed.error()));
    if (parsed->inputs.empty())
      return respond(json_response(200, render_batch({})));
    if (!parsed->batch && route->actor && route->cache && !route->single_model.empty()) {
      // Cache fast path: a "single" app's cached answer is served on this
      // thread, without a message (Clipper's cache, in front of the
      // selection layer, for the policy whose choice is known up front).
      auto& input = parsed->inputs.front();
      if (auto hit = route->cache->get(route->single_model, hash_input(input))) {
        prediction p;
        p.query_id = route->query_ids ? route->query_ids->fetch_add(1) + 1 : 0;
        p.output = std::move(*hit);
        p.models_used = {route->single_model};
        auto& m = route->metrics;
        if (m.queries)
          m.queries->Increment();
        if (m.cache_hits)
          m.cache_hits->Increment();
        if (m.latency_us)
          m.latency_us->Observe(static_cast<double>(
            std::chrono::duration_cast<std::chrono::microseconds>(
              std::chrono::steady_clock::now() - arrived)
              .count()));
        return respond(json_response(200, render_prediction(p)));
      }
    }
    if (!route->actor) {
      auto p = default_prediction(route->spec);
      if (!parsed->batch)
        return respond(json_response(200, render_prediction(p)));
      return respond(
        json_response(200, render_batch(predictions(parsed->inputs.size(), p))));
    }
    // Straight to the app, which answers through the sink on its own
    // thread: no gateway hop and no request timeout (the app answers by its
    // SLO from its own deadline timer; a sink dropped unanswered, e.g. with
    // the message to an app that is gone, answers 503; the HTTP server
    // answers 504 after its request timeout in any case).
    auto sink = std::make_shared<prediction_sink>(
      [respond = std::move(respond), batch = parsed->batch](caf::expected<predictions> ps) {
        if (!ps)
          respond(error_response(ps.error()));
        else if (batch)
          respond(json_response(200, render_batch(*ps)));
        else if (ps->size() == 1)
          respond(json_response(200, render_prediction(ps->front())));
        else
          respond(json_response(500, render_error("the app answered "
                                                  + std::to_string(ps->size())
                                                  + " predictions for one query")));
      },
      arrived);
    caf::anon_send(route->actor, predict_atom::value, std::move(parsed->inputs), std::move(sink));
  }

  void on_admin(http_request req, http_responder respond) {
    auto path = path_of(req.target);
    const std::string prefix = "/admin/";
    if (path.rfind(prefix, 0) != 0)
      return respond(json_response(404, render_error("admin endpoints are /admin/<operation>")));
    auto op = path.substr(prefix.size());
    bool read_only = op == "get_state";
    if (read_only ? req.method != "GET" && req.method != "POST" : req.method != "POST")
      return respond(json_response(405, render_error("use POST " + path)));
    caf::anon_send(gateway, admin_atom::value, ctx->tickets.add(std::move(respond)), op,
                   std::move(req.body));
  }
};

caf::expected<std::unique_ptr<serving_frontend>>
serving_frontend::start(caf::actor_system& sys, state_store_actor store,
                        frontend_options options) {
  auto p = std::make_unique<impl>();
  p->sys = &sys;
  p->opts = options;
  p->routes = std::make_shared<serving_routes>();
  p->ctx = std::make_shared<gateway_context>();
  p->ctx->metrics = std::make_shared<serving_metrics>();
  serving_manager_options mopts;
  mopts.store = std::move(store);
  mopts.routes = p->routes;
  if (options.cache_bytes > 0)
    mopts.cache = std::make_shared<prediction_cache>(options.cache_bytes);
  mopts.metrics = p->ctx->metrics;
  mopts.work_dir = options.work_dir;
  mopts.program_dir = options.program_dir;
  mopts.container_ready_timeout = options.container_ready_timeout;
  if (!options.seed.empty()) {
    auto client = cluster_client::connect(sys, options.seed, std::chrono::seconds{5});
    if (!client)
      return make_error(errc::unavailable, "cannot join the cluster at " + options.seed + ": " +
                                             describe(client.error()));
    auto shared = std::make_shared<cluster_client>(std::move(*client));
    mopts.directory = shared->agent();
    mopts.find_host = [shared](const std::string& name) -> caf::expected<caf::actor> {
      auto entry = shared->lookup(name);
      if (!entry)
        return entry.error();
      return entry->handle;
    };
  }
  auto manager = spawn_serving_manager(sys, std::move(mopts));
  if (!manager)
    return manager.error();
  p->manager = *manager;
  p->ctx->manager = *manager;
  p->gateway = sys.spawn(gateway, p->ctx);
  auto* raw = p.get();
  http_server_options q;
  q.host = options.host;
  q.port = options.port;
  q.threads = options.http_threads;
  q.body_limit = options.body_limit;
  q.idle_timeout = options.http_idle_timeout;
  q.request_timeout = options.http_request_timeout;
  auto queries = http_server::start(
    q, [raw](http_request req, http_responder r) { raw->on_query(std::move(req), std::move(r)); });
  if (!queries) {
    raw->stopped = true;
    caf::anon_send_exit(p->gateway, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(p->manager, caf::exit_reason::user_shutdown);
    return queries.error();
  }
  p->queries = std::move(*queries);
  http_server_options a = q;
  a.port = options.admin_port;
  a.threads = 1;
  a.request_timeout = admin_timeout + 5s;
  auto admin = http_server::start(
    a, [raw](http_request req, http_responder r) { raw->on_admin(std::move(req), std::move(r)); });
  if (!admin) {
    p->queries->stop();
    caf::anon_send_exit(p->gateway, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(p->manager, caf::exit_reason::user_shutdown);
    return admin.error();
  }
  p->admin = std::move(*admin);
  spdlog::info("serving: queries on {}:{}, admin on {}:{}", options.host, p->queries->port(),
               options.host, p->admin->port());
  return std::unique_ptr<serving_frontend>{new serving_frontend(std::move(p))};
}

serving_frontend::serving_frontend(std::unique_ptr<impl> p) : impl_(std::move(p)) {
}

uint16_t serving_frontend::port() const {
  return impl_->queries->port();
}

uint16_t serving_frontend::admin_port() const {
  return impl_->admin->port();
}

serving_manager_actor serving_frontend::manager() const {
  return impl_->manager;
}

app_actor serving_frontend::app(const std::string& name) const {
  auto route = impl_->routes->find(name);
  return route ? route->actor : app_actor{};
}

std::shared_ptr<serving_metrics> serving_frontend::metrics() const {
  return impl_->ctx->metrics;
}

void serving_frontend::stop() {
  if (impl_->stopped)
    return;
  impl_->stopped = true;
  impl_->queries->stop();
  impl_->admin->stop();
  caf::anon_send_exit(impl_->gateway, caf::exit_reason::user_shutdown);
  // The manager stops the apps, the batchers and the containers.
  caf::anon_send_exit(impl_->manager, caf::exit_reason::user_shutdown);
}

serving_frontend::~serving_frontend() {
  stop();
}

} // namespace troupe::serving
