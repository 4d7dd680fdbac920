#include "actors/serving/serving_routes.hpp"

#include <algorithm>

namespace troupe::serving {

std::shared_ptr<const app_route> serving_routes::find(const std::string& app) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = routes_.find(app);
  return i == routes_.end() ? nullptr : i->second;
}

void serving_routes::set(std::shared_ptr<const app_route> route) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto name = route->spec.name;
  routes_[name] = std::move(route);
}

void serving_routes::erase(const std::string& app) {
  std::lock_guard<std::mutex> guard{mtx_};
  routes_.erase(app);
}

std::vector<std::string> serving_routes::names() const {
  std::vector<std::string> result;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [name, route] : routes_)
      result.push_back(name);
  }
  std::sort(result.begin(), result.end());
  return result;
}

} // namespace troupe::serving
