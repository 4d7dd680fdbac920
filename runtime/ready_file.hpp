// The ready file: a node writes it (atomically) once it serves, so that
// whoever started the node learns its port without racing for a free one.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/expected.hpp>

namespace troupe {

struct ready_info {
  std::string name;
  std::string host;
  uint16_t port = 0;
  int32_t metrics_port = -1;
  int32_t pid = 0;
};

/// Writes `info` as JSON to `path` via a temporary file and rename.
caf::error write_ready_file(const std::string& path, const ready_info& info);

/// Reads a ready file; not_found while it does not exist yet.
caf::expected<ready_info> read_ready_file(const std::string& path);

} // namespace troupe
