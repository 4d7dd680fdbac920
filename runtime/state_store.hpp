// The state-store actor: RocksDB behind the typed state_store_actor protocol.
// It runs detached (its own thread): RocksDB calls block on disk, and must
// not stall the scheduler's workers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "messages/store_protocol.hpp"

namespace troupe {

class node_metrics;

struct state_store_options {
  std::string path;                ///< directory; created if missing
  bool sync = true;                ///< fsync the write-ahead log per write
  uint64_t max_value_bytes = uint64_t{64} << 20;
};

/// Largest key the store accepts.
constexpr size_t max_store_key_bytes = 64 * 1024;

/// Largest number of entries one scan returns.
constexpr uint32_t max_scan_entries = 100000;

/// Opens the database and spawns the actor. io_failure naming the path if
/// RocksDB cannot open it (for example, another process holds its lock).
caf::expected<state_store_actor>
spawn_state_store(caf::actor_system& sys, const state_store_options& options,
                  std::shared_ptr<node_metrics> metrics = nullptr);

} // namespace troupe
