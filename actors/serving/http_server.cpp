#include "actors/serving/http_server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <string_view>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "messages/errors.hpp"

namespace troupe::serving {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

/// Shared by the server and every responder. A responder can outlive the
/// server (a slow handler holds it); once the gate is closed it must not
/// touch the io_context, which stop() destroys.
struct gate {
  std::mutex mutex;
  bool open = true;
};

std::string json_error(const std::string& message) {
  return nlohmann::json{{"error", message}}.dump();
}

/// How long a closing connection keeps draining what the client still
/// sends (e.g. the rest of an oversized body): closing with unread bytes
/// makes the kernel send RST, and the client may lose our 413 or 400.
constexpr auto linger_timeout = std::chrono::seconds(2);

bool is_http_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

} // namespace

// -- server state ---------------------------------------------------------------

struct http_server::impl {
  http_server_options options;
  http_handler handler;
  std::shared_ptr<gate> responders_gate = std::make_shared<gate>();
  // The io_context goes first: it must outlive the acceptor and timer, and
  // destroying it (in stop()) destroys every session with its socket.
  std::unique_ptr<net::io_context> ioc;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> accept_retry;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  bool stopped = false;

  impl(http_server_options opts, http_handler h)
    : options(std::move(opts)), handler(std::move(h)),
      ioc(std::make_unique<net::io_context>(static_cast<int>(options.threads))) {
    acceptor.emplace(*ioc);
    accept_retry.emplace(*ioc);
  }

  void accept();
};

// -- one connection ---------------------------------------------------------------

