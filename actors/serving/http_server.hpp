// The REST frontend's HTTP/1.1 server (Boost.Beast): it turns requests into
// calls of one handler and writes back whatever the handler answers, from
// whichever thread it answers. It knows nothing of actors or of Clipper's
// JSON; the frontend routes requests into app actors through the handler.
//
// Guarantees a caller can rely on: every request that parses gets exactly
// one response (the handler's, 504 when the handler does not answer within
// request_timeout, 500 when it throws); responses on one connection come in
// request order (the next request is read only once the previous response
// is written, so pipelined requests wait in the read buffer); a body over
// body_limit gets 413 and malformed HTTP gets 400, after which the
// connection closes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/expected.hpp>

namespace troupe::serving {

/// One parsed request.
struct http_request {
  std::string method;  ///< "GET", "POST", ...
  std::string target;  ///< path and query, e.g. "/digits/predict"
  std::string body;
};

/// One response; Content-Length and Connection are set by the server.
struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
};

/// Answers one request. Callable from any thread, at most once counts: the
/// first call posts the write to the connection's executor, later calls (and
/// calls after a 504 or after stop()) are ignored.
using http_responder = std::function<void(http_response)>;

/// Called on an I/O thread for each request; must not block (hand the work
/// to an actor or a thread and answer through the responder). An exception
/// it throws is answered 500.
using http_handler = std::function<void(http_request, http_responder)>;

struct http_server_options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  ///< 0 binds a free port; see http_server::port()
  unsigned threads = 1;
  size_t body_limit = 1 << 20;
  /// How long the handler may take before the server answers 504.
  std::chrono::milliseconds request_timeout{10000};
  /// How long a connection may sit without a complete request (or stall
  /// on a write) before it is closed.
  std::chrono::seconds idle_timeout{60};
};

class http_server {
public:
  /// Binds, listens and starts `options.threads` I/O threads. Fails with
  /// io_failure naming host:port when the address cannot be bound (e.g. a
  /// port in use), invalid_argument for an unparsable host or 0 threads.
  static caf::expected<std::unique_ptr<http_server>> start(http_server_options options,
                                                           http_handler handler);

  /// The bound port (the free one chosen when options.port was 0).
  uint16_t port() const;

  /// Closes the listener and every connection and joins the I/O threads.
  /// Responders still held by handlers become no-ops. Idempotent; bounded
  /// (does not wait for handlers to answer).
  void stop();

  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  struct impl;

private:
  explicit http_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::serving
