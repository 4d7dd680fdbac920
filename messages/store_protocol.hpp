// The state store: one per node that has a store directory, over RocksDB.
// Keys and values are byte strings; an acknowledged put is in RocksDB's
// write-ahead log (fsync'd when store.sync is on) and survives kill -9.
#pragma once

#include <cstdint>
#include <string>

#include <caf/typed_actor.hpp>
#include <caf/replies_to.hpp>

#include "messages/atoms.hpp"
#include "messages/store_types.hpp"

namespace troupe {

using state_store_actor = caf::typed_actor<
  /// Writes a value; ok once it is durable.
  caf::replies_to<caf::put_atom, std::string, std::string>::with<caf::ok_atom>,
  /// Reads a value; not_found if the key is absent.
  caf::replies_to<caf::get_atom, std::string>::with<std::string>,
  /// Removes a key (removing an absent key is not an error).
  caf::replies_to<caf::delete_atom, std::string>::with<caf::ok_atom>,
  /// Up to `limit` entries whose key starts with the prefix, in key order.
  caf::replies_to<scan_atom, std::string, uint32_t>::with<store_entries>>;

} // namespace troupe
