// An application (protocol: app_actor in messages/serving_protocol.hpp):
// the selection layer of Clipper. For each query its policy chooses models;
// each chosen model answers from the prediction cache or through one of its
// replicas' batchers; at the deadline (the app's SLO) the app answers with
// the outputs that arrived (straggler mitigation) or its default output.
//
//   query ──▶ policy.choose ──▶ cache hit? ──────────────┐
//                 │ miss                                  ▼
//                 └──▶ batcher of a replica ──output──▶ gather ──▶ combine
//                       (error: next replica)              ▲
//                                       deadline timer ────┘  (what is there)
//
// A batch request's rows go through the same path together: rows with the
// same chosen models form one gathering, and each model gets one message
// with the rows that missed the cache (its batcher queues them as a group).
// Single queries travel together too: rows bound for a replica wait in an
// outbox until the app reaches a message it sent itself behind everything
// already in its mailbox, so a burst of queries costs one message each way
// per replica, not one per query. A group fails as a whole; each query in
// it then tries the next replica on its own.
//
// Feedback asks the policy's feedback models for their outputs on the
// labelled input (mostly cache hits: the query came first), updates the
// weights and persists them in the store before it answers.
#pragma once

#include <atomic>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/serving/prediction_cache.hpp"
#include "actors/serving/serving_metrics.hpp"
#include "messages/serving_protocol.hpp"
#include "messages/store_protocol.hpp"

namespace troupe::serving {

/// One linked model as the app sees it: its id and its replicas' batchers.
struct app_model {
  std::string id;  // name:version
  std::vector<batcher_actor> replicas;
};

struct app_options {
  app_spec spec;
  /// In the order of spec.models.
  std::vector<app_model> models;
  std::shared_ptr<prediction_cache> cache;   // null: no caching
  std::shared_ptr<serving_metrics> metrics;  // null: no metrics
  /// Where the policy's state is persisted (invalid handle: not persisted).
  state_store_actor store;
  /// The policy's saved state (from the store), empty for a fresh start.
  std::string policy_state;
  uint64_t seed = 42;
  /// Query ids, shared with the frontend's cache fast path (null: the app
  /// counts alone).
  std::shared_ptr<std::atomic<uint64_t>> query_ids;
};

/// The store key of an app's policy state.
std::string policy_state_key(const std::string& app);

/// Spawns the app; invalid_argument if its policy cannot be made (unknown
/// name, no models) or its saved state does not fit.
caf::expected<app_actor> spawn_app(caf::actor_system& sys, app_options options);

} // namespace troupe::serving
