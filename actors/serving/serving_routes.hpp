// Which app actor answers /<app>/predict: a table the serving manager
// writes whenever an app is added, removed or respawned, and the frontend's
// HTTP threads read on every request. A lookup takes a mutex for the time
// of one hash-map probe and returns a shared snapshot of the route, so a
// route being replaced never disturbs a request already holding the old one.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/serving/prediction_cache.hpp"
#include "actors/serving/serving_metrics.hpp"
#include "messages/serving_protocol.hpp"
#include "messages/serving_specs.hpp"

namespace troupe::serving {

struct app_route {
  app_spec spec;
  /// Null while no linked model serves (the frontend then answers the
  /// default output, saying so).
  app_actor actor;
  /// For the frontend's cache fast path: the one model (name:version) a
  /// "single" app asks, the cache, the app's metrics and query ids. A
  /// cached answer then needs no actor at all.
  std::string single_model;
  std::shared_ptr<prediction_cache> cache;
  app_metric_handles metrics;
  std::shared_ptr<std::atomic<uint64_t>> query_ids;
};

class serving_routes {
public:
  std::shared_ptr<const app_route> find(const std::string& app) const;
  void set(std::shared_ptr<const app_route> route);
  void erase(const std::string& app);
  std::vector<std::string> names() const;

private:
  mutable std::mutex mtx_;
  std::unordered_map<std::string, std::shared_ptr<const app_route>> routes_;
};

} // namespace troupe::serving
