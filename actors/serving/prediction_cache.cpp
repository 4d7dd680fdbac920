#include "actors/serving/prediction_cache.hpp"

#include <cstring>

namespace troupe::serving {

namespace {

// What an entry costs beyond its key and output: the slot, the index node
// and the strings' headers. An estimate: it keeps the byte bound honest
// for many small outputs.
constexpr uint64_t entry_overhead = 128;

} // namespace

prediction_cache::prediction_cache(uint64_t capacity_bytes, size_t shards)
  : capacity_bytes_(capacity_bytes),
    shard_capacity_(capacity_bytes / (shards == 0 ? 1 : shards)),
    shards_(shards == 0 ? 1 : shards) {
  // nop
}

uint64_t prediction_cache::model_hash(const std::string& model) {
  return std::hash<std::string>{}(model) * 0x9e3779b97f4a7c15ULL;
}

uint64_t prediction_cache::key_of(uint64_t model_hash, uint64_t input_hash) {
  // splitmix64's finalizer over the two hashes combined.
  uint64_t x = input_hash ^ model_hash;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t prediction_cache::cost_of(const std::string& model, const std::string& output) {
  return model.size() + sizeof(uint64_t) * 2 + output.size() + entry_overhead;
}

prediction_cache::batch_plan
prediction_cache::plan_batch(const std::string& model,
                             const std::vector<uint64_t>& input_hashes) const {
  batch_plan plan;
  plan.first.assign(shards_.size() + 1, 0);
  for (auto h : input_hashes)
    ++plan.first[shard_index(h) + 1];
  for (size_t s = 1; s < plan.first.size(); ++s)
    plan.first[s] += plan.first[s - 1];
  plan.order.resize(input_hashes.size());
  auto next = plan.first;
  for (size_t k = 0; k < input_hashes.size(); ++k)
    plan.order[next[shard_index(input_hashes[k])]++] = static_cast<uint32_t>(k);
  auto mh = model_hash(model);
  plan.keys.resize(input_hashes.size());
  for (size_t k = 0; k < input_hashes.size(); ++k)
    plan.keys[k] = key_of(mh, input_hashes[k]);
  return plan;
}

std::optional<std::string> prediction_cache::get_locked(shard& s, const std::string& model,
                                                        uint64_t input_hash, uint64_t key) {
  auto i = s.index.find(key);
  if (!i || s.slots[*i].hash != input_hash || s.slots[*i].model != model) {
    ++s.misses;
    return std::nullopt;
  }
  ++s.hits;
  auto& entry = s.slots[*i];
  entry.referenced = true;
  return entry.output;
}

std::optional<std::string> prediction_cache::get(const std::string& model, uint64_t input_hash) {
  if (capacity_bytes_ == 0)
    return std::nullopt;
  auto key = key_of(model_hash(model), input_hash);
  auto& s = shard_for(input_hash);
  std::lock_guard<std::mutex> guard{s.mutex};
  return get_locked(s, model, input_hash, key);
}

std::vector<std::optional<std::string>>
prediction_cache::get_many(const std::string& model, const std::vector<uint64_t>& input_hashes) {
  if (input_hashes.size() == 1)  // a single query: no plan to build
    return {get(model, input_hashes.front())};
  std::vector<std::optional<std::string>> result(input_hashes.size());
  if (capacity_bytes_ == 0)
    return result;
  auto plan = plan_batch(model, input_hashes);
  auto& [order, first, keys] = plan;
  for (size_t sh = 0; sh < shards_.size(); ++sh) {
    if (first[sh] == first[sh + 1])
      continue;
    auto& s = shards_[sh];
    std::lock_guard<std::mutex> guard{s.mutex};
    for (auto j = first[sh]; j < first[sh + 1]; ++j)
      s.index.prefetch(keys[order[j]]);
    for (auto j = first[sh]; j < first[sh + 1]; ++j) {
      auto k = order[j];
      result[k] = get_locked(s, model, input_hashes[k], keys[k]);
    }
  }
  return result;
}

void prediction_cache::evict_one(shard& s) {
  // CLOCK: sweep, giving referenced entries a second chance.
  for (;;) {
    if (s.hand >= s.slots.size())
      s.hand = 0;
    auto& entry = s.slots[s.hand];
    if (entry.used) {
      if (entry.referenced) {
        entry.referenced = false;
      } else {
        s.bytes -= cost_of(entry.model, entry.output);
        s.index.erase(entry.key);
        entry = slot{};
        s.free_slots.push_back(s.hand);
        ++s.evictions;
        ++s.hand;
        return;
      }
    }
    ++s.hand;
  }
}

void prediction_cache::put_locked(shard& s, const std::string& model, uint64_t input_hash,
                                  uint64_t key, std::string output) {
  auto cost = cost_of(model, output);
  if (auto i = s.index.find(key)) {
    // The same entry, or another whose key mixes alike: replaced either way.
    auto& entry = s.slots[*i];
    s.bytes -= cost_of(entry.model, entry.output);
    if (entry.model != model)
      entry.model = model;
    entry.hash = input_hash;
    entry.output = std::move(output);
    entry.referenced = true;
    s.bytes += cost;
    while (s.bytes > shard_capacity_)
      evict_one(s);
    return;
  }
  while (s.bytes + cost > shard_capacity_ && s.index.size() > 0)
    evict_one(s);
  size_t at;
  if (!s.free_slots.empty()) {
    at = s.free_slots.back();
    s.free_slots.pop_back();
  } else {
    at = s.slots.size();
    s.slots.emplace_back();
  }
  auto& entry = s.slots[at];
  entry.model = model;
  entry.hash = input_hash;
  entry.key = key;
  entry.output = std::move(output);
  entry.referenced = false;  // a new entry earns its second chance by a hit
  entry.used = true;
  s.index.put(key, static_cast<uint32_t>(at));
  s.bytes += cost;
  ++s.insertions;
}

void prediction_cache::put(const std::string& model, uint64_t input_hash, std::string output) {
  if (capacity_bytes_ == 0 || cost_of(model, output) > shard_capacity_)
    return;
  auto key = key_of(model_hash(model), input_hash);
  auto& s = shard_for(input_hash);
  std::lock_guard<std::mutex> guard{s.mutex};
  put_locked(s, model, input_hash, key, std::move(output));
}

void prediction_cache::put_many(const std::string& model,
                                const std::vector<uint64_t>& input_hashes,
                                const std::vector<std::string>& outputs) {
  if (capacity_bytes_ == 0 || outputs.size() != input_hashes.size())
    return;
  if (input_hashes.size() == 1) {  // a single query: no plan to build
    put(model, input_hashes.front(), outputs.front());
    return;
  }
  auto plan = plan_batch(model, input_hashes);
  auto& [order, first, keys] = plan;
  for (size_t sh = 0; sh < shards_.size(); ++sh) {
    auto count = first[sh + 1] - first[sh];
    if (count == 0)
      continue;
    auto& s = shards_[sh];
    std::lock_guard<std::mutex> guard{s.mutex};
    for (auto j = first[sh]; j < first[sh + 1]; ++j)
      s.index.prefetch(keys[order[j]]);
    // The entries the clock hand will most likely evict next: their index
    // cells are erased below, each one a miss of its own otherwise.
    for (size_t v = 0, at = s.hand; v < count && at < s.slots.size(); ++v, ++at)
      if (s.slots[at].used)
        s.index.prefetch(s.slots[at].key);
    for (auto j = first[sh]; j < first[sh + 1]; ++j) {
      auto k = order[j];
      if (cost_of(model, outputs[k]) <= shard_capacity_)
        put_locked(s, model, input_hashes[k], keys[k], outputs[k]);
    }
  }
}

cache_stats prediction_cache::stats() const {
  cache_stats result;
  result.capacity_bytes = capacity_bytes_;
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> guard{s.mutex};
    result.hits += s.hits;
    result.misses += s.misses;
    result.insertions += s.insertions;
    result.evictions += s.evictions;
    result.entries += s.index.size();
    result.bytes += s.bytes;
  }
  return result;
}

} // namespace troupe::serving
