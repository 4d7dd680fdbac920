#include "benchmarks/http_load.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>
#include <boost/asio.hpp>
#include <nlohmann/json.hpp>
#include "messages/errors.hpp"

namespace troupe::bench {

namespace asio = boost::asio;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using json = nlohmann::json;

double seconds_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// -- what a load run measures ----------------------------------------------------

/// What one load thread saw; merged across threads.
struct load_log {
  std::vector<uint32_t> latency_us;  ///< of recorded queries (answered or not)
  uint64_t answered_in_window = 0;   ///< answers that arrived inside the window
  uint64_t ok = 0;                   ///< recorded queries answered 200
  uint64_t defaults = 0;             ///< ... of them with "default": true
  uint64_t errors = 0;               ///< recorded queries answered non-200 or lost
  uint64_t incomplete = 0;           ///< recorded queries not answered by the drain deadline
  uint64_t within_slo = 0;           ///< answered 200, not default, within the SLO
  uint64_t connection_errors = 0;
  std::string first_error;  ///< status line and body of the first non-200 answer

  void merge(const load_log& o) {
    if (first_error.empty())
      first_error = o.first_error;
    latency_us.insert(latency_us.end(), o.latency_us.begin(), o.latency_us.end());
    answered_in_window += o.answered_in_window;
    ok += o.ok;
    defaults += o.defaults;
    errors += o.errors;
    incomplete += o.incomplete;
    within_slo += o.within_slo;
    connection_errors += o.connection_errors;
  }
};


// -- queries ---------------------------------------------------------------------

/// Renders query bodies {"input":[...]}. Unless --same-input, the first value
/// is unique per query (0.<counter>), so that a prediction cache never hits;
/// the rest is one of a pool of random rows, rendered once.
class query_maker {
public:
  query_maker(const load_options& o, uint64_t seed) : same_(o.same_input) {
    std::mt19937_64 gen{seed};
    std::uniform_real_distribution<double> uniform{0.0, 1.0};
    char num[32];
    for (int r = 0; r < (same_ ? 1 : 64); ++r) {
      std::string tail;
      for (uint64_t i = 1; i < o.input_length; ++i) {
        std::snprintf(num, sizeof(num), ",%.6f", uniform(gen));
        tail += num;
      }
      tails_.push_back(tail + "]");
    }
    rows_ = std::max(1u, o.rows);
    header_ = "POST " + o.path + " HTTP/1.1\r\nHost: " + o.host + ":" + std::to_string(o.port)
              + "\r\nContent-Type: application/json\r\nContent-Length: ";
    counter_ = (seed % 1000000) * 1000000000ull;  // 10^9 unique queries per seed
  }

  /// The next whole HTTP request, into `out`.
  void next(std::string& out) {
    body_.clear();
    body_ += rows_ == 1 ? "{\"input\":" : "{\"input_batch\":[";
    for (unsigned r = 0; r < rows_; ++r) {
      char first[40];
      if (same_)
        std::snprintf(first, sizeof(first), "%s[0.5", r == 0 ? "" : ",");
      else
        std::snprintf(first, sizeof(first), "%s[0.%015llu", r == 0 ? "" : ",",
                      static_cast<unsigned long long>(counter_++ % 1000000000000000ull));
      body_ += first;
      body_ += tails_[counter_ % tails_.size()];
    }
    body_ += rows_ == 1 ? "}" : "]}";
    out.clear();
    out += header_;
    out += std::to_string(body_.size());
    out += "\r\n\r\n";
    out += body_;
  }

private:
  bool same_;
  unsigned rows_ = 1;
  std::string body_;
  std::vector<std::string> tails_;
  std::string header_;
  uint64_t counter_ = 0;
};

// -- one load thread -------------------------------------------------------------

/// Runs `connections` keep-alive connections on its own io_context, closed
/// or open loop, and logs what it saw.
class load_worker {
public:
  load_worker(const load_options& o, unsigned connections, double rate, uint64_t seed,
              clock_type::time_point start)
    : o_(o), rate_(rate), queries_(o, seed), gen_(seed), gap_(rate > 0 ? rate : 1.0),
      pacing_(std::chrono::microseconds{o.pacing_us}), timer_(io_) {
    warm_end_ = start + std::chrono::duration_cast<clock_type::duration>(
                          std::chrono::duration<double>(o.warmup));
    end_ = warm_end_ + std::chrono::duration_cast<clock_type::duration>(
                         std::chrono::duration<double>(o.seconds));
    drain_end_ = end_ + std::chrono::duration_cast<clock_type::duration>(
                          std::chrono::duration<double>(o.drain));
    endpoint_ = tcp::endpoint{asio::ip::make_address(o.host), o.port};
    for (unsigned i = 0; i < connections; ++i)
      conns_.push_back(std::make_unique<connection>(io_));
    next_arrival_ = start;
  }

