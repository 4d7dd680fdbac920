// Plain data of the serving system (after Clipper): what a query carries,
// what an application answers, and how apps and models are described.
// Everything here crosses actor boundaries, so each type has an inspect().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace troupe {

/// Clipper's input types. Numbers of the three numeric kinds travel as
/// doubles (exact for ints up to 2^53); strings and bytes (already decoded
/// from base64) travel as text.
enum class input_kind : uint8_t { doubles, floats, ints, strings, bytes };

/// "doubles", "floats", ...
const char* to_string(input_kind kind);

/// Parses a kind's name; false if `name` is none of them.
bool from_string(const std::string& name, input_kind& kind);

/// One query's input.
struct query_input {
  input_kind kind = input_kind::doubles;
  std::vector<double> numbers;  // doubles, floats, ints
  std::string text;             // strings, bytes

  /// Bytes this input occupies (for the cache's byte budget).
  size_t byte_size() const { return numbers.size() * sizeof(double) + text.size(); }

  friend bool operator==(const query_input& a, const query_input& b) {
    return a.kind == b.kind && a.numbers == b.numbers && a.text == b.text;
  }
};

/// A 64-bit hash of the input's kind, content and lengths, 8 bytes at a
/// time: the prediction cache keys on it together with the model. Not
/// persisted anywhere, so it may change between releases.
uint64_t hash_input(const query_input& x);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, query_input& x) {
  return f(caf::meta::type_name("troupe::query_input"), x.kind, x.numbers, x.text);
}

using query_inputs = std::vector<query_input>;

/// A model's outputs for a batch, one string per input (Clipper's
/// container interface: the output is the model's own rendering, e.g. a
/// class label "7" or a JSON array of scores).
using model_outputs = std::vector<std::string>;

/// What an application answers for one query.
struct prediction {
  uint64_t query_id = 0;
  std::string output;
  /// True when `output` is the app's default output (no model answered by
  /// the deadline, or every one failed); the explanation says why.
  bool is_default = false;
  std::string default_explanation;
  /// Exp4: the share of the ensemble's weight that agrees with `output`;
  /// 1 for a single model.
  double confidence = 1.0;
  /// The models (name:version) whose outputs went into the answer.
  std::vector<std::string> models_used;
  /// Models chosen for this query that had not answered by the deadline
  /// (straggler mitigation answered without them).
  std::vector<std::string> models_missing;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, prediction& x) {
  return f(caf::meta::type_name("troupe::prediction"), x.query_id, x.output, x.is_default,
           x.default_explanation, x.confidence, x.models_used, x.models_missing);
}

using predictions = std::vector<prediction>;

/// Feedback for a query: the true label of an input (POST /<app>/update).
/// `uid` names the user whose selection state learns from it (0: shared).
struct feedback {
  uint64_t uid = 0;
  query_input input;
  std::string label;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feedback& x) {
  return f(caf::meta::type_name("troupe::feedback"), x.uid, x.input, x.label);
}

/// What a batcher reports about itself (GET /metrics, `troupe serve status`).
struct batcher_stats {
  std::string model;               // name:version
  uint32_t replica = 0;
  uint64_t batch_size_limit = 0;   // what AIMD has learned
  double mean_batch_size = 0;
  double p99_batch_latency_us = 0; // of recent batches
  uint64_t queued = 0;
  uint64_t batches = 0;
  uint64_t queries = 0;
  uint64_t expired = 0;            // dropped at their deadline, unbatched
  uint64_t failed = 0;             // queries whose batch the container failed
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batcher_stats& x) {
  return f(caf::meta::type_name("troupe::batcher_stats"), x.model, x.replica,
           x.batch_size_limit, x.mean_batch_size, x.p99_batch_latency_us, x.queued, x.batches,
           x.queries, x.expired, x.failed);
}

using batcher_stats_list = std::vector<batcher_stats>;

} // namespace troupe
