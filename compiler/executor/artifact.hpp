// A compiled model as one file, so that serving loads native code instead
// of compiling: `troupe compile` writes it, the "compiled" serving backend
// loads it. It holds the optimized graph (nodes, shapes, attributes, fusion
// groups), the constants' values and the object code of every group's
// function, for the CPU it was compiled on.
//
// Layout (little-endian):
//   "TRPCMDL\0"   magic (8 bytes)
//   u32           format version (artifact_version)
//   u64           FNV-1a hash of everything after this header
//   u64 + bytes   the graph and function signatures, as JSON
//   u64 + bytes   the constants' floats, concatenated
//   u64 + bytes   the native object code
#pragma once

#include "compiler/executor/graph_executor.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace troupe::compiler {

inline constexpr uint32_t artifact_version = 1;

/// Writes `compiled` to `path` (replacing it). REQUIRES: `compiled` was
/// compiled here, not loaded (a loaded one has no lowered functions left to
/// emit: copy its file instead). Throws compile_error naming the path when
/// it cannot be written.
void save_artifact(const graph_executor& compiled, const std::string& path);

/// Loads the model saved at `path`, linking its object code: nothing is
/// lowered or optimized. Throws compile_error naming the path and what is
/// wrong: missing or unreadable, not an artifact (magic), another format
/// version, truncated or corrupt, or compiled for CPU features this host
/// lacks.
std::unique_ptr<graph_executor> load_artifact(const std::string& path);

} // namespace troupe::compiler