  /// Connects everything (synchronously), then runs the load to the end.
  void run() {
    for (auto& c : conns_)
      open(*c);
    if (rate_ > 0) {
      for (auto& c : conns_)
        free_.push_back(c.get());
      schedule_arrivals();
    } else {
      for (auto& c : conns_)
        send(*c, clock_type::now());
    }
    // Stop waiting for stragglers at the drain deadline.
    drain_timer_ = std::make_unique<asio::steady_timer>(io_, drain_end_);
    drain_timer_->async_wait([this](const boost::system::error_code&) { finish(); });
    io_.run();
  }

  load_log log;

private:
  struct connection {
    explicit connection(asio::io_context& io) : sock(io) {}
    tcp::socket sock;
    std::string request;
    std::string in;
    std::vector<char> chunk = std::vector<char>(64 * 1024);
    clock_type::time_point started;  // scheduled (open) or actual (closed) send time
    bool busy = false;
  };

  void open(connection& c) {
    boost::system::error_code ec;
    c.sock = tcp::socket{io_};
    c.sock.connect(endpoint_, ec);
    if (ec) {
      ++log.connection_errors;
      return;
    }
    c.sock.set_option(tcp::no_delay{true}, ec);
    c.in.clear();
  }

  bool recording(clock_type::time_point t) const { return t >= warm_end_ && t < end_; }

  void send(connection& c, clock_type::time_point started) {
    c.busy = true;
    ++busy_;
    c.started = started;
    queries_.next(c.request);
    if (!c.sock.is_open())
      open(c);
    asio::async_write(c.sock, asio::buffer(c.request),
                      [this, &c](const boost::system::error_code& ec, size_t) {
                        if (ec)
                          return failed(c);
                        read(c);
                      });
  }

  void read(connection& c) {
    c.sock.async_read_some(asio::buffer(c.chunk),
                           [this, &c](const boost::system::error_code& ec, size_t n) {
                             if (ec)
                               return failed(c);
                             c.in.append(c.chunk.data(), n);
                             if (!parse(c))
                               read(c);
                           });
  }

  /// True once `c.in` holds a whole response (then handled and consumed).
  /// Bodies come with Content-Length (Beast) or chunked (uvicorn, Ray Serve).
  bool parse(connection& c) {
    auto head_end = c.in.find("\r\n\r\n");
    if (head_end == std::string::npos)
      return false;
    std::string head = c.in.substr(0, head_end + 2);
    for (auto& ch : head)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    size_t body_start = head_end + 4;
    size_t consumed = 0;
    std::string chunked_body;
    std::string_view body;
    if (head.find("\r\ntransfer-encoding: chunked\r\n") != std::string::npos) {
      size_t at = body_start;
      for (;;) {
        auto line_end = c.in.find("\r\n", at);
        if (line_end == std::string::npos)
          return false;
        auto size = std::strtoull(c.in.c_str() + at, nullptr, 16);
        if (size == 0) {
          // No trailers expected: the last chunk's line, then an empty line.
          if (c.in.size() < line_end + 4)
            return false;
          consumed = line_end + 4;
          break;
        }
        if (c.in.size() < line_end + 2 + size + 2)
          return false;
        chunked_body.append(c.in, line_end + 2, size);
        at = line_end + 2 + size + 2;
      }
      body = chunked_body;
    } else {
      size_t length = 0;
      auto at = head.find("\r\ncontent-length:");
      if (at != std::string::npos)
        length = std::strtoull(head.c_str() + at + 17, nullptr, 10);
      if (c.in.size() < body_start + length)
        return false;
      body = std::string_view{c.in.data() + body_start, length};
      consumed = body_start + length;
    }
    unsigned status = c.in.size() > 12 ? std::atoi(c.in.c_str() + 9) : 0;
    uint64_t defaults = 0;
    for (std::string_view pattern : {"\"default\":true", "\"default\": true"})
      for (auto at = body.find(pattern); at != std::string_view::npos;
           at = body.find(pattern, at + 1))
        ++defaults;
    if (status != 200 && log.first_error.empty())
      log.first_error = c.in.substr(0, c.in.find("\r\n")) + " " + std::string{body.substr(0, 200)};
    c.in.erase(0, consumed);
    answered(c, status, defaults);
    return true;
  }

