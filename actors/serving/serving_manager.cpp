#include "actors/serving/serving_manager.hpp"

#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/serving/app.hpp"
#include "actors/serving/serving_manager_state.hpp"
#include "actors/serving/spec_json.hpp"
#include "messages/errors.hpp"
#include "messages/type_ids.hpp"
#include "runtime/state_store.hpp"

namespace troupe::serving {

using namespace manager_internals;

namespace {

caf::error refused(std::string why) {
  return make_error(errc::invalid_argument, std::move(why));
}

std::shared_ptr<const app_route> route_of(const app_spec& spec, app_actor actor) {
  return std::make_shared<const app_route>(app_route{spec, std::move(actor), {}, {}, {}, {}});
}

/// The route of a running app, with what the frontend's cache fast path
/// needs when the app asks one model.
std::shared_ptr<const app_route> route_of(manager_state& st, const app_options& opts,
                                          app_actor actor) {
  app_route r{opts.spec, std::move(actor), {}, opts.cache, {}, opts.query_ids};
  if (opts.spec.policy == "single" && opts.models.size() == 1)
    r.single_model = opts.models.front().id;
  if (st.opts.metrics)
    r.metrics = st.opts.metrics->for_app(opts.spec.name);
  return std::make_shared<const app_route>(std::move(r));
}

/// Publishes `route`; the app actor it replaces stops after the grace
/// period (queries it holds are answered by then).
/// The cluster-wide name of app `app`'s actor, for typed clients elsewhere.
std::string directory_name(const std::string& app) {
  return "serving.app." + app;
}

/// Keeps the cluster directory's entry for `app` on its current actor
/// (none: the entry goes). Best effort: a failure is logged, queries over
/// HTTP are unaffected.
void publish_app(manager_pointer self, const std::string& app, app_actor actor) {
  auto& dir = self->state.opts.directory;
  if (!dir)
    return;
  auto name = directory_name(app);
  auto publish = [self, dir, name, actor] {
    if (!actor)
      return;
    self->request(dir, std::chrono::seconds{5}, register_atom::value, name,
                  caf::actor_cast<caf::actor>(actor))
      .then([](caf::ok_atom) {},
            [name](caf::error& err) {
              spdlog::warn("serving: cannot publish {} in the cluster: {}", name, describe(err));
            });
  };
  self->request(dir, std::chrono::seconds{5}, unregister_atom::value, name)
    .then([publish](caf::ok_atom) { publish(); }, [publish](caf::error&) { publish(); });
}

void replace_route(manager_pointer self, std::shared_ptr<const app_route> route) {
  auto& routes = *self->state.opts.routes;
  auto old = routes.find(route->spec.name);
  publish_app(self, route->spec.name, route->actor);
  routes.set(std::move(route));
  if (old && old->actor)
    caf::delayed_anon_send(caf::actor_cast<caf::actor>(old->actor), self->state.opts.retire_grace,
                           caf::exit_msg{caf::actor_addr{}, caf::exit_reason::user_shutdown});
}

/// (Re)starts the actor of app `name` over its models' current replicas,
/// with the policy state the store holds, and publishes its route.
void respawn_app(manager_pointer self, const std::string& name) {
  auto& st = self->state;
  auto& entry = st.apps.at(name);
  auto generation = ++entry.generation;
  std::vector<app_model> models;
  for (auto& m : entry.spec.models) {
    auto i = st.models.find(m);
    if (i == st.models.end())
      continue;
    std::vector<batcher_actor> batchers;
    for (auto& r : i->second.replicas)
      batchers.push_back(r.batcher);
    models.push_back(app_model{i->second.spec().id(), std::move(batchers)});
  }
  if (models.empty()) {
    if (st.opts.metrics)
      st.opts.metrics->forget_policy_weights(name);
    replace_route(self, route_of(entry.spec, app_actor{}));
    return;
  }
  auto install = [self, name, generation, models](std::string policy_state) {
    auto& st = self->state;
    struct finish {
      manager_state& st;
      ~finish() { settle(st); }
    } done{st};
    auto i = st.apps.find(name);
    if (i == st.apps.end() || i->second.generation != generation)
      return;  // removed, or respawned again meanwhile
    app_options opts;
    opts.spec = i->second.spec;
    opts.models = models;
    opts.cache = st.opts.cache;
    opts.metrics = st.opts.metrics;
    opts.store = st.opts.store;
    opts.seed = st.opts.seed + generation;
    opts.query_ids = std::make_shared<std::atomic<uint64_t>>(0);
    opts.policy_state = policy_state;
    auto app = spawn_app(self->system(), opts);
    if (!app && !policy_state.empty()) {
      // The learned state no longer fits (models were linked or unlinked):
      // the policy starts afresh.
      spdlog::info("serving: app '{}' starts a fresh {} policy ({})", name, opts.spec.policy,
                   describe(app.error()));
      opts.policy_state.clear();
      app = spawn_app(self->system(), opts);
    }
    if (!app) {
      spdlog::error("serving: app '{}' cannot start: {}", name, describe(app.error()));
      if (st.opts.metrics)
        st.opts.metrics->forget_policy_weights(name);
      replace_route(self, route_of(i->second.spec, app_actor{}));
      return;
    }
    replace_route(self, route_of(st, opts, *app));
  };
  ++st.respawns_in_flight;
  self->request(st.opts.store, store_timeout, caf::get_atom::value, policy_state_key(name))
    .then([install](std::string& saved) { install(std::move(saved)); },
          [install](caf::error&) { install({}); });
}

void respawn_apps_of(manager_pointer self, const std::string& model) {
  std::vector<std::string> names;
  for (auto& [name, app] : self->state.apps)
    if (links(app.spec, model))
      names.push_back(name);
  for (auto& n : names)
    respawn_app(self, n);
}

/// Replaces the replicas of `model` by `fresh` (of its version `version`),
/// retires the old ones and moves the apps over.
void switch_replicas(manager_pointer self, const std::string& model, uint32_t version,
                     std::vector<replica> fresh) {
  auto& entry = self->state.models.at(model);
  auto old = std::move(entry.replicas);
  entry.replicas = std::move(fresh);
  entry.current = version;
  entry.problem.clear();
  respawn_apps_of(self, model);
  await_containers(self, entry.spec(), entry.replicas);
  retire(self, old);
}

/// Persists `spec` as its app's spec (a new app, or new links) and moves the
/// app onto its models once the store has it.
caf::result<caf::ok_atom> change_app(manager_pointer self, app_spec spec) {
  auto rp = self->make_response_promise<caf::ok_atom>();
  auto key = app_key(spec.name);
  auto value = render(spec);
  commit(self, rp, {{key, value}}, [self, spec] {
    self->state.apps[spec.name].spec = spec;
    retarget_batchers(self, spec);
    respawn_app(self, spec.name);
  });
  return rp;
}

serving_manager_actor::behavior_type manager_impl(manager_pointer self) {
  // Start what the store held (spawn_serving_manager filled apps/models).
  for (auto& [name, m] : self->state.models) {
    auto started = start_replicas(self, m.spec(), 0, m.spec().replicas);
    if (started) {
      m.replicas = std::move(*started);
    } else {
      m.problem = describe(started.error());
      spdlog::error("serving: {}", m.problem);
    }
  }
  for (auto& [name, app] : self->state.apps)
    respawn_app(self, name);
  // Stopping the manager stops everything it started. Apps are stopped
  // explicitly: a pending request timeout holds an actor until it fires.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    auto& routes = *self->state.opts.routes;
    for (auto& name : routes.names()) {
      if (auto route = routes.find(name); route && route->actor)
        caf::anon_send_exit(route->actor, caf::exit_reason::user_shutdown);
      routes.erase(name);
    }
    for (auto& [name, m] : self->state.models)
      stop_replicas(m.replicas);
    self->quit(msg.reason);
  });
  return {
    [self](add_app_atom, app_spec spec) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      if (auto err = validate(spec))
        return err;
      if (st.apps.count(spec.name))
        return make_error(errc::already_exists, "app '" + spec.name + "' already exists");
      for (auto& m : spec.models)
        if (!st.models.count(m))
          return make_error(errc::not_found, "app '" + spec.name + "' names model '" + m +
                                               "', which does not exist; add it first");
      return change_app(self, std::move(spec));
    },
    [self](remove_app_atom, const std::string& name) -> caf::result<caf::ok_atom> {
      if (!self->state.apps.count(name))
        return make_error(errc::not_found, "no app named '" + name + "'");
      auto rp = self->make_response_promise<caf::ok_atom>();
      commit(self, rp, {{app_key(name), std::nullopt}, {policy_state_key(name), std::nullopt}},
             [self, name] {
               self->state.apps.erase(name);
               if (self->state.opts.metrics)
                 self->state.opts.metrics->forget_policy_weights(name);
               publish_app(self, name, app_actor{});
               auto& routes = *self->state.opts.routes;
               auto old = routes.find(name);
               routes.erase(name);
               if (old && old->actor)
                 caf::delayed_anon_send(
                   caf::actor_cast<caf::actor>(old->actor), self->state.opts.retire_grace,
                   caf::exit_msg{caf::actor_addr{}, caf::exit_reason::user_shutdown});
             });
      return rp;
    },
    [self](add_model_atom, model_spec spec) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      if (auto err = validate(spec))
        return err;
      auto known = st.models.find(spec.name);
      if (known != st.models.end() && known->second.versions.count(spec.version))
        return make_error(errc::already_exists,
                          "model '" + spec.name + "' already has version " +
                            std::to_string(spec.version) + "; give the new one another number");
      auto fresh = start_replicas(self, spec, 0, spec.replicas);
      if (!fresh)
        return fresh.error();
      auto rp = self->make_response_promise<caf::ok_atom>();
      auto replicas = *fresh;
      commit(
        self, rp,
        {{model_key(spec.name, spec.version), render(spec)},
         {current_key(spec.name), std::to_string(spec.version)}},
        [self, spec, replicas] {
          self->state.models[spec.name].versions[spec.version] = spec;
          switch_replicas(self, spec.name, spec.version, replicas);
        },
        [replicas] { stop_replicas(replicas); });
      return rp;
    },
    [self](remove_model_atom, const std::string& name) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      auto m = st.models.find(name);
      if (m == st.models.end())
        return make_error(errc::not_found, "no model named '" + name + "'");
      std::vector<store_write> writes;
      std::vector<app_spec> changed;
      for (auto& [app_name, app] : st.apps)
        if (links(app.spec, name)) {
          if (app.spec.models.size() == 1)
            return refused("removing model '" + name + "' would leave app '" + app_name +
                           "' without models; link another model to it or remove the app first");
          auto spec = app.spec;
          spec.models.erase(std::find(spec.models.begin(), spec.models.end(), name));
          writes.push_back({app_key(app_name), render(spec)});
          changed.push_back(std::move(spec));
        }
      for (auto& [v, spec] : m->second.versions)
        writes.push_back({model_key(name, v), std::nullopt});
      writes.push_back({current_key(name), std::nullopt});
      auto rp = self->make_response_promise<caf::ok_atom>();
      commit(self, rp, std::move(writes), [self, name, changed] {
        auto& st = self->state;
        retire(self, st.models.at(name).replicas);
        st.models.erase(name);
        for (auto& spec : changed) {
          st.apps.at(spec.name).spec = spec;
          respawn_app(self, spec.name);
        }
      });
      return rp;
    },
    [self](link_atom, const std::string& app,
           const std::string& model) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      auto a = st.apps.find(app);
      if (a == st.apps.end())
        return make_error(errc::not_found, "no app named '" + app + "'");
      if (!st.models.count(model))
        return make_error(errc::not_found, "no model named '" + model + "'");
      if (links(a->second.spec, model))
        return caf::ok_atom::value;
      auto spec = a->second.spec;
      spec.models.push_back(model);
      return change_app(self, std::move(spec));
    },
    [self](unlink_atom, const std::string& app,
           const std::string& model) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      auto a = st.apps.find(app);
      if (a == st.apps.end())
        return make_error(errc::not_found, "no app named '" + app + "'");
      if (!links(a->second.spec, model))
        return make_error(errc::not_found, "app '" + app + "' does not link model '" + model + "'");
      if (a->second.spec.models.size() == 1)
        return refused("unlinking model '" + model + "' would leave app '" + app +
                       "' without models; link another model first or remove the app");
      auto spec = a->second.spec;
      spec.models.erase(std::find(spec.models.begin(), spec.models.end(), model));
      return change_app(self, std::move(spec));
    },
    [self](set_version_atom, const std::string& model,
           uint32_t version) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      auto m = st.models.find(model);
      if (m == st.models.end())
        return make_error(errc::not_found, "no model named '" + model + "'");
      auto v = m->second.versions.find(version);
      if (v == m->second.versions.end())
        return make_error(errc::not_found, "model '" + model + "' has no version " +
                                             std::to_string(version) + "; it has " +
                                             versions_of(m->second));
      if (version == m->second.current && !m->second.replicas.empty())
        return caf::ok_atom::value;
      auto fresh = start_replicas(self, v->second, 0, v->second.replicas);
      if (!fresh)
        return fresh.error();
      auto replicas = *fresh;
      auto rp = self->make_response_promise<caf::ok_atom>();
      commit(
        self, rp, {{current_key(model), std::to_string(version)}},
        [self, model, version, replicas] { switch_replicas(self, model, version, replicas); },
        [replicas] { stop_replicas(replicas); });
      return rp;
    },
    [self](set_replicas_atom, const std::string& model,
           uint32_t count) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      auto m = st.models.find(model);
      if (m == st.models.end())
        return make_error(errc::not_found, "no model named '" + model + "'");
      if (count == 0 || count > max_replicas)
        return refused("replicas of model '" + model + "' must be 1.." +
                       std::to_string(max_replicas) + ", not " + std::to_string(count));
      auto spec = m->second.spec();
      spec.replicas = count;
      auto running = static_cast<uint32_t>(m->second.replicas.size());
      std::vector<replica> added;
      if (count > running) {
        auto fresh = start_replicas(self, spec, running, count - running);
        if (!fresh)
          return fresh.error();
        added = std::move(*fresh);
      }
      auto rp = self->make_response_promise<caf::ok_atom>();
      commit(
        self, rp, {{model_key(model, spec.version), render(spec)}},
        [self, model, spec, count, added] {
          auto& entry = self->state.models.at(model);
          entry.versions[spec.version] = spec;
          std::vector<replica> removed;
          while (entry.replicas.size() > count) {
            removed.push_back(entry.replicas.back());
            entry.replicas.pop_back();
          }
          entry.replicas.insert(entry.replicas.end(), added.begin(), added.end());
          respawn_apps_of(self, model);
          await_containers(self, spec, added);
          retire(self, removed);
        },
        [added] { stop_replicas(added); });
      return rp;
    },
    [self](list_atom) -> std::string { return state_json(self->state); },
    [self](stats_atom) -> caf::result<batcher_stats_list> {
      struct gathering {
        batcher_stats_list stats;
        size_t pending = 0;
      };
      auto g = std::make_shared<gathering>();
      std::vector<batcher_actor> all;
      for (auto& [name, m] : self->state.models)
        for (auto& r : m.replicas)
          all.push_back(r.batcher);
      if (all.empty())
        return batcher_stats_list{};
      g->pending = all.size();
      auto rp = self->make_response_promise<batcher_stats_list>();
      for (auto& b : all)
        self->request(b, 2s, stats_atom::value)
          .then(
            [g, rp](batcher_stats& s) mutable {
              g->stats.push_back(std::move(s));
              if (--g->pending == 0)
                rp.deliver(g->stats);
            },
            [g, rp](caf::error&) mutable {
              if (--g->pending == 0)
                rp.deliver(g->stats);
            });
      return rp;
    },
  };
}

} // namespace

caf::expected<serving_manager_actor> spawn_serving_manager(caf::actor_system& sys,
                                                           serving_manager_options options) {
  if (!options.store || !options.routes)
    return make_error(errc::invalid_argument, "the serving manager needs a store and routes");
  auto st = load(sys, std::move(options));
  if (!st)
    return st.error();
  auto initial = std::make_shared<manager_state>(std::move(*st));
  return sys.spawn([initial](manager_pointer self) {
    self->state.opts = std::move(initial->opts);
    self->state.apps = std::move(initial->apps);
    self->state.models = std::move(initial->models);
    return manager_impl(self);
  });
}

} // namespace troupe::serving
