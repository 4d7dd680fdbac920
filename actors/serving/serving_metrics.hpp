// The serving system's Prometheus families (GET /metrics on the frontend):
// per app, the latency histogram, queries, default answers and answers
// missing a straggler; per model, cache hits and misses. Batch sizes and the
// learned batch limits are gauges refreshed from the batchers' stats when
// the endpoint is scraped (see frontend). Per app and model, the selection
// policy's normalized weights, updated as feedback arrives.
#pragma once

#include <memory>
#include <string>

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

class serving_metrics {
public:
  /// Families in `registry` (a fresh one if null).
  explicit serving_metrics(std::shared_ptr<prometheus::Registry> registry = nullptr);

  app_metric_handles for_app(const std::string& app);

  /// Publishes a batcher's stats as gauges labelled by model and replica.
  void update(const batcher_stats& stats);

  /// The gauge of `model`'s share of `app`'s selection weights (Exp3 and
  /// Exp4 learn them from feedback): which model the bandit favours.
  prometheus::Gauge* policy_weight(const std::string& app, const std::string& model);

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
};

} // namespace troupe::serving
