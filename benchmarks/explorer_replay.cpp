// Replays the tuner's model-guided search against a table of measured
// configs instead of measuring: the explorer (simulated annealing) and the
// XGBoost cost model run as in `troupe tune` (the template's default
// first, batches of --batch, retrained after each), and a "measurement"
// looks the config up in the records of an exhaustive search (`troupe tune
// --random --trials N --export F` with N above the admissible configs).
// Many seeds in seconds, so that explorer and model settings can be
// compared on the same landscape without the VM's timing noise between
// them; the landscape's own noise (one sample per config) stays.
//
// Reports, per seed and as the median: the trials until the best so far
// is the table's best, and 98 % / 95 % of it; the table rank of the best
// found within --trials.
//
//   explorer_replay --records exhaustive.jsonl --trials 250 --seeds 20
//                   [--epsilon 0.05] [--chains 64] [--steps 100]
//                   [--objective rank:pairwise]
#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "benchmarks/tuning_stats.hpp"
#include "compiler/ir/compile_error.hpp"
#include "compiler/tuning/cost_model.hpp"
#include "compiler/tuning/explorer.hpp"
#include "compiler/tuning/features.hpp"
#include "compiler/tuning/measure_protocol.hpp"
#include "compiler/tuning/search_space.hpp"
#include "benchmarks/cli_parse.hpp"

using namespace troupe;
using namespace troupe::compiler;
using troupe::bench::median;
using troupe::bench::trials_to_reach;

namespace {

struct landscape {
  tuning_task task;
  search_space space;
  std::map<uint64_t, double> gflops;              // measured configs (0: failed)
  std::map<uint64_t, std::vector<float>> features;  // every admissible config
  double best = 0;
  std::vector<double> sorted;  // measured GFLOP/s, best first
};

landscape load(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("cannot read " + path);
  landscape land;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (line.empty())
      continue;
    auto [task, result] = record_from_json(line);
    if (first) {
      land.task = task;
      land.space = space_of(task);
      first = false;
    } else if (task.name() != land.task.name()) {
      throw std::runtime_error(fmt::format("{} mixes tasks: {} and {}", path, land.task.name(),
                                           task.name()));
    }
    land.gflops[land.space.index_of(result.config)] = result.ok() ? result.gflops : 0.0;
  }
  if (first)
    throw std::runtime_error(path + " holds no records");
  for (uint64_t i = 0; i < land.space.size(); ++i) {
    auto config = land.space.at(i);
    if (!config_refusal(land.task, config).empty())
      continue;
    try {
      land.features[i] = extract_features(build_candidate(land.task, config));
    } catch (const compile_error&) {
    }
  }
  for (auto& [index, g] : land.gflops) {
    land.best = std::max(land.best, g);
    land.sorted.push_back(g);
  }
  std::sort(land.sorted.rbegin(), land.sorted.rend());
  return land;
}

struct replay_result {
  std::vector<double> best_so_far;
  double best = 0;
};

