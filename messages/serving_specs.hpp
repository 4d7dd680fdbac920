// How the serving system's applications and models are described: what the
// admin API takes, what the store persists (as JSON, see
// actors/serving/spec_json.hpp) and what `troupe serve list` prints.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/serving_types.hpp"

namespace troupe {

/// An application: a name under /<app>/predict, the input it takes, its
/// latency objective, the answer it gives when no model makes the deadline,
/// and how it chooses among its models.
struct app_spec {
  std::string name;
  input_kind input = input_kind::doubles;
  /// Number of values each input must have (numeric kinds); 0: any.
  uint64_t input_length = 0;
  int64_t slo_us = 20'000;
  std::string default_output = "null";
  /// "single", "exp3" or "exp4".
  std::string policy = "single";
  /// Linked models, by name; each serves its current version.
  std::vector<std::string> models;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, app_spec& x) {
  return f(caf::meta::type_name("troupe::app_spec"), x.name, x.input, x.input_length, x.slo_us,
           x.default_output, x.policy, x.models);
}

/// One version of a model: where its artifact is, which backend runs it,
/// how many replicas serve it and how its batches are formed.
struct model_spec {
  std::string name;
  uint32_t version = 1;
  /// "noop", "xgboost", "torchscript" (in-process) or "container" (a
  /// separate process; `path` is then its command line).
  std::string backend = "noop";
  std::string path;
  uint32_t replicas = 1;
  /// Upper bound on the batch size AIMD may reach.
  uint64_t max_batch = 512;
  /// How long a batcher may wait to fill a batch (Clipper's delayed
  /// batching); 0: send what is queued at once.
  int64_t batch_delay_us = 0;
  /// Batches a replica's batcher keeps sent to its container at once. With
  /// 2, the next batch waits in the container's mailbox while one runs, so
  /// the container never idles for a message round trip between batches
  /// (on a small VM a thread hand-off costs more than a small batch). 1:
  /// strictly one at a time.
  uint32_t batches_in_flight = 2;
  /// Where the replicas run: names of model_host services in the cluster
  /// (`troupe node --service model_host=NAME`), replica i on hosts[i % n];
  /// "local" is the frontend's own process. Empty: all local.
  std::vector<std::string> hosts;
  /// Where an in-process replica computes: "own" (a thread of its own, as
  /// Clipper gives each container a core) or "shared" (the actor
  /// scheduler's workers: no thread wake-up per batch, which pays off only
  /// for small batches: a batch blocks the worker the app's and batcher's
  /// next messages were queued on). Ignored by "container" (a process of
  /// its own).
  std::string thread = "own";

  /// "name:version", the key of caches, metrics and records.
  std::string id() const { return name + ":" + std::to_string(version); }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, model_spec& x) {
  return f(caf::meta::type_name("troupe::model_spec"), x.name, x.version, x.backend, x.path,
           x.replicas, x.max_batch, x.batch_delay_us, x.batches_in_flight, x.hosts, x.thread);
}

} // namespace troupe