namespace {

class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket socket, http_server::impl& server)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), server_(server),
      timer_step_(std::max<clock_type::duration>(
        std::chrono::milliseconds(1), std::min<clock_type::duration>(server.options.request_timeout,
                                                                     server.options.idle_timeout))) {}

  void start() {
    net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

private:
  using clock_type = std::chrono::steady_clock;
  static constexpr size_t large_body_read_bytes = 64 * 1024;

  /// What the connection waits for, which says what its deadline means:
  /// closing it (a client that sends or reads nothing), or answering 504
  /// (a handler that does not answer).
  enum class phase { reading, handling, writing, lingering, closed };

  void read() {
    phase_ = phase::reading;
    parser_.emplace();
    parser_->body_limit(server_.options.body_limit);
    set_deadline(clock_type::now() + server_.options.idle_timeout);
    http::async_read_header(socket_, buffer_, *parser_,
                            beast::bind_front_handler(&session::on_header, shared_from_this()));
  }

  /// Reading the header first lets us answer "Expect: 100-continue" (curl
  /// sends it for large bodies and would otherwise wait a second) and
  /// refuse an oversized Content-Length before its body arrives.
  void on_header(beast::error_code ec, size_t) {
    // A deadline may have closed the connection after this read completed
    // but before its handler ran.
    if (phase_ == phase::closed || failed(ec))
      return;
    // Beast reads max(512, free capacity) bytes at a time, and the buffer
    // only grows to what one read needs: a 290 KB batch request took ~70
    // recv calls of a few KB (12 % of the HTTP thread in syscalls). A body
    // that large gets room for reads of up to 64 KiB, kept for the
    // connection's next requests.
    if (auto length = parser_->content_length(); length && *length > buffer_.capacity())
      buffer_.reserve(std::min<size_t>(*length + buffer_.size(), large_body_read_bytes));
    auto self = shared_from_this();
    auto read_body = [self] {
      http::async_read(self->socket_, self->buffer_, *self->parser_,
                       beast::bind_front_handler(&session::on_read, self));
    };
    if (parser_->get().version() < 11
        || !beast::iequals(parser_->get()[http::field::expect], "100-continue"))
      return read_body();
    static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(socket_, net::buffer(continue_line.data(), continue_line.size()),
                     [self, read_body](beast::error_code wec, size_t) {
                       if (self->phase_ == phase::closed)
                         return;
                       if (wec)
                         return self->close();
                       read_body();
                     });
  }

  /// Answers or closes for a failed read; false if `ec` is no error.
  bool failed(const beast::error_code& ec) {
    if (!ec)
      return false;
    if (ec == http::error::body_limit)
      fail(413, "request body exceeds the limit of " + std::to_string(server_.options.body_limit)
                  + " bytes");
    else if (ec == http::error::end_of_stream || ec == http::error::partial_message)
      close();
    else if (is_http_parse_error(ec))
      fail(400, "malformed HTTP request: " + ec.message());
    else  // reset, or aborted by close() (a deadline) or by stop()
      close();
    return true;
  }

  void on_read(beast::error_code ec, size_t) {
    if (phase_ == phase::closed || failed(ec))
      return;
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    head_only_ = req.method() == http::verb::head;
    auto seq = ++seq_;
    http_request request{std::string(req.method_string()), std::string(req.target()),
                         std::move(req.body())};
    parser_.reset();
    // While the handler works, the deadline is the request timeout's.
    phase_ = phase::handling;
    set_deadline(clock_type::now() + server_.options.request_timeout);
    try {
      server_.handler(std::move(request), make_responder(seq));
    } catch (const std::exception& e) {
      answer(seq, {500, "application/json", json_error(std::string("handler failed: ") + e.what())});
    } catch (...) {
      answer(seq, {500, "application/json", json_error("handler failed with an unknown exception")});
    }
  }

  long long timeout_ms() const { return server_.options.request_timeout.count(); }

  http_responder make_responder(uint64_t seq) {
    struct state {
      std::shared_ptr<gate> g;
      std::weak_ptr<session> s;
      uint64_t seq;
      std::atomic<bool> used{false};
    };
    auto st = std::make_shared<state>();
    st->g = server_.responders_gate;
    st->s = weak_from_this();
    st->seq = seq;
    return [st](http_response response) {
      if (st->used.exchange(true))
        return;
      std::lock_guard<std::mutex> guard{st->g->mutex};
      if (!st->g->open)
        return;
      if (auto s = st->s.lock()) {
        auto ex = s->socket_.get_executor();
        net::post(ex, [s, seq = st->seq, r = std::move(response)]() mutable {
          s->answer(seq, std::move(r));
        });
      }
    };
  }

  /// Runs on the connection's executor. The first answer for the current
  /// request wins; the other (a late handler after 504, or the deadline)
  /// is dropped.
  void answer(uint64_t seq, http_response response) {
    // Only the handling phase waits for an answer: once one is written the
    // phase has moved on.
    if (seq != seq_ || phase_ != phase::handling)
      return;
    write(std::move(response), keep_alive_);
  }

  void fail(unsigned status, const std::string& message) {
    ++seq_;
    keep_alive_ = false;
    head_only_ = false;
    // This request's version when its header parsed (413), not the last one's.
    version_ = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    write({status, "application/json", json_error(message)}, false);
  }

  /// The status line and headers are written by hand into one reused
  /// string: Beast's serializer cost more per response on the HTTP thread
  /// than parsing the request did. Same headers as before: Server,
  /// Content-Type, Content-Length, and Connection where the version's
  /// default is not what we do.
  void write(http_response r, bool keep_alive) {
    // A 1xx is interim, never the final answer; CR or LF in the content
    // type would split the head.
    if (r.status < 200 || r.status > 599) {
      r = {500, "application/json",
           json_error("handler answered the invalid status " + std::to_string(r.status))};
    } else if (r.content_type.find_first_of("\r\n") != std::string::npos) {
      r = {500, "application/json", json_error("handler answered an invalid content type")};
    }
    // 204 and 304 carry no body (RFC 9110 6.4.1); a HEAD answer gives the
    // length a GET would have, without the body.
    bool bodiless = r.status == 204 || r.status == 304;
    if (bodiless)
      r.body.clear();
    head_.clear();
    head_ += version_ < 11 ? "HTTP/1.0 " : "HTTP/1.1 ";
    append_number(head_, r.status);
    head_ += ' ';
    auto reason = http::obsolete_reason(http::int_to_status(r.status));
    head_.append(reason.data(), reason.size());
    head_ += "\r\nServer: troupe\r\nContent-Type: ";
    head_ += r.content_type;
    if (!bodiless) {
      head_ += "\r\nContent-Length: ";
      append_number(head_, r.body.size());
    }
    if (version_ < 11 && keep_alive)
      head_ += "\r\nConnection: keep-alive";
    else if (version_ >= 11 && !keep_alive)
      head_ += "\r\nConnection: close";
    head_ += "\r\n\r\n";
    body_ = std::move(r.body);
    if (head_only_)
      body_.clear();
    phase_ = phase::writing;
    set_deadline(clock_type::now() + server_.options.idle_timeout);
    std::array<net::const_buffer, 2> buffers{net::buffer(head_), net::buffer(body_)};
    net::async_write(socket_, buffers,
                     [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                       if (self->phase_ == phase::closed)
                         return;
                       if (ec)
                         return self->close();
                       if (!keep_alive)
                         return self->linger_close();
                       self->read();
                     });
  }

  static void append_number(std::string& out, size_t n) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof(digits), n).ptr;
    out.append(digits, end);
  }

  /// Half-closes, then reads and discards until the client closes too (or
  /// linger_timeout passes), so the client gets our last response.
  void linger_close() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    phase_ = phase::lingering;
    set_deadline(clock_type::now() + linger_timeout);
    drain();
  }

  void drain() {
    socket_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec || self->phase_ == phase::closed)
                                return self->close();
                              self->drain();
                            });
  }

  void close() {
    if (phase_ == phase::closed)
      return;
    phase_ = phase::closed;
    ++timer_generation_;  // the pending wait, if any, is now stale
    timer_.cancel();
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  // -- the deadline ----------------------------------------------------------
  //
  // One timer per connection, not one per operation and per request: a
  // request used to arm and cancel four (Beast's stream timer for each read
  // and the write, and the request timeout), each cancellation one more
  // handler to run. Now a request only moves `deadline_`. The timer fires
  // at most every min(request_timeout, idle_timeout) and, finding the
  // deadline moved on, waits again; so it never needs re-arming for a later
  // deadline, and rarely for an earlier one (the linger).

  void set_deadline(clock_type::time_point deadline) {
    deadline_ = deadline;
    if (timer_pending_ && timer_at_ <= deadline)
      return;
    timer_at_ = std::min(deadline, clock_type::now() + timer_step_);
    timer_pending_ = true;
    timer_.expires_at(timer_at_);  // cancels an earlier wait, now stale
    timer_.async_wait([self = shared_from_this(), generation = ++timer_generation_](
                        beast::error_code ec) { self->on_timer(generation, ec); });
  }

  void on_timer(uint64_t generation, beast::error_code ec) {
    if (generation != timer_generation_)
      return;
    timer_pending_ = false;
    if (ec || phase_ == phase::closed)
      return;
    if (clock_type::now() < deadline_)
      return set_deadline(deadline_);
    if (phase_ == phase::handling)
      answer(seq_, {504, "application/json",
                    json_error("the request was not answered within "
                               + std::to_string(timeout_ms()) + " ms")});
    else
      close();
  }

  tcp::socket socket_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string head_;
  std::string body_;
  std::array<char, 4096> scratch_;
  http_server::impl& server_;
  clock_type::duration timer_step_;
  clock_type::time_point deadline_{};
  clock_type::time_point timer_at_{};
  uint64_t timer_generation_ = 0;
  bool timer_pending_ = false;
  phase phase_ = phase::reading;
  uint64_t seq_ = 0;
  bool keep_alive_ = true;
  bool head_only_ = false;
  unsigned version_ = 11;
};

} // namespace

