// The serving system's Prometheus families (GET /metrics on the frontend):
// per app, the latency histogram, queries, default answers and answers
// missing a straggler; per model, cache hits and misses. Batch sizes and the
// learned batch limits are gauges refreshed from the batchers' stats when
// the endpoint is scraped (see frontend). Per app and model, the selection
// policy's normalized weights, updated as feedback arrives.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "messages/serving_types.hpp"

namespace troupe::serving {

/// The metrics of one app, looked up once when the app actor starts.
struct app_metric_handles {
  prometheus::Histogram* latency_us = nullptr;
  prometheus::Counter* queries = nullptr;
  prometheus::Counter* defaults = nullptr;
  prometheus::Counter* partial = nullptr;
  prometheus::Counter* cache_hits = nullptr;
  prometheus::Counter* cache_misses = nullptr;
  prometheus::Counter* feedback = nullptr;
};

/// `queries` queries that each took `us` microseconds, into the latency
/// histogram (a batch's rows share one latency): one lock for all of them,
/// where Observe() takes one per query. A null histogram is ignored.
void observe_latency(prometheus::Histogram* latency_us, double us, size_t queries);

class serving_metrics {
public:
  /// Families in `registry` (a fresh one if null).
  explicit serving_metrics(std::shared_ptr<prometheus::Registry> registry = nullptr);

  app_metric_handles for_app(const std::string& app);

  /// Publishes the batchers' stats as gauges labelled by model and
  /// replica: exactly the replicas in `all` (one scrape's worth), so that
  /// a removed model or replica leaves no stale series behind.
  void update(const std::vector<batcher_stats>& all);

  /// Claims `app`'s selection-weight gauges for a new app actor: returns
  /// the generation that actor publishes under. An older actor of the same
  /// app (retiring after a relink) publishes nothing from then on.
  uint64_t claim_policy_weights(const std::string& app);

  /// Each model's share of `app`'s selection weights (Exp3 and Exp4 learn
  /// them from feedback: which model the bandit favours), published by the
  /// app actor of `generation`; models not in `shares` lose their series.
  void set_policy_weights(const std::string& app, uint64_t generation,
                          const std::vector<std::pair<std::string, double>>& shares);

  /// `app` was removed (or has no model left): its weight series go.
  void forget_policy_weights(const std::string& app);

  /// Everything in Prometheus text format.
  std::string render() const;

  prometheus::Registry& registry() { return *registry_; }

private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Histogram>* latency_;
  prometheus::Family<prometheus::Counter>* queries_;
  prometheus::Family<prometheus::Counter>* defaults_;
  prometheus::Family<prometheus::Counter>* partial_;
  prometheus::Family<prometheus::Counter>* cache_hits_;
  prometheus::Family<prometheus::Counter>* cache_misses_;
  prometheus::Family<prometheus::Counter>* feedback_;
  prometheus::Family<prometheus::Gauge>* batch_limit_;
  prometheus::Family<prometheus::Gauge>* mean_batch_;
  prometheus::Family<prometheus::Gauge>* batch_p99_;
  prometheus::Family<prometheus::Gauge>* queued_;
  prometheus::Family<prometheus::Gauge>* batches_;
  prometheus::Family<prometheus::Gauge>* expired_;
  prometheus::Family<prometheus::Gauge>* policy_weight_;

  struct app_weights {
    uint64_t generation = 0;
    std::map<std::string, prometheus::Gauge*> by_model;
  };
  struct replica_gauges {
    prometheus::Gauge* limit;
    prometheus::Gauge* mean;
    prometheus::Gauge* p99;
    prometheus::Gauge* queued;
    prometheus::Gauge* batches;
    prometheus::Gauge* expired;
  };
  // The series this object added, so that it can remove them again. The
  // gauges are only touched here, under the mutex: nobody else holds a
  // pointer that a removal could leave dangling.
  std::mutex mtx_;
  std::map<std::string, app_weights> weights_;
  uint64_t next_generation_ = 1;
  std::map<std::pair<std::string, uint32_t>, replica_gauges> replicas_;
};

} // namespace troupe::serving
