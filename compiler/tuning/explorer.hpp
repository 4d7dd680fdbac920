// The tuner's explorer: parallel simulated annealing over a search space,
// guided by the cost model's scores (AutoTVM's SA model optimizer). Many
// chains walk the space, each step changing one knob of each chain's point
// and accepting by the Metropolis rule on the predicted scores; the chains'
// points persist across rounds, so each round continues where the last one
// stopped (the model changes between rounds, the good regions rarely do).
// Each round proposes the best-scoring distinct configs the walk visited
// that are not measured yet, spread over the knobs' values (diversity),
// and a share epsilon of uniformly random unmeasured ones (the model's
// blind spots). Without a model every proposal is random.
//
// Deterministic for a seed: std::mt19937_64 and ordered containers only.
#pragma once

#include "compiler/tuning/search_space.hpp"

#include <cstdint>
#include <functional>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace troupe::compiler {

struct sa_options {
  // Defaults chosen by benchmarks/explorer_replay over exhaustive matmul
  // 1024 and 512 tables (20 seeds each, 250 trials): against 64 chains,
  // 100 steps and epsilon 0.05, the table's best was found in 14 seeds of
  // 20 instead of 9 (1024) and 19 instead of 17 (512); 98 % of it at trial
  // 35 instead of 67 (1024). Random picks teach the model the regions its
  // own picks avoid. A round costs ~40 ms more.
  size_t chains = 128;
  size_t steps = 200;              ///< annealing steps per propose()
  double epsilon = 0.2;            ///< the share of random proposals
  /// Diversity (after AutoTVM's submodular pick): the model's share is
  /// chosen greedily from its best 3 x batch configs, each pick's value its
  /// rank (1 for the best, falling to 0) plus `diversity` x the share of
  /// knobs whose value no earlier pick of the batch has. 0 (the default,
  /// as in AutoTVM): the best by score alone. At 0.25 matmul 1024 tuned
  /// worse (benchmarks/README.md: 90 % of the best at trial 31, not 11).
  double diversity = 0.0;
  /// Temperature falls linearly from start to end over a round's steps; it
  /// is relative to the spread of the chains' scores at the round's start.
  double start_temperature = 1.0;
  double end_temperature = 0.0;
};

/// Scores of configs, one per config, higher = better. A NaN or -infinity
/// marks a config to avoid (never accepted, never proposed by score).
using config_scorer = std::function<std::vector<double>(const std::vector<tuning_config>&)>;

class sa_explorer {
public:
  sa_explorer(search_space space, uint64_t seed, sa_options options = {});

  /// Up to `batch` distinct configs whose indices (search_space::index_of)
  /// are not in `measured`: fewer only when fewer are left. With a `score`
  /// the first (1 - epsilon) share are the best the annealing found, the
  /// rest random; without one all are random.
  std::vector<tuning_config> propose(size_t batch, const config_scorer& score,
                                     const std::set<uint64_t>& measured);

  const search_space& space() const { return space_; }
  /// The chains' current points (indices), for tests and inspection.
  const std::vector<uint64_t>& chains() const { return chains_; }

private:
  /// Up to `n` random indices outside `measured` and `taken`, added to `taken`.
  std::vector<uint64_t> random_unmeasured(size_t n, const std::set<uint64_t>& measured,
                                          std::set<uint64_t>& taken);
  uint64_t neighbor(uint64_t index);
  /// Up to `n` of `ranked` (best first), picked for score and diversity.
  std::vector<uint64_t> diverse_pick(const std::vector<std::pair<double, uint64_t>>& ranked,
                                     size_t n) const;

  search_space space_;
  sa_options options_;
  std::mt19937_64 rng_;
  std::vector<uint64_t> chains_;
};

} // namespace troupe::compiler
