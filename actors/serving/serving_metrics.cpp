#include "actors/serving/serving_metrics.hpp"

#include <prometheus/text_serializer.h>

namespace troupe::serving {

namespace {

// Microseconds, from 100 us to 1 s: the range of SLOs users set.
prometheus::Histogram::BucketBoundaries latency_buckets() {
  return {100,    250,    500,    1'000,  2'000,   5'000,   10'000,
          15'000, 20'000, 30'000, 50'000, 100'000, 250'000, 1'000'000};
}

} // namespace

serving_metrics::serving_metrics(std::shared_ptr<prometheus::Registry> registry)
  : registry_(registry ? std::move(registry) : std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  latency_ = &prometheus::BuildHistogram()
                .Name("troupe_serving_latency_us")
                .Help("Query latency inside the serving pipeline, per app (microseconds)")
                .Register(r);
  queries_ = &prometheus::BuildCounter()
                .Name("troupe_serving_queries_total")
                .Help("Queries answered, per app")
                .Register(r);
  defaults_ = &prometheus::BuildCounter()
                 .Name("troupe_serving_default_answers_total")
                 .Help("Queries answered with the app's default output")
                 .Register(r);
  partial_ = &prometheus::BuildCounter()
                .Name("troupe_serving_partial_answers_total")
                .Help("Queries answered without a chosen model that missed the deadline")
                .Register(r);
  cache_hits_ = &prometheus::BuildCounter()
                   .Name("troupe_serving_cache_hits_total")
                   .Help("Prediction cache hits, per app")
                   .Register(r);
  cache_misses_ = &prometheus::BuildCounter()
                     .Name("troupe_serving_cache_misses_total")
                     .Help("Prediction cache misses, per app")
                     .Register(r);
  feedback_ = &prometheus::BuildCounter()
                 .Name("troupe_serving_feedback_total")
                 .Help("Feedback (labels) received, per app")
                 .Register(r);
  batch_limit_ = &prometheus::BuildGauge()
                    .Name("troupe_serving_batch_size_limit")
                    .Help("Batch size learned by AIMD, per model replica")
                    .Register(r);
  mean_batch_ = &prometheus::BuildGauge()
                   .Name("troupe_serving_mean_batch_size")
                   .Help("Mean batch size sent to the container, per model replica")
                   .Register(r);
  batch_p99_ = &prometheus::BuildGauge()
                  .Name("troupe_serving_batch_latency_p99_us")
                  .Help("p99 latency of recent batches, per model replica (microseconds)")
                  .Register(r);
  queued_ = &prometheus::BuildGauge()
               .Name("troupe_serving_queued_queries")
               .Help("Queries waiting in a replica's queue")
               .Register(r);
  batches_ = &prometheus::BuildGauge()
                .Name("troupe_serving_batches")
                .Help("Batches sent to a replica's container")
                .Register(r);
  expired_ = &prometheus::BuildGauge()
                .Name("troupe_serving_expired_queries")
                .Help("Queries dropped at their deadline before a batch took them")
                .Register(r);
  policy_weight_ = &prometheus::BuildGauge()
                      .Name("troupe_serving_policy_weight")
                      .Help("A model's share of its app's selection weights (sums to 1 per app)")
                      .Register(r);
}

app_metric_handles serving_metrics::for_app(const std::string& app) {
  prometheus::Labels labels{{"app", app}};
  app_metric_handles h;
  h.latency_us = &latency_->Add(labels, latency_buckets());
  h.queries = &queries_->Add(labels);
  h.defaults = &defaults_->Add(labels);
  h.partial = &partial_->Add(labels);
  h.cache_hits = &cache_hits_->Add(labels);
  h.cache_misses = &cache_misses_->Add(labels);
  h.feedback = &feedback_->Add(labels);
  return h;
}

void serving_metrics::update(const batcher_stats& stats) {
  prometheus::Labels labels{{"model", stats.model}, {"replica", std::to_string(stats.replica)}};
  batch_limit_->Add(labels).Set(static_cast<double>(stats.batch_size_limit));
  mean_batch_->Add(labels).Set(stats.mean_batch_size);
  batch_p99_->Add(labels).Set(stats.p99_batch_latency_us);
  queued_->Add(labels).Set(static_cast<double>(stats.queued));
  batches_->Add(labels).Set(static_cast<double>(stats.batches));
  expired_->Add(labels).Set(static_cast<double>(stats.expired));
}

prometheus::Gauge* serving_metrics::policy_weight(const std::string& app,
                                                  const std::string& model) {
  return &policy_weight_->Add({{"app", app}, {"model", model}});
}

std::string serving_metrics::render() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(registry_->Collect());
}

} // namespace troupe::serving
