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

void observe_latency(prometheus::Histogram* latency_us, double us, size_t queries) {
  if (!latency_us || queries == 0)
    return;
  if (queries == 1) {
    latency_us->Observe(us);
    return;
  }
  // The bucket Observe() would pick (the first boundary >= us; the last,
  // +Inf, past them all), counted `queries` times under one lock.
  static const auto boundaries = latency_buckets();
  std::vector<double> increments(boundaries.size() + 1, 0.0);
  size_t bucket = 0;
  while (bucket < boundaries.size() && boundaries[bucket] < us)
    ++bucket;
  increments[bucket] = static_cast<double>(queries);
  latency_us->ObserveMultiple(increments, us * static_cast<double>(queries));
}

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

void serving_metrics::update(const std::vector<batcher_stats>& all) {
  std::lock_guard<std::mutex> guard{mtx_};
  std::map<std::pair<std::string, uint32_t>, replica_gauges> seen;
  for (auto& stats : all) {
    auto key = std::make_pair(stats.model, stats.replica);
    auto known = replicas_.find(key);
    replica_gauges g;
    if (known != replicas_.end()) {
      g = known->second;
      replicas_.erase(known);
    } else {
      prometheus::Labels labels{{"model", stats.model},
                                {"replica", std::to_string(stats.replica)}};
      g = {&batch_limit_->Add(labels), &mean_batch_->Add(labels), &batch_p99_->Add(labels),
           &queued_->Add(labels),      &batches_->Add(labels),    &expired_->Add(labels)};
    }
    g.limit->Set(static_cast<double>(stats.batch_size_limit));
    g.mean->Set(stats.mean_batch_size);
    g.p99->Set(stats.p99_batch_latency_us);
    g.queued->Set(static_cast<double>(stats.queued));
    g.batches->Set(static_cast<double>(stats.batches));
    g.expired->Set(static_cast<double>(stats.expired));
    seen.emplace(std::move(key), g);
  }
  // What is left was not in this scrape: its model or replica is gone.
  for (auto& [key, g] : replicas_) {
    batch_limit_->Remove(g.limit);
    mean_batch_->Remove(g.mean);
    batch_p99_->Remove(g.p99);
    queued_->Remove(g.queued);
    batches_->Remove(g.batches);
    expired_->Remove(g.expired);
  }
  replicas_ = std::move(seen);
}

uint64_t serving_metrics::claim_policy_weights(const std::string& app) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto generation = next_generation_++;
  weights_[app].generation = generation;
  return generation;
}

void serving_metrics::set_policy_weights(
  const std::string& app, uint64_t generation,
  const std::vector<std::pair<std::string, double>>& shares) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = weights_.find(app);
  if (i == weights_.end() || i->second.generation != generation)
    return;  // a retired (or removed) app actor
  auto& by_model = i->second.by_model;
  std::map<std::string, prometheus::Gauge*> now;
  for (auto& [model, share] : shares) {
    auto known = by_model.find(model);
    auto* g = known != by_model.end() ? known->second
                                      : &policy_weight_->Add({{"app", app}, {"model", model}});
    if (known != by_model.end())
      by_model.erase(known);
    g->Set(share);
    now.emplace(model, g);
  }
  for (auto& [model, g] : by_model)
    policy_weight_->Remove(g);
  by_model = std::move(now);
}

void serving_metrics::forget_policy_weights(const std::string& app) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = weights_.find(app);
  if (i == weights_.end())
    return;
  for (auto& [model, g] : i->second.by_model)
    policy_weight_->Remove(g);
  weights_.erase(i);
}

std::string serving_metrics::render() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(registry_->Collect());
}

} // namespace troupe::serving
