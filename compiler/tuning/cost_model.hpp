// The tuner's cost model: gradient-boosted trees (XGBoost) that rank
// candidates by their features (features.hpp) instead of measuring them.
// It learns an order, not a time: the objective is pairwise ranking within
// a task, so a model trained on one task's records can rank the candidates
// of a similar task (transfer), and its predictions are scores (higher is
// better), not GFLOP/s.
//
// Single-threaded: one caller at a time (an actor's state). XGBoost errors
// surface as std::runtime_error with XGBoost's message.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::compiler {

struct cost_model_options {
  int rounds = 100;     ///< boosting rounds per train()
  int max_depth = 6;
  double eta = 0.3;
  /// Pairs sampled per record and round (XGBoost's num_pairsample): more
  /// pairs learn a finer order from few records (1 -> 8: pairwise
  /// accuracy 0.90 -> 0.95 on 400 synthetic records).
  int pairs_per_record = 8;
  uint64_t seed = 0;
  int threads = 1;      ///< XGBoost's nthread
  /// XGBoost's objective: "rank:pairwise" (every pair alike), or
  /// "rank:ndcg" (pairs near the top weigh more), or "reg:squarederror"
  /// (regress the throughput relative to the task's best).
  std::string objective = "rank:pairwise";
};

class cost_model {
public:
  explicit cost_model(cost_model_options options = {});
  ~cost_model();
  cost_model(cost_model&& other) noexcept;
  cost_model& operator=(cost_model&& other) noexcept;
  cost_model(const cost_model&) = delete;
  cost_model& operator=(const cost_model&) = delete;

  /// Trains a fresh model (the previous one is replaced) on `features`
  /// (one row per measured candidate, all of one length) and their
  /// `throughput` (e.g. GFLOP/s; 0 for invalid or failed candidates).
  /// `groups` splits the rows into consecutive groups (one per task), each
  /// ranked on its own; empty means one group of all rows. Labels are the
  /// throughput divided by its group's best.
  /// Throws std::invalid_argument for ragged or mismatched input and
  /// std::runtime_error when XGBoost fails.
  void train(const std::vector<std::vector<float>>& features, const std::vector<double>& throughput,
             const std::vector<size_t>& groups = {});

  /// Scores for `features` (higher = predicted faster).
  /// REQUIRES: trained(); every row has feature_count() values.
  std::vector<double> predict(const std::vector<std::vector<float>>& features) const;

  bool trained() const { return booster_ != nullptr; }
  /// The row length the model was trained on (0 before training).
  size_t feature_count() const { return features_; }

  /// The model as bytes (XGBoost's UBJSON), for persistence and transfer.
  /// REQUIRES: trained().
  std::string save() const;
  /// Replaces the model by one from save(); throws std::runtime_error when
  /// the bytes are not a model.
  void load(const std::string& bytes);

private:
  void set_params(void* booster) const;
  /// Frees the current booster (if any) and keeps `booster` instead.
  void replace_booster(void* booster, size_t columns);

  cost_model_options options_;
  void* booster_ = nullptr;  ///< BoosterHandle
  size_t features_ = 0;
};

/// The share of pairs with different `truth` that `predicted` orders the
/// same way (0.5 is chance). 1 when there is no such pair.
double pairwise_accuracy(const std::vector<double>& predicted, const std::vector<double>& truth);

} // namespace troupe::compiler
