// The REST frontend's HTTP server and the synchronous client, over real
// loopback sockets: keep-alive and pipelining, concurrency, the limits and
// failures that must be answered (413, 400, 504, 500), bounded shutdown,
// the connection's deadlines and the response head as sent.
#define BOOST_TEST_MODULE http_server
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/serving/http_client.hpp"
#include "actors/serving/http_server.hpp"
#include "messages/errors.hpp"
#include "tests/support/test_support.hpp"

using namespace troupe;
using namespace troupe::serving;
using namespace std::chrono_literals;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

namespace {

double ms_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

/// Answers "<method> <target> <body>" at once.
void echo(http_request req, http_responder respond) {
  respond({200, "text/plain", req.method + " " + req.target + " " + req.body});
}

std::unique_ptr<http_server> start_server(http_handler handler,
                                          http_server_options options = {}) {
  auto server = http_server::start(std::move(options), std::move(handler));
  BOOST_REQUIRE_MESSAGE(server, test::why(server));
  return std::move(*server);
}

http_client connect_to(const http_server& server) {
  auto client = http_client::connect("127.0.0.1", server.port(), 2s);
  BOOST_REQUIRE_MESSAGE(client, test::why(client));
  return std::move(*client);
}

/// A blocking loopback socket whose reads give up after `timeout`.
int raw_connect(uint16_t port, std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(fd >= 0);
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  return fd;
}

void raw_send(int fd, const std::string& bytes) {
  BOOST_REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL)
                == static_cast<ssize_t>(bytes.size()));
}

/// Reads until the peer closes, the timeout passes, or `until` arrives.
std::string raw_read(int fd, const std::string& until = {}) {
  std::string received;
  char buf[4096];
  while (until.empty() || received.find(until) == std::string::npos) {
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    received.append(buf, static_cast<size_t>(n));
  }
  return received;
}

/// Writes `bytes` on a fresh connection and returns all it reads until the
/// server closes (or `timeout` passes).
std::string raw_exchange(uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout = 3s) {
  int fd = raw_connect(port, timeout);
  raw_send(fd, bytes);
  auto received = raw_read(fd);
  ::close(fd);
  return received;
}

/// Answers from other threads after a delay, like an actor would.
class delayed_answers {
public:
  void answer_later(http_responder respond, http_response response,
                    std::chrono::milliseconds delay) {
    std::lock_guard<std::mutex> guard{mutex_};
    threads_.emplace_back([=] {
      std::this_thread::sleep_for(delay);
      respond(response);
    });
  }
  ~delayed_answers() {
    std::lock_guard<std::mutex> guard{mutex_};
    for (auto& t : threads_)
      t.join();
  }

private:
  std::mutex mutex_;
  std::vector<std::thread> threads_;
};

} // namespace

BOOST_AUTO_TEST_SUITE(serving_requests)

BOOST_AUTO_TEST_CASE(a_kept_alive_connection_serves_several_requests_in_turn) {
  auto server = start_server(echo);
  BOOST_CHECK_NE(server->port(), 0);
  auto client = connect_to(*server);
  for (int i = 0; i < 5; ++i) {
    auto res = client.request("POST", "/app/predict", "body" + std::to_string(i), 2s);
    BOOST_REQUIRE_MESSAGE(res, test::why(res));
    BOOST_CHECK_EQUAL(res->status, 200u);
    BOOST_CHECK_EQUAL(res->content_type, "text/plain");
    BOOST_CHECK_EQUAL(res->body, "POST /app/predict body" + std::to_string(i));
    BOOST_CHECK(client.connected());
  }
  // A rough round-trip rate for one kept-alive connection (logged only).
  constexpr int n = 2000;
  auto start = clock_type::now();
  int ok = 0;
  for (int i = 0; i < n; ++i)
    ok += client.request("POST", "/app/predict", "{}", 2s) ? 1 : 0;
  BOOST_CHECK_EQUAL(ok, n);
  BOOST_TEST_MESSAGE("keep-alive round trip: " << ms_since(start) * 1000 / n << " us");
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order) {
  delayed_answers later;
  // The first request is answered last in time: order must still hold.
  auto server = start_server([&](http_request req, http_responder respond) {
    auto delay = req.target == "/first" ? 100ms : 1ms;
    later.answer_later(respond, {200, "text/plain", req.target}, delay);
  });
  std::string requests = "GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /second HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /third HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  auto out = raw_exchange(server->port(), requests);
  auto first = out.find("/first");
  auto second = out.find("/second");
  auto third = out.find("/third");
  BOOST_TEST_MESSAGE(out);
  BOOST_REQUIRE(first != std::string::npos && second != std::string::npos
                && third != std::string::npos);
  BOOST_CHECK(first < second && second < third);
}

