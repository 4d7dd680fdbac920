#include "actors/tuning/measurer_actor.hpp"

#include <memory>

#include "compiler/tuning/measure_protocol.hpp"
#include "compiler/tuning/measurer.hpp"

namespace troupe::tuning {

namespace {

struct measurer_state {
  std::unique_ptr<compiler::measurer> worker;
  static inline const char* name = "tuning_measurer";
};

} // namespace

std::string measurer_directory_name(const std::string& name) {
  return "tuning.measurer." + name;
}

tuning_measurer_actor spawn_measurer(caf::actor_system& sys, std::string worker_path,
                                     std::chrono::milliseconds run_timeout, std::string site) {
  auto behavior = [worker_path, run_timeout,
                   site](tuning_measurer_actor::stateful_pointer<measurer_state> self)
      -> tuning_measurer_actor::behavior_type {
    self->state.worker = std::make_unique<compiler::measurer>(worker_path);
    return {
      [self, run_timeout, site](measure_atom, const std::string& request_json) -> std::string {
        compiler::measure_request request;
        try {
          request = compiler::request_from_json(request_json);
        } catch (const std::exception& e) {
          compiler::measure_result bad;
          bad.error = std::string("bad request: ") + e.what();
          bad.timestamp = compiler::unix_millis();
          return compiler::record_to_json(compiler::tuning_task{}, bad);
        }
        compiler::measure_options options;
        options.repeats = request.repeats;
        options.threads = request.threads;
        options.seed = request.seed;
        options.check = request.check;
        options.flush = request.flush;
        options.fault = request.fault;
        options.run_timeout = run_timeout;
        auto result = self->state.worker->measure(request.task, request.config, options);
        if (!site.empty())
          result.device = site + "@" + result.device;
        return compiler::record_to_json(request.task, result);
      },
    };
  };
  return sys.spawn<caf::detached>(behavior);
}

} // namespace troupe::tuning
