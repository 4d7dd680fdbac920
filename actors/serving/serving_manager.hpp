// The serving manager (protocol: serving_manager_actor in
// messages/serving_admin_protocol.hpp): it owns the apps and models of one
// frontend, runs each model's current version as replicas (a container and
// a batcher each), runs one app actor per app over its linked models, and
// publishes the apps in the routes table the frontend reads.
//
// What the store keeps (values are the admin API's JSON, spec_json.hpp):
//   serving/app/<app>                 app spec (linked models included)
//   serving/model/<model>/<version>   model spec of each version
//   serving/current/<model>           the current version, as decimal text
//   serving/policy/<app>              the selection policy's learned state
// A manager spawned on a store that holds this state serves it again: a
// restarted frontend has the same apps, models and selection state.
//
// Changes are serialized (one admin request at a time, each persisted
// before it is acknowledged); when a model's version or replicas change,
// its apps are respawned on the new replicas (the policy's state carries
// over when the app keeps the same number of models) and the old replicas
// are stopped after a grace period, so queries in flight finish.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "actors/serving/prediction_cache.hpp"
#include "actors/serving/serving_metrics.hpp"
#include "actors/serving/serving_routes.hpp"
#include "messages/node_protocol.hpp"
#include "messages/serving_admin_protocol.hpp"
#include "messages/store_protocol.hpp"

namespace troupe::serving {

struct serving_manager_options {
  state_store_actor store;  ///< required
  std::shared_ptr<serving_routes> routes;  ///< required
  std::shared_ptr<prediction_cache> cache;   ///< null: no caching
  std::shared_ptr<serving_metrics> metrics;  ///< null: no metrics
  /// Where container processes keep their ready files and logs.
  std::string work_dir = "/tmp";
  /// A container command line whose program has no '/' (e.g.
  /// "troupe-container --backend xgboost --path m.json") is looked up here
  /// first, then on PATH.
  std::string program_dir;
  std::chrono::milliseconds container_ready_timeout{30'000};
  /// Finds a model host by name in the cluster (null: not in a cluster;
  /// models naming hosts other than "local" are then refused).
  std::function<caf::expected<caf::actor>(const std::string&)> find_host;
  /// A cluster member's agent: each app's actor is registered there as
  /// "serving.app.<app>", so that typed C++ clients anywhere in the
  /// cluster reach the app without HTTP. Null: not published.
  node_agent_actor directory;
  /// How long replicas that were replaced keep serving queries in flight.
  std::chrono::milliseconds retire_grace{2'000};
  uint64_t seed = 42;
};

/// Reads the persisted apps and models from the store (bounded by a few
/// seconds), starts them, and spawns the manager. A model whose replicas
/// cannot start (its file is gone) is logged and serves nothing; its apps
/// answer their default output. io_failure if the store cannot be read.
caf::expected<serving_manager_actor> spawn_serving_manager(caf::actor_system& sys,
                                                           serving_manager_options options);

/// Store keys (exposed for tests and tools).
std::string app_key(const std::string& app);
std::string model_key(const std::string& model, uint32_t version);
std::string current_key(const std::string& model);

} // namespace troupe::serving
