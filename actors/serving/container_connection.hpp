// A Cap'n Proto RPC connection to one model container process, on a thread
// of its own: a kj event loop belongs to one thread, and CAF's scheduler
// threads must never wait on a socket. Calls from any thread queue work for
// that thread; results come back through callbacks.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/serving/container_wire.hpp"
#include "messages/serving_types.hpp"

namespace troupe::serving {

class container_connection {
public:
  using predict_callback = std::function<void(caf::expected<model_outputs>)>;
  using info_callback = std::function<void(caf::expected<container_info>)>;
  using heartbeat_callback = std::function<void(caf::error)>;

  /// Starts the RPC thread; connects on the first call, and again on the
  /// call after a lost connection. Every call is bounded by `timeout`.
  container_connection(std::string host, uint16_t port, std::chrono::milliseconds timeout);

  /// Stops the RPC thread; calls still in flight are dropped without their
  /// callbacks. May run on the RPC thread itself (a callback that drops the
  /// last reference to the owner): the thread then finishes on its own.
  ~container_connection();

  container_connection(const container_connection&) = delete;
  container_connection& operator=(const container_connection&) = delete;

  /// "container at 127.0.0.1:4242", for errors.
  const std::string& name() const;

  /// Predicts a batch. `done` runs on the RPC thread (keep it short, e.g. a
  /// message send) with: the outputs, exactly one per input; or timeout,
  /// unavailable (connection lost or refused), invalid_argument (a wrong
  /// number of outputs, or the model's own error), ...
  void predict(query_inputs inputs, predict_callback done);

  /// ModelContainer.info, bounded like predict.
  void info(info_callback done);

  /// A heartbeat round trip; `done` gets none on success.
  void heartbeat(heartbeat_callback done);

private:
  struct impl;
  std::shared_ptr<impl> impl_;  // shared with the RPC thread
};

} // namespace troupe::serving
