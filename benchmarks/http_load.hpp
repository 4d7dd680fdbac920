// The HTTP load generator of serving_bench: closed loop (C connections,
// each sending the next query once the last is answered) and open loop
// (Poisson arrivals against absolute send times, latency from the scheduled
// send time, so queueing is never hidden), on Boost.Asio with a minimal
// HTTP/1.1 codec, one io_context per load thread.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace troupe::bench {

struct load_options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string path = "/";
  unsigned connections = 16;
  unsigned threads = 1;
  double seconds = 5;
  double warmup = 1;
  double drain = 5;          ///< how long to wait for queries in flight at the end
  double rate = 0;           ///< queries/s; 0: closed loop
  /// Open loop: the least time between two timer wake-ups of a load thread.
  /// Arming a timer costs a VM exit here, and a wake-up per arrival made the
  /// generator take CPU from the system it measures (see benchmarks/README).
  unsigned pacing_us = 100;
  uint64_t input_length = 1; ///< numbers per input
  bool same_input = false;   ///< every query identical (prediction cache hits)
  unsigned rows = 1;         ///< >1: each request is {"input_batch":[...]} of that many rows
  int64_t slo_us = 20000;
  /// Seed of inputs and arrivals; 0: a fresh one per run, so that a run
  /// never replays an earlier run's inputs into a warm prediction cache.
  uint64_t seed = 0;
};

/// Runs the load on o.threads threads and reports qps, latency
/// percentiles, default answers, SLO attainment and goodput as JSON.
nlohmann::json run_load(load_options o);

/// One line of a load result on stderr.
void print_load(const nlohmann::json& r);

/// Fills host, port and path from "http://host:port/path"; false if malformed.
bool parse_url(const std::string& url, load_options& o);

} // namespace troupe::bench
