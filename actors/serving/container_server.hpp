// Serves a predict function as a model container over Cap'n Proto RPC
// (messages/container.capnp): the process side of Clipper's container
// interface. troupe-container runs it; so can any C++ program with a model.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/serving/container_wire.hpp"
#include "messages/serving_types.hpp"

namespace troupe::serving {

/// The model: one output per input, in order, or an error that fails the
/// whole batch (its sentence reaches the caller with its code).
using predict_function = std::function<caf::expected<model_outputs>(const query_inputs&)>;

struct container_server_options {
  std::string host = "127.0.0.1";
  /// 0: a free port, written to the ready file.
  uint16_t port = 0;
  /// Where to announce the bound port once serving (JSON, see
  /// runtime/ready_file.hpp); empty: announce nothing.
  std::string ready_file;
};

/// Set by a container supervisor to its pid: a container whose parent is
/// no longer that process (it died and the container was re-parented)
/// exits, so a killed node or frontend leaves no orphan containers.
/// run_container_server and the Python SDK both watch it.
constexpr const char* parent_pid_variable = "TROUPE_CONTAINER_PARENT_PID";

/// Serves `predict` until the process ends; runs the kj event loop on the
/// calling thread, so `predict` runs there too, one batch at a time.
/// Inputs of the wrong kind, or of the wrong length where `info` fixes one,
/// are refused with invalid_argument before `predict` sees them.
/// Returns only on a setup failure (port taken, ready file unwritable).
caf::error run_container_server(const container_server_options& options,
                                container_info info, predict_function predict);

/// The checks run_container_server applies to a batch before the model
/// sees it: kinds and lengths against `info`.
caf::error check_batch(const container_info& info, const query_inputs& inputs);

} // namespace troupe::serving
