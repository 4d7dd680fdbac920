// The serving frontend: Clipper's REST API on one port, the admin API on
// another, both routed into actors.
//
//   POST /<app>/predict, /<app>/update, GET /metrics  (query port)
//   POST /admin/<op>, GET /admin/get_state            (admin port)
//        │ HTTP thread: route lookup, JSON decode (400/404 answered here)
//        ▼
//   gateway actor ──request (SLO + margin)──▶ app actor / serving manager
//        │ reply or error
//        ▼
//   responder (ticket) ──▶ the connection's strand writes the response
//
// The HTTP threads never block on an actor: a request becomes a message to
// the gateway carrying a ticket, and the gateway answers through the
// ticket's responder. Typed C++ clients skip HTTP: app(name) is the same app
// actor the REST API uses, and manager() takes the admin requests.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "actors/serving/serving_manager.hpp"

namespace troupe::serving {

struct frontend_options {
  std::string host = "127.0.0.1";
  uint16_t port = 1337;       ///< Clipper's query port; 0 picks a free one
  uint16_t admin_port = 1338; ///< Clipper's management port; 0 picks a free one
  unsigned http_threads = 1;
  size_t body_limit = 1 << 20;
  /// A kept-alive query connection with no request for this long is closed
  /// (behind a load balancer, set it above the balancer's own idle timeout).
  std::chrono::seconds http_idle_timeout{60};
  /// Longest the pipeline may take to answer a query before the server
  /// answers 504 itself; an app's deadline (its SLO) normally answers first.
  std::chrono::milliseconds http_request_timeout{10'000};
  size_t cache_bytes = size_t{64} << 20;  ///< 0: no prediction cache
  /// Added to an app's SLO to bound a feedback request (the app answers
  /// once the learned state is persisted). Predictions are bounded by the
  /// app's own deadline and the HTTP server's request timeout.
  std::chrono::milliseconds reply_margin{2'000};
  /// Passed to the manager (container logs; where troupe-container is).
  std::string work_dir = "/tmp";
  std::string program_dir;
  std::chrono::milliseconds container_ready_timeout{30'000};
  /// host:port of a cluster member: models may then place replicas on the
  /// cluster's model hosts (model_spec::hosts). Empty: standalone.
  std::string seed;
};

class serving_frontend {
public:
  /// Spawns the manager on `store` (restoring its apps and models), then
  /// opens both ports. io_failure naming the address when a port cannot be
  /// bound.
  static caf::expected<std::unique_ptr<serving_frontend>>
  start(caf::actor_system& sys, state_store_actor store, frontend_options options);

  uint16_t port() const;
  uint16_t admin_port() const;
  serving_manager_actor manager() const;
  /// The actor answering app `name` now; null if there is no such app or
  /// none of its models serves yet.
  app_actor app(const std::string& name) const;
  std::shared_ptr<serving_metrics> metrics() const;

  /// Closes both ports, then stops the gateway, the manager, the apps and
  /// the replicas (container processes are killed). Idempotent.
  void stop();
  ~serving_frontend();

  struct impl;

private:
  explicit serving_frontend(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// The HTTP status an error maps to: not_found 404, invalid_argument 400,
/// already_exists 409, unavailable 503, timeout 504, others 500.
unsigned http_status_of(const caf::error& err);

} // namespace troupe::serving
