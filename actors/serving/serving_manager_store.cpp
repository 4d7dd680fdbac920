#include "actors/serving/serving_manager_state.hpp"

#include <cstdio>

#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/serving/spec_json.hpp"
#include "messages/errors.hpp"
#include "messages/type_ids.hpp"
#include "runtime/state_store.hpp"

namespace troupe::serving::manager_internals {

namespace {

/// Writes `writes` in order, then calls `done` (with the first error, if a
/// write failed). Awaits each reply: no other admin request interleaves
/// with a change being persisted.
void persist(manager_pointer self, std::vector<store_write> writes,
             std::function<void(const caf::error&)> done) {
  if (writes.empty()) {
    done({});
    return;
  }
  auto write = writes.front();
  writes.erase(writes.begin());
  auto next = [self, rest = std::move(writes), done](caf::ok_atom) mutable {
    persist(self, std::move(rest), std::move(done));
  };
  auto fail = [done, key = write.key](caf::error& err) {
    done(make_error(errc::io_failure, "the store did not persist '" + key + "': " + describe(err) +
                                        "; nothing changed"));
  };
  auto& store = self->state.opts.store;
  if (write.value)
    self->request(store, store_timeout, caf::put_atom::value, write.key, *write.value)
      .await(std::move(next), std::move(fail));
  else
    self->request(store, store_timeout, caf::delete_atom::value, write.key)
      .await(std::move(next), std::move(fail));
}

} // namespace

void commit(manager_pointer self, ok_promise rp, std::vector<store_write> writes,
            std::function<void()> apply, std::function<void()> undo) {
  persist(self, std::move(writes),
          [self, rp, apply = std::move(apply), undo = std::move(undo)](const caf::error& err) mutable {
            if (err) {
              if (undo)
                undo();
              rp.deliver(err);
              return;
            }
            apply();
            auto& st = self->state;
            if (st.respawns_in_flight == 0)
              rp.deliver(caf::ok_atom::value);
            else
              st.after_respawns.push_back([rp]() mutable { rp.deliver(caf::ok_atom::value); });
          });
}

std::string versions_of(const model_entry& m) {
  std::string out;
  for (auto& [v, spec] : m.versions)
    out += (out.empty() ? "" : ", ") + std::to_string(v);
  return out;
}

std::string state_json(const manager_state& st) {
  using json = nlohmann::json;
  json apps = json::array();
  for (auto& [name, app] : st.apps) {
    auto doc = json::parse(render(app.spec));
    auto route = st.opts.routes->find(name);
    doc["serving"] = route && route->actor != nullptr;
    apps.push_back(std::move(doc));
  }
  json models = json::array();
  for (auto& [name, m] : st.models)
    for (auto& [v, spec] : m.versions) {
      auto doc = json::parse(render(spec));
      doc["current"] = v == m.current;
      if (v == m.current) {
        doc["running_replicas"] = m.replicas.size();
        std::vector<std::string> placed;
        for (auto& r : m.replicas)
          placed.push_back(r.host);
        doc["replica_hosts"] = placed;
        if (!m.problem.empty())
          doc["problem"] = m.problem;
      }
      models.push_back(std::move(doc));
    }
  return json{{"apps", std::move(apps)}, {"models", std::move(models)}}.dump();
}

caf::expected<manager_state> load(caf::actor_system& sys, serving_manager_options opts) {
  manager_state st;
  st.opts = std::move(opts);
  caf::scoped_actor self{sys};
  caf::expected<store_entries> entries = make_error(errc::timeout, "no answer");
  self->request(st.opts.store, store_timeout, scan_atom::value, std::string{"serving/"},
                max_scan_entries)
    .receive([&](store_entries& xs) { entries = std::move(xs); },
             [&](caf::error& err) { entries = err; });
  if (!entries)
    return make_error(errc::io_failure,
                      "cannot read the serving state from the store: " + describe(entries.error()));
  std::map<std::string, uint32_t> current;
  for (auto& e : *entries) {
    auto starts = [&](const char* prefix) { return e.key.rfind(prefix, 0) == 0; };
    if (starts("serving/app/")) {
      auto spec = parse_app_spec(e.value);
      if (!spec) {
        spdlog::error("serving: skipping stored app '{}': {}", e.key, describe(spec.error()));
        continue;
      }
      st.apps[spec->name].spec = std::move(*spec);
    } else if (starts("serving/model/")) {
      auto spec = parse_model_spec(e.value);
      if (!spec) {
        spdlog::error("serving: skipping stored model '{}': {}", e.key, describe(spec.error()));
        continue;
      }
      st.models[spec->name].versions[spec->version] = *spec;
    } else if (starts("serving/current/")) {
      current[e.key.substr(std::string{"serving/current/"}.size())] =
        static_cast<uint32_t>(std::strtoul(e.value.c_str(), nullptr, 10));
    }
  }
  for (auto& [name, m] : st.models) {
    auto c = current.find(name);
    m.current = c != current.end() && m.versions.count(c->second) ? c->second
                                                                   : m.versions.rbegin()->first;
  }
  // A stored app that names a model the store lost keeps its other models.
  for (auto& [name, app] : st.apps) {
    auto& ms = app.spec.models;
    ms.erase(std::remove_if(ms.begin(), ms.end(),
                            [&](const std::string& m) { return !st.models.count(m); }),
             ms.end());
  }
  spdlog::info("serving: restored {} apps and {} models from the store", st.apps.size(),
               st.models.size());
  return st;
}

} // namespace troupe::serving::manager_internals

namespace troupe::serving {

std::string app_key(const std::string& app) {
  return "serving/app/" + app;
}

std::string model_key(const std::string& model, uint32_t version) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%010u", version);
  return "serving/model/" + model + "/" + digits;
}

std::string current_key(const std::string& model) {
  return "serving/current/" + model;
}

} // namespace troupe::serving