replay_result replay(const landscape& land, uint64_t seed, uint64_t trials, size_t batch,
                     const sa_options& sa, const cost_model_options& model_options) {
  sa_explorer explorer(land.space, seed, sa);
  cost_model_options mo = model_options;
  mo.seed = seed;
  cost_model model(mo);
  std::set<uint64_t> measured;
  for (uint64_t i = 0; i < land.space.size(); ++i)
    if (!land.features.count(i))
      measured.insert(i);  // refused: never proposed
  std::vector<std::vector<float>> rows;
  std::vector<double> throughput;
  replay_result out;
  auto measure = [&](uint64_t index) {
    measured.insert(index);
    auto found = land.gflops.find(index);
    double g = found == land.gflops.end() ? 0.0 : found->second;  // unmeasured in the table
    rows.push_back(land.features.at(index));
    throughput.push_back(g);
    out.best = std::max(out.best, g);
    out.best_so_far.push_back(out.best);
  };
  if (auto d = default_config(land.task))
    measure(land.space.index_of(*d));
  config_scorer score;
  while (out.best_so_far.size() < trials) {
    auto n = std::min<uint64_t>(batch, trials - out.best_so_far.size());
    auto configs = explorer.propose(static_cast<size_t>(n), score, measured);
    if (configs.empty())
      break;
    for (auto& c : configs)
      measure(land.space.index_of(c));
    if (rows.size() >= batch) {
      model.train(rows, throughput);
      score = [&](const std::vector<tuning_config>& configs) {
        std::vector<double> s(configs.size(), -HUGE_VAL);
        std::vector<std::vector<float>> r;
        std::vector<size_t> valid;
        for (size_t i = 0; i < configs.size(); ++i) {
          auto f = land.features.find(land.space.index_of(configs[i]));
          if (f != land.features.end()) {
            r.push_back(f->second);
            valid.push_back(i);
          }
        }
        if (!r.empty()) {
          auto p = model.predict(r);
          for (size_t k = 0; k < valid.size(); ++k)
            s[valid[k]] = p[k];
        }
        return s;
      };
    }
  }
  return out;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Replay model-guided tuning against an exhaustive search's records"};
  std::string records;
  uint64_t trials = 250;
  int seeds = 20;
  size_t batch = 16;
  sa_options sa;
  cost_model_options model_options;
  app.add_option("--records", records, "JSON lines of an exhaustive search (troupe tune --export)")
    ->required();
  app.add_option("--trials", trials, "trial budget of each replayed search");
  app.add_option("--seeds", seeds, "seeds (the median counts)");
  app.add_option("--batch", batch, "configs per round (the model retrains after each)");
  app.add_option("--epsilon", sa.epsilon, "share of random proposals");
  app.add_option("--chains", sa.chains, "annealing chains");
  app.add_option("--steps", sa.steps, "annealing steps per round");
  app.add_option("--diversity", sa.diversity, "the explorer's diversity weight");
  app.add_option("--objective", model_options.objective,
                 "XGBoost objective: rank:pairwise, rank:ndcg, reg:squarederror");
  app.add_option("--rounds", model_options.rounds, "boosting rounds per training");
  TROUPE_BENCH_PARSE(app, argc, argv);
  try {
    auto land = load(records);
    fmt::print("{}: {} configs, {} admissible, {} in the table; best {:.1f} GFLOP/s, 10th {:.1f}, "
               "50th {:.1f}\n",
               land.task.name(), land.space.size(), land.features.size(), land.gflops.size(),
               land.best, land.sorted.size() > 9 ? land.sorted[9] : 0.0,
               land.sorted.size() > 49 ? land.sorted[49] : 0.0);
    std::vector<double> to_best, to98, to95, rank, final_share;
    for (int seed = 1; seed <= seeds; ++seed) {
      auto r = replay(land, static_cast<uint64_t>(seed), trials, batch, sa, model_options);
      to_best.push_back(static_cast<double>(trials_to_reach(r.best_so_far, land.best)));
      to98.push_back(static_cast<double>(trials_to_reach(r.best_so_far, 0.98 * land.best)));
      to95.push_back(static_cast<double>(trials_to_reach(r.best_so_far, 0.95 * land.best)));
      auto position = std::find(land.sorted.begin(), land.sorted.end(), r.best) - land.sorted.begin();
      rank.push_back(static_cast<double>(position + 1));
      final_share.push_back(r.best / land.best);
      fmt::print("seed {:2}: best {:.1f} ({:.3f} of the table's, rank {}), trials to the table's best "
                 "{}, to 98 % {}, to 95 % {}\n",
                 seed, r.best, final_share.back(), rank.back(), to_best.back(), to98.back(),
                 to95.back());
    }
    size_t reached = static_cast<size_t>(
      std::count_if(to_best.begin(), to_best.end(), [&](double t) { return t <= trials; }));
    fmt::print("median of {} seeds: trials to the best {} (reached in {} seeds), to 98 % {}, to 95 % "
               "{}; final {:.3f} of the best, rank {}\n",
               seeds, median(to_best), reached, median(to98), median(to95), median(final_share),
               median(rank));
    fmt::print("{{\"benchmark\":\"explorer_replay\",\"seeds\":{},\"trials\":{},\"epsilon\":{},"
               "\"chains\":{},\"objective\":\"{}\",\"median_trials_to_best\":{},\"reached\":{},"
               "\"median_trials_to_98\":{},\"median_final_share\":{:.3f}}}\n",
               seeds, trials, sa.epsilon, sa.chains, model_options.objective, median(to_best),
               reached, median(to98), median(final_share));
  } catch (const std::exception& e) {
    fmt::print(stderr, "explorer_replay: {}\n", e.what());
    return 1;
  }
  return 0;
}
