// Keeps one model container process serving: starts it, finds its port in
// its ready file, talks to it through a container proxy, heartbeats it, and
// restarts it (after killing it by pid) when it exits or stops answering.
// While there is no healthy container, predict fails fast with
// errc::unavailable, so that the caller's other replicas take the queries.
//
//            spawn, wait for the ready file (bounded)
//   starting ────────────────────────────────────────▶ serving ──┐ heartbeat
//      ▲  │ exited / no ready file in time               │  ▲    │ every interval
//      │  ▼                                              │  └────┘
//   backing off ◀───── exited / N heartbeats missed ─────┘
//   (doubles, up to a bound; reset by a healthy heartbeat)
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/typed_actor.hpp>

#include "messages/serving_protocol.hpp"

namespace troupe::serving {

struct container_supervisor_options {
  /// The container's command line (e.g. troupe-container --model sum). The
  /// supervisor appends `--ready-file PATH`; the container must write its
  /// port there (run_container_server and troupe_container.serve do).
  std::vector<std::string> argv;
  /// For errors and logs, e.g. "digits:1".
  std::string name = "container";
  /// An existing directory for ready files and the container's log
  /// (container.log, appended).
  std::string work_dir = "/tmp";
  /// Extra environment of the container ("KEY=VALUE").
  std::vector<std::string> env;
  std::chrono::milliseconds ready_timeout{30'000};
  /// Bounds each RPC (predict, heartbeat).
  std::chrono::milliseconds rpc_timeout{5'000};
  std::chrono::milliseconds heartbeat_interval{500};
  /// Heartbeats missed in a row before the container is restarted.
  uint32_t max_missed_heartbeats = 3;
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5'000};
};

/// A supervisor is a model container itself (it forwards to the container
/// serving now), and reports how it is doing.
using container_supervisor_actor = model_container_actor::extend<
  /// How many times the container was restarted, and the pid of the one
  /// serving now (0 while none is).
  caf::replies_to<stats_atom>::with<uint64_t, uint32_t>,
  /// Internal: time to look again, in phase number `epoch`.
  caf::reacts_to<caf::tick_atom, uint64_t>>;

/// Spawns a supervisor and starts its container at once. When the
/// supervisor exits, it kills its container.
container_supervisor_actor spawn_container_supervisor(caf::actor_system& sys,
                                                      container_supervisor_options options);

} // namespace troupe::serving
