// A hash index from well-mixed 64-bit keys to 32-bit values, stored flat:
// open addressing with linear probing, at most half full, deletion by
// backward shift (no tombstones). A lookup touches one or two cache lines
// where a node-based std::unordered_map touches a bucket and a node; with
// hundreds of thousands of entries (the prediction cache under unique
// inputs) those are cache misses, and the index was the cache's cost.
//
// Keys must already be hashes (their low bits pick the home position).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace troupe::serving {

class flat_index {
public:
  std::optional<uint32_t> find(uint64_t key) const {
    if (cells_.empty())
      return std::nullopt;
    key = stored(key);
    for (size_t i = home(key);; i = next(i)) {
      if (cells_[i].key == key)
        return cells_[i].value;
      if (cells_[i].key == empty)
        return std::nullopt;
    }
  }

  /// Inserts or overwrites.
  void put(uint64_t key, uint32_t value) {
    if ((size_ + 1) * 2 > cells_.size())
      grow();
    key = stored(key);
    for (size_t i = home(key);; i = next(i)) {
      if (cells_[i].key == key) {
        cells_[i].value = value;
        return;
      }
      if (cells_[i].key == empty) {
        cells_[i] = {key, value};
        ++size_;
        return;
      }
    }
  }

  void erase(uint64_t key) {
    if (cells_.empty())
      return;
    key = stored(key);
    size_t i = home(key);
    while (cells_[i].key != key) {
      if (cells_[i].key == empty)
        return;
      i = next(i);
    }
    // Backward shift: move later members of the probe run into the hole
    // when the hole lies between their home and where they sit.
    for (size_t j = next(i);; j = next(j)) {
      if (cells_[j].key == empty)
        break;
      size_t h = home(cells_[j].key);
      bool movable = i <= j ? (h <= i || h > j) : (h <= i && h > j);
      if (movable) {
        cells_[i] = cells_[j];
        i = j;
      }
    }
    cells_[i] = {};
    --size_;
  }

  size_t size() const { return size_; }

  /// Starts loading the cell where `key`'s probe begins, so that a batch of
  /// lookups waits for its cache misses together rather than one by one.
  ///
  /// always_inline: GCC 12 at -O2 marks an out-of-line body holding only
  /// __builtin_prefetch as free of side effects and deletes every call to
  /// it, so the prefetches silently vanished (no prefetcht0 in the binary);
  /// inlined, they stay. Batched puts of unique rows took 1.5-2.3x longer
  /// without them.
  __attribute__((always_inline)) void prefetch(uint64_t key) const {
    if (!cells_.empty())
      __builtin_prefetch(&cells_[home(stored(key))]);
  }

private:
  struct cell {
    uint64_t key = empty;
    uint32_t value = 0;
  };
  static constexpr uint64_t empty = 0;

  // Key 0 marks an empty cell, so keys 0 and 1 share one entry: callers
  // verify what they find (the cache compares the full key in its slot).
  static uint64_t stored(uint64_t key) { return key == empty ? 1 : key; }
  size_t home(uint64_t key) const { return static_cast<size_t>(key) & (cells_.size() - 1); }
  size_t next(size_t i) const { return (i + 1) & (cells_.size() - 1); }

  void grow() {
    std::vector<cell> old;
    old.swap(cells_);
    cells_.assign(old.empty() ? 64 : old.size() * 2, cell{});
    size_ = 0;
    for (auto& c : old)
      if (c.key != empty)
        put(c.key, c.value);
  }

  std::vector<cell> cells_;
  size_t size_ = 0;
};

} // namespace troupe::serving
