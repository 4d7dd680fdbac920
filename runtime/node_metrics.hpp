// A node's Prometheus metrics: counters and gauges that its actors update,
// served as Prometheus text over HTTP when metrics.port is set.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace prometheus {
class Exposer;
}

namespace troupe {

/// The counters of one kind of actor, looked up once when the actor starts:
/// a lookup by label costs a hash and a lock, too much for every message.
struct actor_counters {
  prometheus::Counter* messages = nullptr;
  prometheus::Counter* errors = nullptr;

  void count() {
    if (messages)
      messages->Increment();
  }

  void count_error() {
    if (errors)
      errors->Increment();
  }
};

class node_metrics;

/// The counters of `actor` in `metrics`, or inert ones if `metrics` is null.
actor_counters counters_for(const std::shared_ptr<node_metrics>& metrics,
                            const std::string& actor);

class node_metrics {
public:
  /// Makes the registry; serves it on host:port unless port is -1 (0 picks
  /// a free port). unavailable if the port cannot be bound.
  static caf::expected<std::shared_ptr<node_metrics>>
  make(const std::string& node_name, const std::string& host, int32_t port);

  ~node_metrics();

  /// troupe_actor_messages_total{actor}: messages handled by one kind of actor.
  prometheus::Counter& messages(const std::string& actor);

  /// troupe_actor_errors_total{actor}: requests answered with an error.
  prometheus::Counter& errors(const std::string& actor);

  /// troupe_cluster_members: live members as this node sees them (itself too).
  prometheus::Gauge& members() { return *members_; }

  /// troupe_directory_names: names known to this node's directory.
  prometheus::Gauge& names() { return *names_; }

  /// troupe_actors_running: actors alive in this node's actor system.
  prometheus::Gauge& actors_running() { return *actors_running_; }

  /// troupe_members_down_total: peers this node saw go down.
  prometheus::Counter& members_down() { return *members_down_; }

  /// The registry, for subsystems that add their own families.
  prometheus::Registry& registry() { return *registry_; }

  /// The bound port of the HTTP endpoint, or -1 when it is off.
  int32_t port() const { return port_; }

private:
  node_metrics() = default;

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Counter>* messages_ = nullptr;
  prometheus::Family<prometheus::Counter>* errors_ = nullptr;
  prometheus::Gauge* members_ = nullptr;
  prometheus::Gauge* names_ = nullptr;
  prometheus::Gauge* actors_running_ = nullptr;
  prometheus::Counter* members_down_ = nullptr;
  int32_t port_ = -1;
};

} // namespace troupe
