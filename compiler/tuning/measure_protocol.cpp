#include "compiler/tuning/measure_protocol.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <stdexcept>

namespace troupe::compiler {

using json = nlohmann::json;

namespace {

json task_json(const tuning_task& task) {
  return {{"op", task.op}, {"shape", task.shape}};
}

tuning_task task_from(const json& j) {
  tuning_task task;
  task.op = j.at("op").get<std::string>();
  task.shape = j.at("shape").get<std::vector<int64_t>>();
  return task;
}

json parse(const std::string& line) {
  try {
    auto j = json::parse(line);
    if (!j.is_object())
      throw std::invalid_argument("not a JSON object");
    return j;
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("malformed JSON: ") + e.what());
  }
}

} // namespace

std::string request_to_json(const measure_request& r) {
  json j = {{"task", task_json(r.task)}, {"config", r.config}, {"repeats", r.repeats},
            {"threads", r.threads},      {"seed", r.seed},     {"check", r.check}, {"flush", r.flush},
            {"min_repeat_ms", r.min_repeat_ms}};
  if (!r.fault.empty())
    j["fault"] = r.fault;
  return j.dump();
}

measure_request request_from_json(const std::string& line) {
  auto j = parse(line);
  try {
    measure_request r;
    r.task = task_from(j.at("task"));
    r.config = j.at("config").get<tuning_config>();
    r.repeats = j.value("repeats", r.repeats);
    r.threads = j.value("threads", r.threads);
    r.seed = j.value("seed", r.seed);
    r.check = j.value("check", r.check);
    r.flush = j.value("flush", r.flush);
    r.min_repeat_ms = j.value("min_repeat_ms", r.min_repeat_ms);
    r.fault = j.value("fault", std::string{});
    if (r.repeats < 1)
      throw std::invalid_argument("repeats must be at least 1");
    if (r.min_repeat_ms < 0 || r.min_repeat_ms > 10'000)
      throw std::invalid_argument("min_repeat_ms must be between 0 and 10000");
    return r;
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("bad request: ") + e.what());
  }
}

std::string record_to_json(const tuning_task& task, const measure_result& r) {
  json j = {{"task", task.name()},
            {"op", task.op},
            {"shape", task.shape},
            {"config", r.config},
            {"seconds", r.seconds},
            {"mean_seconds", r.mean_seconds},
            {"gflops", r.gflops},
            {"max_error", r.max_error},
            {"error", r.error},
            {"device", r.device},
            {"timestamp", r.timestamp}};
  if (r.confirmed)
    j["confirmed"] = true;
  return j.dump();
}

std::pair<tuning_task, measure_result> record_from_json(const std::string& line) {
  auto j = parse(line);
  try {
    auto task = task_from(j);
    measure_result r;
    r.config = j.at("config").get<tuning_config>();
    r.seconds = j.value("seconds", 0.0);
    r.mean_seconds = j.value("mean_seconds", 0.0);
    r.gflops = j.value("gflops", 0.0);
    r.max_error = j.value("max_error", 0.0);
    r.error = j.value("error", std::string{});
    r.device = j.value("device", std::string{});
    r.timestamp = j.value("timestamp", int64_t{0});
    r.confirmed = j.value("confirmed", false);
    if (j.contains("task") && j["task"].get<std::string>() != task.name())
      throw std::invalid_argument("task name '" + j["task"].get<std::string>()
                                  + "' does not match op and shape ('" + task.name() + "')");
    return {task, r};
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("bad record: ") + e.what());
  }
}

int64_t unix_millis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace troupe::compiler
