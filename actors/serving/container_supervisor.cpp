#include "actors/serving/container_supervisor.hpp"
#include "actors/serving/container_server.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <caf/typed_event_based_actor.hpp>

#include "actors/serving/container_proxy.hpp"
#include "messages/errors.hpp"
#include "runtime/child_process.hpp"
#include "runtime/ready_file.hpp"

namespace troupe::serving {

namespace {

using clock_type = std::chrono::steady_clock;

// How often a starting container's ready file is looked for.
constexpr auto ready_poll = std::chrono::milliseconds{20};

enum class phase { starting, serving, backing_off };

struct supervisor_state {
  container_supervisor_options options;
  phase now = phase::starting;
  // Bumped on every phase change: ticks and replies of an older phase are stale.
  uint64_t epoch = 0;
  child_process child;  // killed and reaped when replaced or destroyed
  container_proxy_actor proxy;
  clock_type::time_point started_at;
  uint64_t restarts = 0;
  uint32_t missed = 0;
  bool heartbeat_in_flight = false;
  std::chrono::milliseconds backoff{0};
  std::string last_failure;
  static inline const char* name = "troupe.container_supervisor";
};

using supervisor_pointer = container_supervisor_actor::stateful_pointer<supervisor_state>;

std::string ready_path(const supervisor_state& st) {
  return st.options.work_dir + "/" + st.options.name + "." + std::to_string(st.epoch) + ".ready";
}

void tick_after(supervisor_pointer self, std::chrono::milliseconds delay) {
  self->delayed_send(self, delay, caf::tick_atom::value, self->state.epoch);
}

void restart_later(supervisor_pointer self, std::string why);

void start(supervisor_pointer self) {
  auto& st = self->state;
  ++st.epoch;
  st.now = phase::starting;
  st.started_at = clock_type::now();
  auto ready = ready_path(st);
  std::remove(ready.c_str());
  auto argv = st.options.argv;
  argv.push_back("--ready-file");
  argv.push_back(ready);
  // The container exits when this process is gone (killed with its node,
  // say), instead of serving on as an orphan: see container_server.hpp.
  auto env = st.options.env;
  env.push_back(std::string{parent_pid_variable} + "=" + std::to_string(::getpid()));
  auto child = child_process::spawn(argv, st.options.work_dir + "/container.log", env);
  if (!child) {
    restart_later(self, describe(child.error()));
    return;
  }
  st.child = std::move(*child);
  tick_after(self, ready_poll);
}

void restart_later(supervisor_pointer self, std::string why) {
  auto& st = self->state;
  st.child = child_process{};  // kills the old one by pid, if it still runs
  if (st.proxy) {
    self->send_exit(st.proxy, caf::exit_reason::user_shutdown);
    st.proxy = nullptr;
  }
  st.last_failure = std::move(why);
  ++st.restarts;
  ++st.epoch;
  st.now = phase::backing_off;
  st.heartbeat_in_flight = false;
  st.missed = 0;
  st.backoff = std::clamp(st.backoff * 2, st.options.backoff_initial, st.options.backoff_max);
  tick_after(self, st.backoff);
}

std::string exit_reason_of(child_process& child) {
  auto status = child.wait_for(std::chrono::milliseconds{0});
  return "the container exited with status " + (status ? std::to_string(*status) : "?");
}

void look_for_ready_file(supervisor_pointer self) {
  auto& st = self->state;
  if (!st.child.running()) {
    restart_later(self, exit_reason_of(st.child) + " before it was ready");
    return;
  }
  auto ready = read_ready_file(ready_path(st));
  if (!ready) {
    if (clock_type::now() - st.started_at > st.options.ready_timeout) {
      restart_later(self, "no ready file within "
                            + std::to_string(st.options.ready_timeout.count()) + " ms");
      return;
    }
    tick_after(self, ready_poll);
    return;
  }
  st.proxy = spawn_container_proxy(self->system(), ready->host, ready->port,
                                   st.options.rpc_timeout);
  ++st.epoch;
  st.now = phase::serving;
  st.missed = 0;
  tick_after(self, st.options.heartbeat_interval);
}

void heartbeat(supervisor_pointer self) {
  auto& st = self->state;
  if (!st.child.running()) {
    restart_later(self, exit_reason_of(st.child));
    return;
  }
  tick_after(self, st.options.heartbeat_interval);
  if (st.heartbeat_in_flight)
    return;  // the proxy bounds it; its answer comes
  st.heartbeat_in_flight = true;
  auto epoch = st.epoch;
  // The proxy bounds the RPC; the margin only guards against a lost proxy.
  self->request(st.proxy, st.options.rpc_timeout + std::chrono::seconds{1}, caf::ping_atom::value)
    .then(
      [self, epoch](caf::pong_atom) {
        auto& st = self->state;
        if (epoch != st.epoch)
          return;
        st.heartbeat_in_flight = false;
        st.missed = 0;
        st.backoff = std::chrono::milliseconds{0};  // healthy: the next failure restarts fast
      },
      [self, epoch](caf::error& err) {
        auto& st = self->state;
        if (epoch != st.epoch)
          return;
        st.heartbeat_in_flight = false;
        if (++st.missed >= st.options.max_missed_heartbeats)
          restart_later(self, std::to_string(st.missed)
                                + " heartbeats missed in a row, the last: " + describe(err));
      });
}

container_supervisor_actor::behavior_type supervisor(supervisor_pointer self,
                                                     container_supervisor_options options) {
  self->state.options = std::move(options);
  start(self);
  return {
    [self](predict_atom, query_inputs& inputs) -> caf::result<model_outputs> {
      auto& st = self->state;
      if (st.now != phase::serving) {
        auto what = st.now == phase::starting ? " is starting" : " is restarting";
        auto why = st.last_failure.empty() ? "" : " (after: " + st.last_failure + ")";
        return make_error(errc::unavailable, "container '" + st.options.name + "'" + what + why);
      }
      auto rp = self->make_response_promise<model_outputs>();
      auto epoch = st.epoch;
      // No request timeout (two events of CAF's clock thread per batch): the
      // proxy bounds the RPC by rpc_timeout, a dead proxy bounces the
      // request, and a stuck one misses heartbeats (bounded requests that
      // queue behind it) and is restarted.
      self->request(st.proxy, caf::infinite, predict_atom::value, std::move(inputs))
        .then([rp](model_outputs& out) mutable { rp.deliver(std::move(out)); },
              [self, rp, epoch](caf::error& err) mutable {
                auto& st = self->state;
                // A lost connection is most likely a dead container: look now
                // instead of at the next heartbeat.
                if (epoch == st.epoch && is(err, errc::unavailable) && !st.child.running())
                  restart_later(self, exit_reason_of(st.child));
                rp.deliver(std::move(err));
              });
      return rp;
    },
    [self](stats_atom) -> caf::result<uint64_t, uint32_t> {
      auto& st = self->state;
      uint32_t pid = st.now == phase::serving ? static_cast<uint32_t>(st.child.pid()) : 0;
      return {st.restarts, pid};
    },
    [self](caf::tick_atom, uint64_t epoch) {
      auto& st = self->state;
      if (epoch != st.epoch)
        return;
      switch (st.now) {
        case phase::starting:
          look_for_ready_file(self);
          break;
        case phase::serving:
          heartbeat(self);
          break;
        case phase::backing_off:
          start(self);
          break;
      }
    },
  };
}

} // namespace

container_supervisor_actor spawn_container_supervisor(caf::actor_system& sys,
                                                      container_supervisor_options options) {
  return sys.spawn(supervisor, std::move(options));
}

} // namespace troupe::serving
