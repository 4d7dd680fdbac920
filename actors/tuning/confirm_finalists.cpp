#include "actors/tuning/confirm_finalists.hpp"

#include <algorithm>

#include <caf/scoped_actor.hpp>

#include "actors/tuning/measure_queue.hpp"

namespace troupe::tuning {

std::vector<finalist> confirm_finalists(caf::actor_system& sys, const tune_options& options,
                                        const std::vector<tuning_measurer_actor>& measurers,
                                        size_t count, int rounds) {
  if (count == 0 || rounds <= 0 || measurers.empty())
    return {};
  compiler::tuning_records store(options.store_dir);
  std::vector<compiler::measure_result> trials;
  for (auto& r : store.load(options.task))
    if (!r.confirmed && r.ok() && r.seconds > 0)
      trials.push_back(r);
  if (trials.empty())
    return {};
  std::stable_sort(trials.begin(), trials.end(),
                   [](const auto& a, const auto& b) { return a.seconds < b.seconds; });
  std::vector<finalist> finalists;
  for (auto& r : trials) {
    if (finalists.size() == count)
      break;
    bool seen = std::any_of(finalists.begin(), finalists.end(),
                            [&](const finalist& f) { return f.config == r.config; });
    if (!seen)
      finalists.push_back({r.config, r.gflops, {}, false});
  }
  if (auto d = compiler::default_config(options.task)) {
    auto found = std::find_if(finalists.begin(), finalists.end(),
                              [&](const finalist& f) { return f.config == *d; });
    if (found != finalists.end()) {
      found->is_default = true;
    } else {
      double trial = 0;
      for (auto& r : trials)
        if (r.config == *d)
          trial = std::max(trial, r.gflops);
      finalists.push_back({*d, trial, {}, true});
    }
  }

  // One worker for all rounds: finalists timed on different machines
  // would not compare.
  std::vector<tuning_measurer_actor> one{measurers.front()};
  caf::scoped_actor self{sys};
  std::vector<std::string> errors(finalists.size());
  for (int round = 0; round < rounds; ++round) {
    std::vector<std::string> requests;
    for (auto& f : finalists) {
      auto request = measure_request_for(options, f.config);
      request.check = round == 0;  // checked once; later rounds only time
      requests.push_back(compiler::request_to_json(request));
    }
    measure_round(sys, self, one, requests, options.measure_timeout,
                  [&](size_t i, const std::string& record, const std::string& error) {
                    if (!error.empty()) {
                      errors[i] = error;
                      return;
                    }
                    auto result = compiler::record_from_json(record).second;
                    if (!result.ok()) {
                      errors[i] = result.error;
                      return;
                    }
                    auto& best = finalists[i].confirmed;
                    if (!best.ok() || best.seconds <= 0 || result.seconds < best.seconds)
                      best = result;
                  });
  }
  for (size_t i = 0; i < finalists.size(); ++i) {
    auto& c = finalists[i].confirmed;
    c.config = finalists[i].config;
    c.confirmed = true;
    if (c.seconds <= 0 && c.error.empty())
      c.error = errors[i].empty() ? "no round measured it" : errors[i];
    c.timestamp = compiler::unix_millis();
    store.append(options.task, c);
  }
  std::stable_sort(finalists.begin(), finalists.end(), [](const finalist& a, const finalist& b) {
    double ga = a.confirmed.ok() ? a.confirmed.gflops : -1, gb = b.confirmed.ok() ? b.confirmed.gflops : -1;
    return ga > gb;
  });
  return finalists;
}

} // namespace troupe::tuning