void http_server::impl::accept() {
  // A connection's handlers must not run concurrently; with one I/O thread
  // they cannot, and the strand (a lock and an indirection per handler)
  // is only needed for more.
  auto executor = options.threads == 1 ? net::any_io_executor(ioc->get_executor())
                                       : net::any_io_executor(net::make_strand(*ioc));
  acceptor->async_accept(executor, [this](beast::error_code ec, tcp::socket s) {
    if (ec == net::error::operation_aborted || !acceptor->is_open())
      return;
    if (!ec) {
      std::make_shared<session>(std::move(s), *this)->start();
      return accept();
    }
    // Out of descriptors or similar: retry shortly instead of spinning.
    accept_retry->expires_after(std::chrono::milliseconds(50));
    accept_retry->async_wait([this](beast::error_code tec) {
      if (!tec)
        accept();
    });
  });
}

// -- the public face ----------------------------------------------------------------

http_server::http_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

http_server::~http_server() { stop(); }

uint16_t http_server::port() const { return impl_->port; }

caf::expected<std::unique_ptr<http_server>> http_server::start(http_server_options options,
                                                              http_handler handler) {
  if (options.threads == 0)
    return make_error(errc::invalid_argument, "an HTTP server needs at least one thread");
  if (!handler)
    return make_error(errc::invalid_argument, "an HTTP server needs a handler");
  if (options.request_timeout.count() <= 0)
    return make_error(errc::invalid_argument, "an HTTP server's request_timeout must be positive");
  if (options.idle_timeout.count() <= 0)
    return make_error(errc::invalid_argument, "an HTTP server's idle_timeout must be positive");
  auto where = options.host + ":" + std::to_string(options.port);
  auto p = std::make_unique<impl>(std::move(options), std::move(handler));
  beast::error_code ec;
  tcp::resolver resolver{*p->ioc};
  auto endpoints = resolver.resolve(p->options.host, std::to_string(p->options.port),
                                    tcp::resolver::passive, ec);
  if (ec || endpoints.empty())
    return make_error(errc::invalid_argument,
                      "cannot listen on " + where + ": cannot resolve the host ("
                        + (ec ? ec.message() : std::string("no address")) + ")");
  auto endpoint = endpoints.begin()->endpoint();
  auto& acc = *p->acceptor;
  acc.open(endpoint.protocol(), ec);
  if (!ec)
    acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    acc.bind(endpoint, ec);
  if (!ec)
    acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(errc::io_failure, "cannot listen on " + where + ": " + ec.message());
  p->port = acc.local_endpoint(ec).port();
  p->accept();
  for (unsigned i = 0; i < p->options.threads; ++i) {
    p->threads.emplace_back([ioc = p->ioc.get()] {
      auto work = net::make_work_guard(*ioc);
      // Our handlers catch what handlers throw; this keeps an unexpected
      // exception from terminating the process.
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (...) {
        }
      }
    });
  }
  return std::unique_ptr<http_server>(new http_server(std::move(p)));
}

void http_server::stop() {
  if (!impl_ || impl_->stopped)
    return;
  impl_->stopped = true;
  {
    std::lock_guard<std::mutex> guard{impl_->responders_gate->mutex};
    impl_->responders_gate->open = false;
  }
  impl_->ioc->stop();
  for (auto& t : impl_->threads)
    t.join();
  impl_->threads.clear();
  // Destroying the io_context destroys the pending handlers, and with them
  // every session and its socket: the connections close here.
  impl_->accept_retry.reset();
  impl_->acceptor.reset();
  impl_->ioc.reset();
}

} // namespace troupe::serving