  void answered(connection& c, unsigned status, uint64_t defaults) {
    bool is_default = defaults > 0;
    auto now = clock_type::now();
    if (recording(now))
      ++log.answered_in_window;
    if (recording(c.started)) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - c.started).count();
      log.latency_us.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
      if (status == 200) {
        ++log.ok;
        log.defaults += defaults;
        log.within_slo += !is_default && us <= o_.slo_us;
      } else {
        ++log.errors;
      }
    }
    next_for(c, now);
  }

  void failed(connection& c) {
    if (finished_)
      return;
    ++log.connection_errors;
    if (recording(c.started)) {
      ++log.errors;
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now()
                                                                      - c.started)
                  .count();
      log.latency_us.push_back(static_cast<uint32_t>(us));
    }
    boost::system::error_code ignored;
    c.sock.close(ignored);
    next_for(c, clock_type::now());
  }

  /// What a connection does once free: the next query (closed loop), the
  /// oldest waiting arrival (open loop), or nothing.
  void next_for(connection& c, clock_type::time_point now) {
    c.busy = false;
    --busy_;
    if (finished_)
      return;
    if (rate_ <= 0) {
      if (now < end_)
        send(c, now);
    } else {
      if (!waiting_.empty()) {
        auto t = waiting_.front();
        waiting_.pop_front();
        send(c, t);
      } else {
        free_.push_back(&c);
      }
      // Arrivals that fell due while this answer was read go out now, on
      // this wake-up, rather than each on a timer wake-up of its own: the
      // generator shares the cores with the system it measures.
      admit_due(now);
    }
    maybe_done();
  }

  /// Open loop: every arrival due by `now` goes to a free connection or
  /// waits for one (its latency counts from its scheduled time either way).
  void admit_due(clock_type::time_point now) {
    while (next_arrival_ <= now && next_arrival_ < end_) {
      if (!free_.empty()) {
        auto* c = free_.back();
        free_.pop_back();
        send(*c, next_arrival_);
      } else {
        waiting_.push_back(next_arrival_);
      }
      next_arrival_ += std::chrono::duration_cast<clock_type::duration>(
        std::chrono::duration<double>(gap_(gen_)));
    }
    if (next_arrival_ >= end_)
      arrivals_done_ = true;
  }

  /// The timer's side of the open loop: admits what is due and waits for
  /// the next arrival, but at least `pacing_` (an arrival that an answer
  /// admitted first leaves the timer one wake-up with nothing to do).
  void schedule_arrivals() {
    auto now = clock_type::now();
    admit_due(now);
    if (arrivals_done_) {
      maybe_done();
      return;
    }
    timer_.expires_at(std::max(next_arrival_, now + pacing_));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !finished_)
        schedule_arrivals();
    });
  }

  void maybe_done() {
    if (finished_)
      return;
    bool no_more = rate_ > 0 ? arrivals_done_ && waiting_.empty()
                             : clock_type::now() >= end_;
    if (busy_ == 0 && no_more)
      finish();
  }

  /// Ends the run: what is still waiting or in flight counts as incomplete,
  /// with the time it had waited so far as its latency (a lower bound).
  void finish() {
    if (finished_)
      return;
    finished_ = true;
    auto now = clock_type::now();
    auto lost = [&](clock_type::time_point t) {
      if (!recording(t))
        return;
      ++log.incomplete;
      log.latency_us.push_back(static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now - t).count()));
    };
    for (auto t : waiting_)
      lost(t);
    waiting_.clear();
    for (auto& c : conns_) {
      if (c->busy)
        lost(c->started);
      boost::system::error_code ignored;
      c->sock.close(ignored);
    }
    timer_.cancel();
    if (drain_timer_)
      drain_timer_->cancel();
    io_.stop();
  }

  load_options o_;
  double rate_;
  query_maker queries_;
  std::mt19937_64 gen_;
  std::exponential_distribution<double> gap_{1.0};
  clock_type::duration pacing_;
  asio::io_context io_;
  asio::steady_timer timer_;
  std::unique_ptr<asio::steady_timer> drain_timer_;
  tcp::endpoint endpoint_;
  std::vector<std::unique_ptr<connection>> conns_;
  std::vector<connection*> free_;
  std::deque<clock_type::time_point> waiting_;
  clock_type::time_point warm_end_, end_, drain_end_, next_arrival_;
  unsigned busy_ = 0;  ///< connections with a query in flight
  bool arrivals_done_ = false;
  bool finished_ = false;
};

