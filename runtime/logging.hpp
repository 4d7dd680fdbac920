// Structured logs: one line per event, "key=value" fields after a short
// message, the node's name on every line, the level from the configuration.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace troupe {

/// Makes the process-wide logger for node `node_name` at `level` (trace,
/// debug, info, warn, error, off), writing to stderr.
/// REQUIRES: `level` was validated (load_node_config does).
void init_logging(const std::string& node_name, const std::string& level);

} // namespace troupe
