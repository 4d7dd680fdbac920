#include "actors/tuning/tuner.hpp"

#include <stdexcept>

#include <caf/scoped_actor.hpp>

#include "actors/tuning/measure_queue.hpp"
#include "actors/tuning/model_actors.hpp"
#include "compiler/tuning/tuning_records.hpp"
#include "messages/errors.hpp"

namespace troupe::tuning {

namespace {

// Requests to the model actors in this process: generous, they train.
constexpr auto model_timeout = std::chrono::minutes(5);

} // namespace

compiler::measure_request measure_request_for(const tune_options& options,
                                              const compiler::tuning_config& config) {
  compiler::measure_request request;
  request.task = options.task;
  request.config = config;
  request.repeats = options.repeats;
  request.threads = options.threads;
  request.flush = options.flush;
  request.min_repeat_ms = options.min_repeat_ms;
  request.seed = options.seed;
  return request;
}

tune_summary run_tuning(caf::actor_system& sys, const tune_options& options,
                        const std::vector<tuning_measurer_actor>& measurers,
                        const std::function<void(const tune_progress&)>& on_progress) {
  if (measurers.empty())
    throw std::runtime_error("tuning needs at least one measurer");
  auto start = std::chrono::steady_clock::now();
  compiler::space_of(options.task);  // an unknown op or bad shape fails here
  compiler::tuning_records store(options.store_dir);
  tune_summary summary;
  tune_progress progress;
  progress.trials = options.trials;
  caf::scoped_actor self{sys};
  auto explorer = spawn_explorer(sys, options.task, options.seed, options.random);
  auto model = spawn_cost_model(sys, options.task, options.seed);
  auto stop_actors = [&] {
    self->send_exit(explorer, caf::exit_reason::user_shutdown);
    self->send_exit(model, caf::exit_reason::user_shutdown);
  };
  // Transferred records first: the training rows stay grouped by task.
  std::vector<std::string> record_lines;
  for (auto& r : options.transfer)
    record_lines.push_back(compiler::record_to_json(r.task, r.result));
  auto add_record = [&](const compiler::measure_result& r, bool resumed) {
    summary.records.push_back(r);
    record_lines.push_back(compiler::record_to_json(options.task, r));
    if (!r.ok())
      ++summary.errors;
    if (r.ok() && r.gflops > summary.best.gflops)
      summary.best = r;
    summary.best_so_far.push_back(summary.best.gflops);
    (resumed ? summary.resumed : summary.measured) += 1;
    progress.done = summary.records.size();
    progress.errors = summary.errors;
    progress.best_gflops = summary.best.gflops;
    progress.last = r;
  };
  std::string failure;
  auto on_error = [&](const caf::error& err) { failure = describe(err); };
  auto retrain = [&] {
    if (options.random || record_lines.size() < options.batch)
      return;
    self->request(model, model_timeout, train_atom::value, record_lines)
      .receive([](uint64_t) {}, on_error);
    self->request(model, model_timeout, model_atom::value)
      .receive([&](const std::string& bytes) {
        self->request(explorer, model_timeout, model_atom::value, bytes).receive([](bool) {}, on_error);
      }, on_error);
  };

  // Resume: what the store holds counts, and is never proposed again.
  std::vector<std::string> measured_configs;
  for (auto& r : store.load(options.task)) {
    if (r.confirmed)
      continue;  // a finalist's re-measurement, not a trial
    add_record(r, true);
    measured_configs.push_back(config_to_json(r.config));
  }
  if (!measured_configs.empty())
    self->request(explorer, model_timeout, measure_atom::value, measured_configs)
      .receive([](uint64_t) {}, on_error);
  if (!record_lines.empty())
    retrain();
  if (on_progress)
    on_progress(progress);

  bool crash_planted = false, hang_planted = false;
  while (summary.records.size() < options.trials && failure.empty()) {
    uint64_t batch = std::min<uint64_t>(options.batch, options.trials - summary.records.size());
    std::vector<std::string> configs;
    self->request(explorer, model_timeout, propose_atom::value, batch)
      .receive([&](const std::vector<std::string>& proposed) { configs = proposed; }, on_error);
    if (configs.empty())
      break;  // the space is exhausted
    std::vector<std::string> requests;
    for (auto& config : configs) {
      auto request = measure_request_for(options, config_from_json(config));
      auto trial = summary.records.size() + requests.size() + 1;
      auto plant = [&](uint64_t from, bool& planted, const char* fault) {
        if (planted || from == 0 || trial < from || !request.fault.empty())
          return;
        try {
          compiler::build_candidate(options.task, request.config);  // only valid ones run
        } catch (const std::exception&) {
          return;
        }
        request.fault = fault;
        planted = true;
      };
      plant(options.crash_trial, crash_planted, "crash");
      plant(options.hang_trial, hang_planted, "hang");
      requests.push_back(compiler::request_to_json(request));
    }
    // The measurers work in parallel, each taking the next config as soon
    // as it is free; results are stored as they arrive.
    measure_round(sys, self, measurers, requests, options.measure_timeout,
                  [&](size_t index, const std::string& record, const std::string& error) {
                    compiler::measure_result result;
                    if (error.empty()) {
                      result = compiler::record_from_json(record).second;
                    } else {
                      // The measurer itself did not answer (its node died, a
                      // timeout): the config is recorded as failed, tuning goes on.
                      result.error = error;
                      result.timestamp = compiler::unix_millis();
                    }
                    if (result.config.empty())
                      result.config = config_from_json(configs[index]);
                    store.append(options.task, result);
                    add_record(result, false);
                    if (on_progress)
                      on_progress(progress);
                  });
    retrain();
  }
  stop_actors();
  if (!failure.empty())
    throw std::runtime_error("tuning stopped: " + failure);
  summary.seconds =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

} // namespace troupe::tuning
