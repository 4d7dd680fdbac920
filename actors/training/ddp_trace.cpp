#include "actors/training/ddp_trace.hpp"

#include <fstream>

#include <nlohmann/json.hpp>

#include "messages/errors.hpp"

namespace troupe::training {

void ddp_trace::span(std::string name, std::string category, clock_type::time_point begin,
                     clock_type::time_point end) {
  auto us = [this](clock_type::time_point t) {
    return std::chrono::duration<double, std::micro>(t - origin_).count();
  };
  std::lock_guard<std::mutex> guard{mutex_};
  events_.push_back({std::move(name), std::move(category), us(begin), us(end) - us(begin)});
}

caf::error ddp_trace::write(const std::string& path) const {
  nlohmann::json events = nlohmann::json::array();
  {
    std::lock_guard<std::mutex> guard{mutex_};
    for (auto& e : events_)
      events.push_back({{"name", e.name},
                        {"cat", e.category},
                        {"ph", "X"},
                        {"ts", e.begin_us},
                        {"dur", e.duration_us},
                        {"pid", rank_},
                        {"tid", e.category == "comm" ? 2 : 1}});
  }
  std::ofstream out{path};
  if (!out)
    return make_error(errc::io_failure, "cannot write the DDP trace to '" + path + "'");
  out << nlohmann::json{{"traceEvents", events}}.dump() << '\n';
  return caf::none;
}

size_t ddp_trace::size() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return events_.size();
}

} // namespace troupe::training
