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

uint64_t prediction_cache::key_of(const std::string& model, uint64_t input_hash) {
  // splitmix64's finalizer over the two hashes combined.
  uint64_t x = input_hash ^ (std::hash<std::string>{}(model) * 0x9e3779b97f4a7c15ULL);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t prediction_cache::cost_of(const std::string& model, const std::string& output) {
  return model.size() + sizeof(uint64_t) * 2 + output.size() + entry_overhead;
}

std::optional<std::string> prediction_cache::get(const std::string& model, uint64_t input_hash) {
  if (capacity_bytes_ == 0)
    return std::nullopt;
  auto key = key_of(model, input_hash);
  auto& s = shard_for(input_hash);
  std::lock_guard<std::mutex> guard{s.mutex};
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
        s.index.erase(key_of(entry.model, entry.hash));
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

void prediction_cache::put(const std::string& model, uint64_t input_hash, std::string output) {
  if (capacity_bytes_ == 0)
    return;
  auto key = key_of(model, input_hash);
  auto cost = cost_of(model, output);
  if (cost > shard_capacity_)
    return;
  auto& s = shard_for(input_hash);
  std::lock_guard<std::mutex> guard{s.mutex};
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
  entry.output = std::move(output);
  entry.referenced = false;  // a new entry earns its second chance by a hit
  entry.used = true;
  s.index.put(key, static_cast<uint32_t>(at));
  s.bytes += cost;
  ++s.insertions;
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