BOOST_AUTO_TEST_CASE(a_hundred_concurrent_connections_each_get_their_own_answer) {
  delayed_answers later;
  auto server = start_server(
    [&](http_request req, http_responder respond) {
      later.answer_later(respond, {200, "application/json", json{{"echo", req.body}}.dump()},
                         50ms);
    },
    {"127.0.0.1", 0, 2});
  constexpr int n = 100;
  std::atomic<int> right{0};
  std::vector<std::string> problems(n);
  auto start = clock_type::now();
  std::vector<std::thread> clients;
  for (int i = 0; i < n; ++i)
    clients.emplace_back([&, i] {
      auto client = http_client::connect("127.0.0.1", server->port(), 5s);
      if (!client) {
        problems[i] = describe(client.error());
        return;
      }
      auto res = client->request("POST", "/q", std::to_string(i), 10s);
      if (!res)
        problems[i] = describe(res.error());
      else if (json::parse(res->body)["echo"] == std::to_string(i))
        ++right;
    });
  for (auto& t : clients)
    t.join();
  auto elapsed = ms_since(start);
  for (auto& p : problems)
    BOOST_CHECK_MESSAGE(p.empty(), p);
  BOOST_CHECK_EQUAL(right.load(), n);
  BOOST_TEST_MESSAGE("100 connections, 50 ms handler: " << elapsed << " ms");
  // One at a time would take 100 x 50 ms = 5 s.
  BOOST_CHECK_LT(elapsed, 2500.0);
}

