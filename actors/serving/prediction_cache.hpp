// The prediction cache (Clipper §4.2): outputs keyed by model (name:version)
// and input hash, bounded in bytes, evicted by CLOCK. A hit answers a query
// without touching the model; feedback finds the predictions it judges here.
//
// Why an object shared by the node's app actors rather than an actor of its
// own: a hit is the fastest path of the system (target: 50K queries/s on 2
// cores) and an extra message hop would cost more than the lookup itself.
// The table is split in shards, each with its own lock and clock hand, so
// apps on different scheduler threads rarely contend.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actors/serving/flat_index.hpp"

namespace troupe::serving {

struct cache_stats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t insertions = 0;
  uint64_t evictions = 0;
  uint64_t entries = 0;
  uint64_t bytes = 0;
  uint64_t capacity_bytes = 0;
};

class prediction_cache {
public:
  /// A cache of at most `capacity_bytes` (keys, outputs and bookkeeping);
  /// 0 disables it (every lookup misses, nothing is stored).
  explicit prediction_cache(uint64_t capacity_bytes, size_t shards = 16);

  /// The output `model` gave for the input with hash `input_hash`.
  std::optional<std::string> get(const std::string& model, uint64_t input_hash);

  /// Stores an output. An entry larger than a shard's share is not cached.
  void put(const std::string& model, uint64_t input_hash, std::string output);

  /// get() for every hash in `input_hashes`: result k is input k's output.
  /// Rows are grouped by shard (one lock each) and each group's index cells
  /// are prefetched first, so a batch of unique inputs waits for its cache
  /// misses together.
  std::vector<std::optional<std::string>> get_many(const std::string& model,
                                                   const std::vector<uint64_t>& input_hashes);

  /// put() of outputs[k] for input_hashes[k], batched as get_many is.
  /// Stores nothing when the two sizes differ.
  void put_many(const std::string& model, const std::vector<uint64_t>& input_hashes,
                const std::vector<std::string>& outputs);

  cache_stats stats() const;

private:
  struct slot {
    std::string model;
    uint64_t hash = 0;
    uint64_t key = 0;  // key_of(model, hash), kept so eviction need not rehash
    std::string output;
    bool referenced = false;
    bool used = false;
  };

  struct shard {
    mutable std::mutex mutex;
    // key -> slot. The key is a 64-bit mix of model and input hash (no
    // string to build or compare per lookup: with unique inputs the index
    // was the pipeline's hottest code); a slot holds the full key, so two
    // keys that mix alike only evict each other.
    flat_index index;
    std::vector<slot> slots;
    std::vector<size_t> free_slots;
    size_t hand = 0;
    uint64_t bytes = 0;
    uint64_t hits = 0, misses = 0, insertions = 0, evictions = 0;
  };

  static uint64_t model_hash(const std::string& model);
  static uint64_t key_of(uint64_t model_hash, uint64_t input_hash);
  static uint64_t cost_of(const std::string& model, const std::string& output);
  size_t shard_index(uint64_t input_hash) const { return input_hash % shards_.size(); }
  shard& shard_for(uint64_t input_hash) { return shards_[shard_index(input_hash)]; }
  // A batch's rows grouped by shard (rows order[first[s]..first[s+1]) are
  // shard s's) with each row's key.
  struct batch_plan {
    std::vector<uint32_t> order;
    std::vector<uint32_t> first;
    std::vector<uint64_t> keys;
  };
  batch_plan plan_batch(const std::string& model, const std::vector<uint64_t>& input_hashes) const;
  std::optional<std::string> get_locked(shard& s, const std::string& model, uint64_t input_hash,
                                        uint64_t key);
  void put_locked(shard& s, const std::string& model, uint64_t input_hash, uint64_t key,
                  std::string output);
  void evict_one(shard& s);

  uint64_t capacity_bytes_;
  uint64_t shard_capacity_;
  std::vector<shard> shards_;
};

} // namespace troupe::serving
