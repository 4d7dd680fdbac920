#include "actors/serving/http_client.hpp"

#include <algorithm>
#include <limits>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "messages/errors.hpp"

namespace troupe::serving {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Synchronous on the outside, asynchronous inside: Beast's tcp_stream
// enforces its timeouts only on asynchronous operations, so each call
// starts one and runs a private io_context until it completes.
struct http_client::impl {
  std::string host;
  uint16_t port = 0;
  net::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  std::string where() const { return host + ":" + std::to_string(port); }

  caf::error open(std::chrono::milliseconds timeout) {
    stream.reset();
    buffer.clear();
    beast::error_code ec;
    tcp::resolver resolver{ioc};
    auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (ec)
      return make_error(errc::unavailable,
                        "cannot resolve " + where() + ": " + ec.message());
    stream.emplace(ioc);
    stream->expires_after(timeout);
    beast::error_code result;
    stream->async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
      result = e;
    });
    run();
    if (result == beast::error::timeout) {
      stream.reset();
      return make_error(errc::timeout, "connecting to " + where() + " took over "
                                         + std::to_string(timeout.count()) + " ms");
    }
    if (result) {
      stream.reset();
      return make_error(errc::unavailable,
                        "cannot connect to " + where() + ": " + result.message());
    }
    return {};
  }

  void run() {
    ioc.restart();
    ioc.run();
  }

  /// One exchange on the current connection. `stale` is set when the
  /// failure means the server had closed the connection before any byte of
  /// a response arrived, which is safe to retry on a fresh one.
  caf::expected<http_response> exchange(const std::string& method, const std::string& target,
                                        const std::string& body,
                                        std::chrono::milliseconds timeout, bool& stale) {
    stale = false;
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "troupe");
    if (!body.empty())
      req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.keep_alive(true);
    req.prepare_payload();
    stream->expires_after(timeout);
    beast::error_code write_ec;
    beast::error_code read_ec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<uint64_t>::max());
    parser.skip(method == "HEAD");  // a HEAD response has headers only
    http::async_write(*stream, req, [&](beast::error_code e, size_t) {
      write_ec = e;
      if (e)
        return;
      http::async_read(*stream, buffer, parser, [&](beast::error_code r, size_t) {
        read_ec = r;
      });
    });
    run();
    auto ec = write_ec ? write_ec : read_ec;
    if (ec == beast::error::timeout) {
      stream.reset();
      return make_error(errc::timeout, method + " " + target + " to " + where()
                                         + " got no response within "
                                         + std::to_string(timeout.count()) + " ms");
    }
    if (ec) {
      stale = !parser.got_some()
              && (ec == http::error::end_of_stream || ec == net::error::eof
                  || ec == net::error::connection_reset || ec == net::error::broken_pipe
                  || ec == net::error::connection_aborted);
      stream.reset();
      return make_error(errc::io_failure, method + " " + target + " to " + where()
                                            + " failed: " + ec.message());
    }
    auto& res = parser.get();
    http_response out;
    out.status = res.result_int();
    out.content_type = std::string(res[http::field::content_type]);
    out.body = std::move(res.body());
    if (!res.keep_alive())
      stream.reset();
    return out;
  }
};

http_client::http_client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
http_client::http_client(http_client&&) noexcept = default;
http_client& http_client::operator=(http_client&&) noexcept = default;
http_client::~http_client() = default;

caf::expected<http_client> http_client::connect(const std::string& host, uint16_t port,
                                                std::chrono::milliseconds timeout) {
  auto p = std::make_unique<impl>();
  p->host = host;
  p->port = port;
  if (auto err = p->open(timeout))
    return err;
  return http_client{std::move(p)};
}

bool http_client::connected() const { return impl_ && impl_->stream.has_value(); }

caf::expected<http_response> http_client::request(const std::string& method,
                                                  const std::string& target,
                                                  const std::string& body,
                                                  std::chrono::milliseconds timeout) {
  if (!impl_)
    return make_error(errc::invalid_argument, "request on a moved-from http_client");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now()));
  };
  bool reused = impl_->stream.has_value();
  if (!reused)
    if (auto err = impl_->open(left()))
      return err;
  bool stale = false;
  auto result = impl_->exchange(method, target, body, left(), stale);
  if (result || !stale || !reused)
    return result;
  if (auto err = impl_->open(left()))
    return err;
  return impl_->exchange(method, target, body, left(), stale);
}

} // namespace troupe::serving