BOOST_AUTO_TEST_CASE(expect_100_continue_is_answered_before_the_body_is_sent) {
  auto server = start_server(echo);
  int fd = raw_connect(server->port(), 1s);
  raw_send(fd, "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               "Content-Length: 5\r\nConnection: close\r\n\r\n");
  auto interim = raw_read(fd, "\r\n\r\n");
  BOOST_CHECK_EQUAL(interim.rfind("HTTP/1.1 100 Continue", 0), 0u);
  raw_send(fd, "hello");
  auto final_response = raw_read(fd);
  ::close(fd);
  BOOST_CHECK(final_response.find("POST /e hello") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(failures_are_answered)

BOOST_AUTO_TEST_CASE(a_body_over_the_limit_is_answered_413_naming_the_limit) {
  http_server_options options;
  options.body_limit = 1024;
  auto server = start_server(echo, options);
  auto client = connect_to(*server);
  auto ok = client.request("POST", "/a", std::string(1024, 'x'), 2s);
  BOOST_REQUIRE_MESSAGE(ok, test::why(ok));
  BOOST_CHECK_EQUAL(ok->status, 200u);
  // Far over the limit: the server must drain what it does not read, or
  // the client would see a reset instead of the answer.
  auto res = client.request("POST", "/a", std::string(4 << 20, 'x'), 5s);
  BOOST_REQUIRE_MESSAGE(res, test::why(res));
  BOOST_CHECK_EQUAL(res->status, 413u);
  BOOST_CHECK_EQUAL(json::parse(res->body)["error"].get<std::string>(),
                    "request body exceeds the limit of 1024 bytes");
  // The connection closed; the client reconnects for the next request.
  auto again = client.request("POST", "/a", "small", 2s);
  BOOST_REQUIRE_MESSAGE(again, test::why(again));
  BOOST_CHECK_EQUAL(again->body, "POST /a small");
  // A declared length over the limit is refused before any body is sent.
  auto start = clock_type::now();
  auto out = raw_exchange(server->port(), "POST /a HTTP/1.1\r\nHost: x\r\n"
                                          "Content-Length: 999999999\r\n\r\n");
  BOOST_CHECK_EQUAL(out.rfind("HTTP/1.1 413", 0), 0u);
  BOOST_CHECK_LT(ms_since(start), 1000.0);
}

BOOST_AUTO_TEST_CASE(garbage_is_answered_400_and_the_server_keeps_serving) {
  auto server = start_server(echo);
  auto out = raw_exchange(server->port(), std::string("\x16\x03\x01garbage\r\n\r\n", 13));
  BOOST_TEST_MESSAGE(out);
  BOOST_CHECK_EQUAL(out.rfind("HTTP/1.1 400", 0), 0u);
  BOOST_CHECK(out.find("malformed HTTP request") != std::string::npos);
  BOOST_CHECK(out.find("Connection: close") != std::string::npos);
  auto client = connect_to(*server);
  auto res = client.request("GET", "/still", "", 2s);
  BOOST_REQUIRE_MESSAGE(res, test::why(res));
  BOOST_CHECK_EQUAL(res->body, "GET /still ");
}

BOOST_AUTO_TEST_CASE(a_handler_that_never_answers_gets_504_and_its_late_answer_is_dropped) {
  std::mutex mutex;
  std::vector<http_responder> kept;
  http_server_options options;
  options.request_timeout = 200ms;
  auto server = start_server(
    [&](http_request req, http_responder respond) {
      if (req.target == "/never") {
        std::lock_guard<std::mutex> guard{mutex};
        kept.push_back(respond);
        return;
      }
      echo(req, respond);
    },
    options);
  auto client = connect_to(*server);
  auto start = clock_type::now();
  auto res = client.request("GET", "/never", "", 5s);
  auto elapsed = ms_since(start);
  BOOST_REQUIRE_MESSAGE(res, test::why(res));
  BOOST_CHECK_EQUAL(res->status, 504u);
  BOOST_CHECK(json::parse(res->body)["error"].get<std::string>().find("200 ms")
              != std::string::npos);
  BOOST_CHECK_GE(elapsed, 190.0);
  BOOST_CHECK_LT(elapsed, 2000.0);
  // The late answer must not be taken for the next request's.
  {
    std::lock_guard<std::mutex> guard{mutex};
    BOOST_REQUIRE_EQUAL(kept.size(), 1u);
    kept[0]({200, "text/plain", "stale"});
    kept[0]({200, "text/plain", "twice"});
  }
  auto next = client.request("GET", "/fresh", "", 2s);
  BOOST_REQUIRE_MESSAGE(next, test::why(next));
  BOOST_CHECK_EQUAL(next->body, "GET /fresh ");
}

BOOST_AUTO_TEST_CASE(a_handler_that_throws_gets_500_and_the_connection_survives) {
  auto server = start_server([](http_request req, http_responder respond) {
    if (req.target == "/throw")
      throw std::runtime_error("model exploded");
    echo(req, respond);
  });
  auto client = connect_to(*server);
  auto res = client.request("GET", "/throw", "", 2s);
  BOOST_REQUIRE_MESSAGE(res, test::why(res));
  BOOST_CHECK_EQUAL(res->status, 500u);
  BOOST_CHECK_EQUAL(json::parse(res->body)["error"].get<std::string>(),
                    "handler failed: model exploded");
  auto next = client.request("GET", "/fine", "", 2s);
  BOOST_REQUIRE_MESSAGE(next, test::why(next));
  BOOST_CHECK_EQUAL(next->status, 200u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(lifecycle)

BOOST_AUTO_TEST_CASE(a_port_in_use_is_refused_naming_it) {
  auto first = start_server(echo);
  http_server_options options;
  options.port = first->port();
  auto second = http_server::start(options, echo);
  BOOST_REQUIRE(!second);
  auto msg = describe(second.error());
  BOOST_TEST_MESSAGE(msg);
  BOOST_CHECK(is(second.error(), errc::io_failure));
  BOOST_CHECK(msg.find("127.0.0.1:" + std::to_string(first->port())) != std::string::npos);
  BOOST_CHECK(msg.find("in use") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_options_are_refused) {
  http_server_options options;
  options.threads = 0;
  BOOST_CHECK(is(http_server::start(options, echo).error(), errc::invalid_argument));
  options.threads = 1;
  options.request_timeout = 0ms;
  auto zero = http_server::start(options, echo);
  BOOST_REQUIRE(!zero);
  BOOST_CHECK(describe(zero.error()).find("request_timeout") != std::string::npos);
  options.request_timeout = 1s;
  options.idle_timeout = 0s;
  zero = http_server::start(options, echo);
  BOOST_REQUIRE(!zero);
  BOOST_CHECK(describe(zero.error()).find("idle_timeout") != std::string::npos);
  options.idle_timeout = 60s;
  options.host = "no such host.invalid";
  auto bad_host = http_server::start(options, echo);
  BOOST_REQUIRE(!bad_host);
  BOOST_CHECK(describe(bad_host.error()).find("no such host.invalid") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(stop_is_bounded_and_closes_connections_with_requests_in_flight) {
  std::mutex mutex;
  http_responder kept;
  auto server = start_server([&](http_request, http_responder respond) {
    std::lock_guard<std::mutex> guard{mutex};
    kept = respond;
  });
  auto port = server->port();
  caf::expected<http_response> res = http_response{};
  double client_ms = 0;
  std::thread waiting([&] {
    auto client = http_client::connect("127.0.0.1", port, 2s);
    auto start = clock_type::now();
    res = client ? client->request("GET", "/hang", "", 10s)
                 : caf::expected<http_response>{client.error()};
    client_ms = ms_since(start);
  });
  BOOST_REQUIRE(test::wait_until([&] {
    std::lock_guard<std::mutex> guard{mutex};
    return static_cast<bool>(kept);
  }, 5s) >= 0);
  auto start = clock_type::now();
  server->stop();
  auto stop_ms = ms_since(start);
  waiting.join();
  BOOST_TEST_MESSAGE("stop() took " << stop_ms << " ms, the client saw it after " << client_ms
                                    << " ms");
  BOOST_CHECK_LT(stop_ms, 1000.0);
  BOOST_CHECK(!res);
  BOOST_CHECK_LT(client_ms, 5000.0);
  kept({200, "text/plain", "after stop"});  // a no-op, not a crash
  server->stop();                           // idempotent
  auto refused = http_client::connect("127.0.0.1", port, 1s);
  BOOST_REQUIRE(!refused);
  BOOST_CHECK(is(refused.error(), errc::unavailable));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(client)

BOOST_AUTO_TEST_CASE(a_server_that_does_not_answer_gives_a_timeout_not_a_hang) {
  std::vector<http_responder> kept;
  std::mutex mutex;
  auto server = start_server([&](http_request, http_responder respond) {
    std::lock_guard<std::mutex> guard{mutex};
    kept.push_back(respond);
  });
  auto client = connect_to(*server);
  auto start = clock_type::now();
  auto res = client.request("GET", "/slow", "", 200ms);
  auto elapsed = ms_since(start);
  BOOST_REQUIRE(!res);
  BOOST_CHECK_MESSAGE(is(res.error(), errc::timeout), describe(res.error()));
  BOOST_CHECK_GE(elapsed, 190.0);
  BOOST_CHECK_LT(elapsed, 1500.0);
  BOOST_CHECK(!client.connected());
}

BOOST_AUTO_TEST_CASE(the_client_reconnects_when_the_server_closed_an_idle_connection) {
  http_server_options options;
  options.idle_timeout = 1s;
  auto server = start_server(echo, options);
  auto client = connect_to(*server);
  auto first = client.request("GET", "/one", "", 2s);
  BOOST_REQUIRE_MESSAGE(first, test::why(first));
  std::this_thread::sleep_for(1300ms);  // the server closes the idle connection
  auto second = client.request("GET", "/two", "", 2s);
  BOOST_REQUIRE_MESSAGE(second, test::why(second));
  BOOST_CHECK_EQUAL(second->body, "GET /two ");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(deadlines_and_headers)

BOOST_AUTO_TEST_CASE(a_silent_connection_is_closed_after_the_idle_timeout) {
  http_server_options options;
  options.idle_timeout = 1s;
  auto server = start_server(echo, options);
  // Nothing sent at all.
  int fd = raw_connect(server->port(), 5s);
  auto start = clock_type::now();
  BOOST_CHECK_EQUAL(raw_read(fd), "");
  auto elapsed = ms_since(start);
  ::close(fd);
  BOOST_CHECK_GE(elapsed, 900.0);
  BOOST_CHECK_LT(elapsed, 3000.0);
  // Half a request: the deadline runs from the start of the read.
  fd = raw_connect(server->port(), 5s);
  start = clock_type::now();
  raw_send(fd, "GET /half HTTP/1.1\r\nHo");
  BOOST_CHECK_EQUAL(raw_read(fd), "");
  elapsed = ms_since(start);
  ::close(fd);
  BOOST_CHECK_GE(elapsed, 900.0);
  BOOST_CHECK_LT(elapsed, 3000.0);
}

BOOST_AUTO_TEST_CASE(a_short_request_timeout_does_not_cut_a_kept_alive_connection_short) {
  // The idle deadline is longer than the request timeout: requests that
  // come every 300 ms on one connection, 1.5 s in all, must all be served
  // on that connection (a raw socket: http_client would reconnect).
  http_server_options options;
  options.request_timeout = 200ms;
  options.idle_timeout = 1s;
  auto server = start_server(echo, options);
  int fd = raw_connect(server->port(), 2s);
  for (int i = 0; i < 5; ++i) {
    auto target = "/tick" + std::to_string(i);
    raw_send(fd, "GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n");
    auto out = raw_read(fd, "GET " + target + " ");
    BOOST_CHECK_MESSAGE(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0,
                        "request " << i << " got '" << out << "'");
    std::this_thread::sleep_for(300ms);
  }
  ::close(fd);
}

BOOST_AUTO_TEST_CASE(responses_carry_status_length_and_the_connection_the_request_asked_for) {
  auto server = start_server([](http_request req, http_responder respond) {
    if (req.target == "/nothing")
      return respond({204, "text/plain", "dropped: a 204 has no body"});
    if (req.target == "/teapot")
      return respond({418, "text/plain", "short and stout"});
    if (req.target == "/interim")
      return respond({101, "text/plain", "not final"});
    if (req.target == "/split")
      return respond({200, "text/plain\r\nX-Injected: 1", "body"});
    echo(req, respond);
  });
  // HTTP/1.1 asking to close.
  auto out = raw_exchange(server->port(), "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  BOOST_CHECK_EQUAL(out, "HTTP/1.1 200 OK\r\nServer: troupe\r\nContent-Type: text/plain\r\n"
                         "Content-Length: 7\r\nConnection: close\r\n\r\nGET /x ");
  // HTTP/1.0 closes by default, and says nothing about it.
  out = raw_exchange(server->port(), "GET /y HTTP/1.0\r\n\r\n");
  BOOST_CHECK_EQUAL(out, "HTTP/1.0 200 OK\r\nServer: troupe\r\nContent-Type: text/plain\r\n"
                         "Content-Length: 7\r\n\r\nGET /y ");
  // HTTP/1.0 asking to stay open, then a 204 and an unusual status on the
  // same connection.
  int fd = raw_connect(server->port(), 3s);
  raw_send(fd, "GET /z HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  BOOST_CHECK_EQUAL(raw_read(fd, "GET /z "),
                    "HTTP/1.0 200 OK\r\nServer: troupe\r\nContent-Type: text/plain\r\n"
                    "Content-Length: 7\r\nConnection: keep-alive\r\n\r\nGET /z ");
  raw_send(fd, "GET /nothing HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  BOOST_CHECK_EQUAL(raw_read(fd, "\r\n\r\n"),
                    "HTTP/1.0 204 No Content\r\nServer: troupe\r\nContent-Type: text/plain\r\n"
                    "Connection: keep-alive\r\n\r\n");
  // HEAD: the length a GET would get, no body; the connection goes on.
  raw_send(fd, "HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n");
  BOOST_CHECK_EQUAL(raw_read(fd, "\r\n\r\n"),
                    "HTTP/1.1 200 OK\r\nServer: troupe\r\nContent-Type: text/plain\r\n"
                    "Content-Length: 8\r\n\r\n");
  // A 1xx is not a final answer, nor is a content type that would split
  // the head: both become 500.
  raw_send(fd, "GET /interim HTTP/1.1\r\nHost: a\r\n\r\n");
  BOOST_CHECK_EQUAL(raw_read(fd, "}").rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u);
  raw_send(fd, "GET /split HTTP/1.1\r\nHost: a\r\n\r\n");
  auto split = raw_read(fd, "}");
  BOOST_CHECK_EQUAL(split.rfind("HTTP/1.1 500 ", 0), 0u);
  BOOST_CHECK(split.find("X-Injected") == std::string::npos);
  raw_send(fd, "GET /teapot HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  auto teapot = raw_read(fd);
  BOOST_CHECK_EQUAL(teapot.rfind("HTTP/1.1 418 ", 0), 0u);
  BOOST_CHECK(teapot.find("Content-Length: 15\r\n") != std::string::npos);
  BOOST_CHECK(teapot.size() >= 15 && teapot.substr(teapot.size() - 15) == "short and stout");
  ::close(fd);
}

BOOST_AUTO_TEST_SUITE_END()
