// query_json_bench: the frontend's cost to decode a predict request body,
// per row, for the body serving_bench sends in scenario (b''): 512 rows of
// 28 numbers, the first "0.<15 digits>" (unique per row, so a cache never
// hits), the rest "0.dddddd". Rendering the batch's answers is timed too.
//
// Three decoders of the same body, rounds interleaved:
//   - troupe: parse_predict_request, what the frontend runs;
//   - nlohmann: nlohmann::json::parse of the body into a DOM (the general
//     path, and what most C++ services would use);
//   - from_chars: a scan that only finds each number and converts it with
//     std::from_chars, no checks and no objects (a floor for a decoder
//     built on the standard library).
//
//   query_json_bench [--rows 512] [--length 28] [--rounds 5] [--seconds 0.5]
//
// A table goes to stderr, one JSON object to the last stdout line.
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "actors/serving/query_json.hpp"
#include "benchmarks/interleaved_timing.hpp"
#include "benchmarks/cli_parse.hpp"

namespace {

using namespace troupe;

struct options {
  unsigned rows = 512;
  unsigned length = 28;
  int rounds = 5;
  double seconds = 0.5;
};

/// The body http_load.cpp renders for --rows-per-request `rows`.
std::string make_body(const options& o) {
  std::mt19937_64 gen{7};
  std::uniform_real_distribution<double> uniform{0.0, 1.0};
  std::string body = "{\"input_batch\":[";
  char num[40];
  for (unsigned r = 0; r < o.rows; ++r) {
    std::snprintf(num, sizeof(num), "%s[0.%015llu", r == 0 ? "" : ",",
                  static_cast<unsigned long long>(1000003ull * (r + 1)));
    body += num;
    for (unsigned i = 1; i < o.length; ++i) {
      std::snprintf(num, sizeof(num), ",%.6f", uniform(gen));
      body += num;
    }
    body += "]";
  }
  return body + "]}";
}

/// Sums every number of `body` found by from_chars (the floor).
double from_chars_scan(const std::string& body) {
  double sum = 0;
  const char* p = body.data();
  const char* end = p + body.size();
  while (p < end) {
    if ((*p >= '0' && *p <= '9') || *p == '-') {
      double x = 0;
      auto [next, ec] = std::from_chars(p, end, x);
      if (ec != std::errc{})
        throw std::runtime_error("from_chars failed");
      sum += x;
      p = next;
    } else {
      ++p;
    }
  }
  return sum;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"query_json_bench: decoding a predict request body, per row (troupe, "
               "nlohmann, from_chars)"};
  app.add_option("--rows", o.rows, "rows per request body")->capture_default_str();
  app.add_option("--length", o.length, "numbers per row")->capture_default_str();
  app.add_option("--rounds", o.rounds, "interleaved timing rounds (best counts)")
    ->capture_default_str();
  app.add_option("--seconds", o.seconds, "minimum seconds per round and decoder")
    ->capture_default_str();
  TROUPE_BENCH_PARSE(app, argc, argv);
  if (o.rows == 0 || o.length == 0) {
    std::cerr << "query_json_bench: --rows and --length must be positive\n";
    return 2;
  }

  auto body = make_body(o);
  // The decoders must agree before they are timed.
  auto decoded = serving::parse_predict_request(body, input_kind::doubles, o.length);
  if (!decoded || decoded->inputs.size() != o.rows) {
    std::cerr << "query_json_bench: troupe's decoder refused the body\n";
    return 1;
  }
  double troupe_sum = 0;
  for (auto& row : decoded->inputs)
    for (auto x : row.numbers)
      troupe_sum += x;
  if (troupe_sum != from_chars_scan(body)) {
    std::cerr << "query_json_bench: troupe's numbers differ from from_chars'\n";
    return 1;
  }

  prediction answer;
  answer.output = "7";
  answer.models_used = {"bench_xgb:1"};
  predictions answers(o.rows, answer);
  for (size_t i = 0; i < answers.size(); ++i)
    answers[i].query_id = 1000000 + i;

  volatile double sink = 0;
  std::vector<std::function<void()>> runs{
    [&] {
      auto r = serving::parse_predict_request(body, input_kind::doubles, o.length);
      sink = sink + static_cast<double>(r->inputs.size());
    },
    [&] {
      auto j = nlohmann::json::parse(body);
      sink = sink + static_cast<double>(j["input_batch"].size());
    },
    [&] { sink = sink + from_chars_scan(body); },
    [&] { sink = sink + static_cast<double>(serving::render_batch(answers).size()); },
  };
  auto best = bench::interleaved_best_seconds(runs, o.seconds, o.rounds);
  auto per_row = [&](size_t k) { return best[k] * 1e9 / o.rows; };

  fmt::print(stderr, "{} rows of {} numbers, {} bytes\n", o.rows, o.length, body.size());
  fmt::print(stderr, "{:<22} {:>10} {:>12}\n", "decoder", "ns/row", "ns/number");
  const char* names[] = {"troupe", "nlohmann", "from_chars scan"};
  for (size_t k = 0; k < 3; ++k)
    fmt::print(stderr, "{:<22} {:>10.0f} {:>12.1f}\n", names[k], per_row(k),
               per_row(k) / o.length);
  fmt::print(stderr, "{:<22} {:>10.0f}\n", "render_batch", per_row(3));

  nlohmann::json out{{"rows", o.rows},
                     {"length", o.length},
                     {"body_bytes", body.size()},
                     {"troupe_ns_per_row", per_row(0)},
                     {"nlohmann_ns_per_row", per_row(1)},
                     {"from_chars_ns_per_row", per_row(2)},
                     {"render_batch_ns_per_row", per_row(3)},
                     {"nlohmann_over_troupe", best[1] / best[0]},
                     {"from_chars_over_troupe", best[2] / best[0]}};
  std::cout << out.dump() << std::endl;
  return 0;
}
