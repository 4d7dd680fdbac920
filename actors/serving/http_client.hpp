// A small synchronous HTTP/1.1 client with keep-alive (Boost.Beast), for
// tests, the admin subcommands and the load generator. Every operation is
// bounded by a timeout: a server that does not answer gives errc::timeout,
// never a hang.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "actors/serving/http_server.hpp"

namespace troupe::serving {

class http_client {
public:
  /// Connects to host:port within `timeout`. errc::timeout when the
  /// connect does not finish in time, errc::unavailable when refused or
  /// unresolvable.
  static caf::expected<http_client> connect(const std::string& host, uint16_t port,
                                            std::chrono::milliseconds timeout);

  /// Sends one request on the kept-alive connection and reads its response
  /// (write and read together within `timeout`). When the server had
  /// closed the connection before answering (keep-alive expiry, a previous
  /// `Connection: close`), reconnects once and resends. On a timeout or
  /// any other failure the connection is dropped; the next call reconnects.
  caf::expected<http_response> request(const std::string& method, const std::string& target,
                                       const std::string& body,
                                       std::chrono::milliseconds timeout);

  /// Whether a connection is open now.
  bool connected() const;

  http_client(http_client&&) noexcept;
  http_client& operator=(http_client&&) noexcept;
  ~http_client();

  struct impl;

private:
  explicit http_client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::serving
