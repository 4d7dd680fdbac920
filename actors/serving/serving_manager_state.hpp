// Internals of the serving manager (serving_manager.cpp), shared by its
// files: the state it keeps, and the pieces that start replicas
// (serving_manager_replicas.cpp) and persist changes
// (serving_manager_store.cpp). Not for use outside the manager.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/typed_event_based_actor.hpp>

#include "actors/serving/serving_manager.hpp"

namespace troupe::serving::manager_internals {

using namespace std::chrono_literals;

constexpr auto store_timeout = 5s;

struct replica {
  batcher_actor batcher;
  caf::actor container;
  std::string host;  // "local" or a model host's name
};

struct model_entry {
  std::map<uint32_t, model_spec> versions;
  uint32_t current = 0;
  /// Replicas of the current version (empty if they could not start).
  std::vector<replica> replicas;
  /// Why the replicas could not start, for `list`.
  std::string problem;
  const model_spec& spec() const { return versions.at(current); }
};

struct app_entry {
  app_spec spec;
  /// Bumped by each respawn; a respawn that finishes after a newer one
  /// started is discarded.
  uint64_t generation = 0;
};

struct manager_state {
  serving_manager_options opts;
  std::map<std::string, app_entry> apps;
  std::map<std::string, model_entry> models;
  /// Respawns waiting for their policy state from the store, and container
  /// processes still starting; admin replies wait for them, so that "ok"
  /// means the change serves.
  size_t respawns_in_flight = 0;
  std::vector<std::function<void()>> after_respawns;
  static inline const char* name = "serving_manager";
};

using manager_pointer = serving_manager_actor::stateful_pointer<manager_state>;

/// One store write of a change; no value: delete the key.
struct store_write {
  std::string key;
  std::optional<std::string> value;
};

using ok_promise = caf::typed_response_promise<caf::ok_atom>;

inline bool links(const app_spec& app, const std::string& model) {
  return std::find(app.models.begin(), app.models.end(), model) != app.models.end();
}

// -- replicas (serving_manager_replicas.cpp) -------------------------------------

/// The latency a batch of `model` may take: Clipper's AIMD keeps batches
/// under the SLO; a query may wait for one batch and then ride the next, so
/// each batch gets 40 % of the strictest SLO among the apps using it.
int64_t batch_latency_target(const manager_state& st, const std::string& model);

void stop_replicas(const std::vector<replica>& replicas);

/// Stops replaced replicas once the queries they hold had time to finish.
void retire(manager_pointer self, const std::vector<replica>& replicas);

/// Starts replicas [first, first + count) of `spec`: a container (an
/// in-process backend on its own thread, a supervised process, or either on
/// a model host) and its batcher each, the batcher always here. All or
/// nothing.
caf::expected<std::vector<replica>> start_replicas(manager_pointer self, const model_spec& spec,
                                                   uint32_t first, uint32_t count);

/// One piece of work an admin reply waits for is done; when none is left,
/// the replies waiting go out.
void settle(manager_state& st);

/// Holds the admin reply until the container processes of `fresh` serve.
void await_containers(manager_pointer self, const model_spec& spec,
                      const std::vector<replica>& fresh);

/// Tells the batchers of `app`'s models the batch latency the strictest app
/// using each model allows now.
void retarget_batchers(manager_pointer self, const app_spec& app);

// -- persistence (serving_manager_store.cpp) -------------------------------------

/// Delivers ok, or the error, once a change is persisted; `apply` runs
/// only after the store confirmed it, `undo` if it did not.
void commit(manager_pointer self, ok_promise rp, std::vector<store_write> writes,
            std::function<void()> apply, std::function<void()> undo = nullptr);

std::string versions_of(const model_entry& m);

/// The whole state as the admin API's JSON.
std::string state_json(const manager_state& st);

/// Loads what the store holds into a fresh state.
caf::expected<manager_state> load(caf::actor_system& sys, serving_manager_options opts);

} // namespace troupe::serving::manager_internals
