#include "actors/serving/serving_manager_state.hpp"

#include <spdlog/spdlog.h>

#include <caf/scoped_actor.hpp>

#include "actors/serving/batcher.hpp"
#include "actors/serving/container_readiness.hpp"
#include "actors/serving/replica_container.hpp"
#include "messages/errors.hpp"
#include "messages/type_ids.hpp"

namespace troupe::serving::manager_internals {

namespace {

/// Starts the container of replica `index` on the host the spec names for
/// it: this process ("local", or no hosts), or a model host in the cluster.
/// A remote start blocks the manager for one request (admin requests are
/// rare; queries never pass through the manager).
caf::expected<caf::actor> start_container(manager_pointer self, const model_spec& spec,
                                          uint32_t index, std::string& placed_on) {
  auto& st = self->state;
  replica_placement here{st.opts.work_dir, st.opts.program_dir,
                         st.opts.container_ready_timeout};
  placed_on = spec.hosts.empty() ? "local" : spec.hosts[index % spec.hosts.size()];
  if (placed_on == "local")
    return start_replica_container(self->system(), spec, index, here);
  if (!st.opts.find_host)
    return make_error(errc::invalid_argument,
                      "model " + spec.id() + " names host '" + placed_on +
                        "', but this frontend is not in a cluster (start it with --seed)");
  auto host = st.opts.find_host(placed_on);
  if (!host)
    return make_error(errc::not_found, "model host '" + placed_on + "' of model " + spec.id() +
                                         " is not in the cluster: " + describe(host.error()));
  caf::expected<caf::actor> container = make_error(errc::timeout, "no answer");
  caf::scoped_actor blocking{self->system()};
  blocking
    ->request(*host, st.opts.container_ready_timeout, start_replica_atom::value, spec, index,
              caf::actor_cast<caf::actor>(self))
    .receive([&](caf::actor& c) { container = std::move(c); },
             [&](caf::error& err) { container = err; });
  if (!container)
    return make_error(errc::unavailable, "model host '" + placed_on + "' did not start " +
                                           spec.id() + ": " + describe(container.error()));
  return container;
}

} // namespace

int64_t batch_latency_target(const manager_state& st, const std::string& model) {
  int64_t strictest = 0;
  for (auto& [name, app] : st.apps)
    if (links(app.spec, model) && (strictest == 0 || app.spec.slo_us < strictest))
      strictest = app.spec.slo_us;
  return strictest == 0 ? 8'000 : std::max<int64_t>(strictest * 2 / 5, 100);
}

void stop_replicas(const std::vector<replica>& replicas) {
  for (auto& r : replicas) {
    caf::anon_send_exit(r.batcher, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(r.container, caf::exit_reason::user_shutdown);
  }
}

void retire(manager_pointer self, const std::vector<replica>& replicas) {
  auto grace = self->state.opts.retire_grace;
  for (auto& r : replicas) {
    caf::exit_msg bye{caf::actor_addr{}, caf::exit_reason::user_shutdown};
    caf::delayed_anon_send(caf::actor_cast<caf::actor>(r.batcher), grace, bye);
    caf::delayed_anon_send(r.container, grace, bye);
  }
}

caf::expected<std::vector<replica>> start_replicas(manager_pointer self, const model_spec& spec,
                                                   uint32_t first, uint32_t count) {
  auto& st = self->state;
  std::vector<replica> started;
  for (uint32_t i = first; i < first + count; ++i) {
    std::string placed_on;
    auto container = start_container(self, spec, i, placed_on);
    if (!container) {
      stop_replicas(started);
      return container.error();
    }
    batcher_options opts;
    opts.model = spec.id();
    opts.replica = i;
    opts.aimd.latency_target_us = batch_latency_target(st, spec.name);
    opts.aimd.max = spec.max_batch;
    opts.batch_delay_us = spec.batch_delay_us;
    opts.batches_in_flight = spec.batches_in_flight;
    auto batcher = spawn_batcher(self->system(),
                                 caf::actor_cast<model_container_actor>(*container), opts);
    started.push_back(replica{batcher, *container, placed_on});
  }
  return started;
}

void settle(manager_state& st) {
  if (--st.respawns_in_flight == 0) {
    auto waiting = std::move(st.after_respawns);
    st.after_respawns.clear();
    for (auto& f : waiting)
      f();
  }
}

void await_containers(manager_pointer self, const model_spec& spec,
                      const std::vector<replica>& fresh) {
  if (spec.backend != "container")
    return;
  auto& st = self->state;
  auto timeout = st.opts.container_ready_timeout;
  for (auto& r : fresh) {
    ++st.respawns_in_flight;
    auto watch = spawn_readiness_watch(self->system(), r.container, timeout);
    auto model = spec.name;
    auto id = spec.id();
    auto host = r.host;
    auto on_ready = [self, model, id, host, timeout](bool ready) {
      if (!ready) {
        auto why = "a container of " + id + " on " + host + " was not serving after " +
                   std::to_string(timeout.count()) + " ms (see its container.log)";
        spdlog::warn("serving: {}", why);
        if (auto m = self->state.models.find(model); m != self->state.models.end())
          m->second.problem = why;
      }
      settle(self->state);
    };
    self->request(watch, timeout + std::chrono::seconds{2}, caf::get_atom::value)
      .then(on_ready, [on_ready](caf::error&) { on_ready(false); });
  }
}

void retarget_batchers(manager_pointer self, const app_spec& app) {
  auto& st = self->state;
  for (auto& name : app.models) {
    auto m = st.models.find(name);
    if (m == st.models.end())
      continue;
    auto target = batch_latency_target(st, name);
    for (auto& r : m->second.replicas)
      caf::anon_send(r.batcher, set_target_atom::value, target);
  }
}

} // namespace troupe::serving::manager_internals
