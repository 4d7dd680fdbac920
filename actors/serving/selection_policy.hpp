// How an application chooses among its models and combines their answers
// (Clipper §5). A policy sees models only by index (the app's linked
// models, in order) and outputs as strings; it holds the learned state, which
// the app persists in the store after every feedback.
//
//   choose()   -> which models to ask for this query
//   combine()  -> one answer from the outputs that made the deadline
//   learn()    -> move weight toward models that predicted the label
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace troupe::serving {

/// One model's output for a query, absent if it missed the deadline or failed.
using model_answer = std::optional<std::string>;

struct combined_answer {
  std::string output;
  double confidence = 1.0;
  std::vector<size_t> used;  // models whose output went into `output`
};

class selection_policy {
public:
  virtual ~selection_policy();

  /// "single", "exp3" or "exp4".
  virtual std::string name() const = 0;

  /// The models to query, by index; never empty while models exist.
  virtual std::vector<size_t> choose(std::mt19937_64& rng) = 0;

  /// True if choose() answers the same for every query (a fixed model, or
  /// all of them): a batch then asks once, not once per row.
  virtual bool chooses_alike() const { return false; }

  /// Combines the answers of the chosen models (answers[i] belongs to
  /// chosen[i]); nullopt if none arrived.
  virtual std::optional<combined_answer> combine(const std::vector<size_t>& chosen,
                                                 const std::vector<model_answer>& answers) const = 0;

  /// The models whose outputs feedback needs (Exp3: the one it samples;
  /// Exp4: all).
  virtual std::vector<size_t> feedback_models(std::mt19937_64& rng) = 0;

  /// Learns from `label`, given the outputs of feedback_models().
  virtual void learn(const std::vector<size_t>& models, const std::vector<model_answer>& answers,
                     const std::string& label) = 0;

  /// The current weights (one per model), for metrics and `serve list`.
  virtual std::vector<double> weights() const = 0;

  /// The learned state as JSON, and back. restore() fails on state of a
  /// different model count, naming both.
  virtual std::string save() const = 0;
  virtual caf::error restore(const std::string& state) = 0;
};

/// A policy by name for `models` models; invalid_argument for an unknown
/// name (the message lists the known ones) or no models.
caf::expected<std::unique_ptr<selection_policy>> make_policy(const std::string& name,
                                                             size_t models);

} // namespace troupe::serving
