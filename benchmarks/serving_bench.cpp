// serving_bench: the serving system's load generator and its baselines
// (/work/shared/benchmarks.md, "Serving"). Four modes:
//
//   raw          a model called directly in process through open_backend:
//                rows/s at a batch size, one thread (the physical limit a
//                serving system approaches);
//   closed       C keep-alive connections, each sending the next query as
//                soon as the last is answered (peak throughput);
//   open         Poisson arrivals at --rate against absolute send times, C
//                connections as a pool; latency runs from the *scheduled*
//                send time, so queueing (in the server or for a free
//                connection) is never hidden (no coordinated omission);
//   echo-server  closed loop against an in-process http_server that answers
//                a fixed body: the load generator's own ceiling.
//
// The HTTP side is Boost.Asio with a minimal HTTP/1.1 codec, one io_context
// per load thread, so that one process can offer well over 50K queries/s.
// Progress and a table go to stderr, one JSON object to the last stdout line.
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
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "actors/serving/http_server.hpp"
#include "actors/serving/model_backend.hpp"
#include "messages/errors.hpp"

#include "benchmarks/http_load.hpp"
#include "benchmarks/cli_parse.hpp"
#include "runtime/blas_kernels.hpp"

namespace {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using json = nlohmann::json;
using namespace troupe;
using namespace troupe::bench;
using namespace troupe::serving;

double seconds_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// -- raw: the model in process ----------------------------------------------------

struct raw_options {
  std::string backend = "xgboost";
  std::string path;
  std::vector<size_t> batches{1};
  double seconds = 3;
  uint64_t input_length = 0;  ///< 0: what the model takes (1 for noop)
};

caf::expected<json> run_raw(const raw_options& o) {
  model_spec spec;
  spec.name = "raw";
  spec.backend = o.backend;
  spec.path = o.path;
  auto backend = open_backend(spec);
  if (!backend)
    return backend.error();
  auto need = (*backend)->input();
  auto length = o.input_length != 0 ? o.input_length : need.length != 0 ? need.length : 1;
  std::fprintf(stderr, "raw: %s, %llu values per input, 1 thread\n",
               (*backend)->describe().c_str(), static_cast<unsigned long long>(length));
  std::mt19937_64 gen{42};
  std::uniform_real_distribution<double> uniform{0.0, 1.0};
  json runs = json::array();
  for (auto batch_size : o.batches) {
    query_inputs batch(batch_size);
    for (auto& x : batch) {
      x.kind = input_kind::doubles;
      for (uint64_t i = 0; i < length; ++i)
        x.numbers.push_back(uniform(gen));
    }
    // Warm up, then predict back to back for o.seconds.
    for (int i = 0; i < 3; ++i)
      if (auto out = (*backend)->predict(batch); !out)
        return out.error();
    std::vector<double> call_us;
    auto t0 = clock_type::now();
    auto deadline = t0 + std::chrono::duration_cast<clock_type::duration>(
                           std::chrono::duration<double>(o.seconds));
    auto now = t0;
    while (now < deadline) {
      auto out = (*backend)->predict(batch);
      auto after = clock_type::now();
      if (!out)
        return out.error();
      call_us.push_back(std::chrono::duration<double, std::micro>(after - now).count());
      now = after;
    }
    auto elapsed = seconds_between(t0, now);
    std::sort(call_us.begin(), call_us.end());
    json r;
    r["batch"] = batch_size;
    r["calls"] = call_us.size();
    r["rows_per_s"] = static_cast<double>(call_us.size() * batch_size) / elapsed;
    r["call_p50_us"] = call_us[call_us.size() / 2];
    r["call_p99_us"] = call_us[std::min(call_us.size() - 1, call_us.size() * 99 / 100)];
    std::fprintf(stderr, "raw batch %zu: %.0f rows/s, call p50 %.1f us, p99 %.1f us\n",
                 batch_size, r["rows_per_s"].get<double>(), r["call_p50_us"].get<double>(),
                 r["call_p99_us"].get<double>());
    runs.push_back(r);
  }
  json all;
  all["mode"] = "raw";
  all["backend"] = o.backend;
  all["path"] = o.path;
  all["input_length"] = length;
  all["runs"] = runs;
  return all;
}

// -- echo-server: the load generator's ceiling -------------------------------------

caf::expected<json> run_echo_server(load_options o, unsigned server_threads) {
  http_server_options so;
  so.threads = server_threads;
  auto server = http_server::start(so, [](http_request, http_responder respond) {
    respond(http_response{200, "application/json",
                          R"({"query_id":0,"output":"0","default":false})"});
  });
  if (!server)
    return server.error();
  o.port = (*server)->port();
  o.path = "/echo/predict";
  std::fprintf(stderr, "echo-server: http_server with %u I/O thread(s) on port %u\n",
               server_threads, o.port);
  auto r = run_load(o);
  (*server)->stop();
  r["mode"] = o.rate > 0 ? "echo-server-open" : "echo-server";
  r["server_threads"] = server_threads;
  return r;
}

void add_load_options(CLI::App* cmd, load_options& o, bool with_rate) {
  cmd->add_option("--connections,-c", o.connections, "keep-alive connections")
    ->capture_default_str();
  cmd->add_option("--threads", o.threads, "load threads (each its own event loop)")
    ->capture_default_str();
  cmd->add_option("--seconds", o.seconds, "measured seconds")->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "seconds of load before measuring")
    ->capture_default_str();
  cmd->add_option("--drain", o.drain, "seconds to wait for queries in flight at the end")
    ->capture_default_str();
  cmd->add_option("--input-length", o.input_length, "numbers per query input")
    ->capture_default_str();
  cmd->add_flag("--same-input", o.same_input,
                "send the same input every time (prediction cache hits)");
  cmd->add_option("--rows-per-request", o.rows,
                  ">1: send {\"input_batch\": [...]} of this many rows per request")
    ->capture_default_str();
  cmd->add_option("--slo-us", o.slo_us, "latency objective for SLO attainment")
    ->capture_default_str();
  cmd->add_option("--seed", o.seed, "seed of inputs and arrivals; 0: a fresh one")
    ->capture_default_str();
  if (with_rate)
    cmd->add_option("--rate", o.rate, "offered load, queries/s (Poisson arrivals)")->required();
  cmd->add_option("--pacing-us", o.pacing_us,
                  "open loop: the generator's timer wakes at most once per this many "
                  "microseconds and sends every arrival then due (each query's latency still "
                  "counts from its own scheduled time); 0: a wake-up per arrival")
    ->check(CLI::Range(0u, 10'000u))
    ->capture_default_str();
}

} // namespace

int main(int argc, char** argv) {
  // The raw baselines run the same BLAS kernels as `troupe serve`
  // (runtime/blas_kernels.hpp).
  troupe::reexec_with_better_openblas_kernels(argv);
  CLI::App app{"Serving load generator and baselines; one JSON object on the last line",
               "serving_bench"};
  app.require_subcommand(1);
  raw_options raw;
  auto* raw_cmd = app.add_subcommand("raw", "a model's own throughput, in process, 1 thread");
  raw_cmd->add_option("--backend", raw.backend, "noop, xgboost, torchscript")
    ->capture_default_str();
  raw_cmd->add_option("--path", raw.path, "model file");
  raw_cmd->add_option("--batch", raw.batches, "batch size(s), e.g. --batch 1 32 512")
    ->capture_default_str();
  raw_cmd->add_option("--seconds", raw.seconds, "seconds per batch size")->capture_default_str();
  raw_cmd->add_option("--input-length", raw.input_length,
                      "values per input; 0: what the model takes")
    ->capture_default_str();
  load_options closed, open, echo;
  std::string closed_url, open_url;
  auto* closed_cmd = app.add_subcommand("closed", "closed loop against a predict URL");
  closed_cmd->add_option("--url", closed_url, "http://HOST:PORT/APP/predict")->required();
  add_load_options(closed_cmd, closed, false);
  auto* open_cmd = app.add_subcommand("open", "open-loop Poisson arrivals against a predict URL");
  open_cmd->add_option("--url", open_url, "http://HOST:PORT/APP/predict")->required();
  add_load_options(open_cmd, open, true);
  unsigned server_threads = 1;
  auto* echo_cmd =
    app.add_subcommand("echo-server", "load against an in-process fixed-answer server");
  add_load_options(echo_cmd, echo, false);
  echo_cmd->add_option("--server-threads", server_threads, "the server's I/O threads")
    ->capture_default_str();
  echo_cmd->add_option("--rate", echo.rate, "open loop at this rate instead (queries/s)");
  TROUPE_BENCH_PARSE(app, argc, argv);
  caf::expected<json> result{json{}};
  if (raw_cmd->parsed()) {
    if (raw.backend != "noop" && raw.path.empty()) {
      std::cerr << "serving_bench raw: --backend " << raw.backend << " needs --path FILE\n";
      return 2;
    }
    result = run_raw(raw);
  } else if (echo_cmd->parsed()) {
    result = run_echo_server(echo, server_threads);
  } else {
    auto& o = closed_cmd->parsed() ? closed : open;
    const auto& url = closed_cmd->parsed() ? closed_url : open_url;
    if (!parse_url(url, o)) {
      std::cerr << "serving_bench: --url '" << url << "' is not http://HOST:PORT/PATH\n";
      return 2;
    }
    std::fprintf(stderr, "%s loop against %s: %u connections, %u thread(s), %.1f s\n",
                 closed_cmd->parsed() ? "closed" : "open", url.c_str(), o.connections,
                 o.threads, o.seconds);
    result = run_load(o);
    (*result)["url"] = url;
  }
  if (!result) {
    std::cerr << "serving_bench: " << describe(result.error()) << '\n';
    return 1;
  }
  if ((*result)["mode"] != "raw")
    print_load(*result);
  std::cout << result->dump() << std::endl;
  return 0;
}