/// Runs the load on o.threads threads (connections and rate split evenly;
/// superposed Poisson processes are one Poisson process) and reports.
json run_load(load_options o) {
  if (o.seed == 0)
    o.seed = std::random_device{}() % 1000003 + 1;
  auto start = clock_type::now() + std::chrono::milliseconds{50};
  std::vector<std::unique_ptr<load_worker>> workers;
  auto threads = std::max(1u, std::min(o.threads, o.connections));
  for (unsigned t = 0; t < threads; ++t) {
    unsigned conns = o.connections / threads + (t < o.connections % threads ? 1 : 0);
    workers.push_back(
      std::make_unique<load_worker>(o, conns, o.rate / threads, o.seed + t * 7919, start));
  }
  std::vector<std::thread> running;
  for (auto& w : workers)
    running.emplace_back([&w] { w->run(); });
  for (auto& t : running)
    t.join();
  load_log all;
  for (auto& w : workers)
    all.merge(w->log);
  auto& lat = all.latency_us;
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) -> double {
    if (lat.empty())
      return 0;
    auto i = static_cast<size_t>(p / 100.0 * static_cast<double>(lat.size() - 1) + 0.5);
    return lat[std::min(i, lat.size() - 1)];
  };
  double mean = 0;
  for (auto x : lat)
    mean += x;
  mean = lat.empty() ? 0 : mean / static_cast<double>(lat.size());
  auto recorded = static_cast<double>(lat.size());
  json r;
  r["mode"] = o.rate > 0 ? "open" : "closed";
  r["connections"] = o.connections;
  r["threads"] = threads;
  r["seconds"] = o.seconds;
  if (o.rate > 0) {
    r["offered_qps"] = o.rate;
    r["pacing_us"] = o.pacing_us;
  }
  r["qps"] = static_cast<double>(all.answered_in_window) / o.seconds;
  r["queries"] = lat.size();
  r["ok"] = all.ok;
  r["errors"] = all.errors;
  r["incomplete"] = all.incomplete;
  r["connection_errors"] = all.connection_errors;
  if (!all.first_error.empty())
    r["first_error"] = all.first_error;
  r["rows_per_request"] = std::max(1u, o.rows);
  r["rows_per_s"] = r["qps"].get<double>() * std::max(1u, o.rows);
  r["default_fraction"] =
    all.ok == 0 ? 0.0 : static_cast<double>(all.defaults) / (all.ok * std::max(1u, o.rows));
  r["p50_us"] = pct(50);
  r["p99_us"] = pct(99);
  r["p999_us"] = pct(99.9);
  r["max_us"] = lat.empty() ? 0 : lat.back();
  r["mean_us"] = mean;
  r["slo_us"] = o.slo_us;
  r["slo_attainment"] = recorded == 0 ? 0.0 : static_cast<double>(all.within_slo) / recorded;
  r["goodput_qps"] = static_cast<double>(all.within_slo) / o.seconds;
  return r;
}

void print_load(const json& r) {
  if (r.contains("first_error"))
    std::fprintf(stderr, "first error answer: %s\n", r["first_error"].get<std::string>().c_str());
  std::fprintf(stderr,
               "%s loop: %.0f qps%s, p50 %.0f us, p99 %.0f us, p99.9 %.0f us, default %.3f, "
               "SLO (%lld us) attainment %.4f, errors %llu, incomplete %llu\n",
               r["mode"].get<std::string>().c_str(), r["qps"].get<double>(),
               r.contains("offered_qps")
                 ? (" (offered " + std::to_string(static_cast<long>(r["offered_qps"].get<double>()))
                    + ")")
                     .c_str()
                 : "",
               r["p50_us"].get<double>(), r["p99_us"].get<double>(), r["p999_us"].get<double>(),
               r["default_fraction"].get<double>(),
               static_cast<long long>(r["slo_us"].get<int64_t>()),
               r["slo_attainment"].get<double>(),
               static_cast<unsigned long long>(r["errors"].get<uint64_t>()),
               static_cast<unsigned long long>(r["incomplete"].get<uint64_t>()));
}

/// "http://host:port/path" into o; false if it is not of that form.
bool parse_url(const std::string& url, load_options& o) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0)
    return false;
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  o.path = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = authority.rfind(':');
  if (colon == std::string::npos)
    return false;
  o.host = authority.substr(0, colon);
  if (o.host == "localhost")
    o.host = "127.0.0.1";
  try {
    auto port = std::stoul(authority.substr(colon + 1));
    if (port == 0 || port > 65535)
      return false;
    o.port = static_cast<uint16_t>(port);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

} // namespace troupe::bench
