// troupe-measure: the measurement worker of the tuner. A tuner (measurer,
// compiler/tuning/measurer.hpp) starts it and sends it candidates, one JSON
// request a line on stdin; it builds each, JIT-compiles it, times it on
// seeded random inputs and checks its output against a plain C++
// reference, answering one JSON line on stdout (the protocol is in
// compiler/tuning/measure_protocol.hpp). A candidate that crashes or hangs
// takes this process down with it, not the tuner.
//
// Timing: warm-up runs for at least min_repeat_ms (at least one), then
// `repeats` timed runs, each after writing a 64 MiB buffer (larger than the
// last-level cache) outside the timed region; without the flush, each
// repeat is as many back-to-back runs as last min_repeat_ms. Reported: the
// median repeat, and the mean of the repeats without the fastest and
// slowest (with 4 or more).
#include "compiler/codegen/jit.hpp"
#include "compiler/codegen/thread_pool.hpp"
#include "compiler/ir/compile_error.hpp"
#include "compiler/tuning/measure_protocol.hpp"
#include "compiler/tuning/search_space.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <thread>

#include <unistd.h>

using namespace troupe::compiler;
using json = nlohmann::json;

namespace {

std::string device_name() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  std::string model = "unknown cpu";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos)
        model = line.substr(line.find_first_not_of(' ', colon + 1));
      break;
    }
  return std::string(host) + "/" + model;
}

std::vector<std::vector<float>> random_inputs(const tuning_task& task, uint64_t seed) {
  auto sizes = parameter_sizes(task);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<std::vector<float>> inputs;
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {
    inputs.emplace_back(static_cast<size_t>(sizes[i]));
    for (auto& v : inputs.back())
      v = dist(rng);
  }
  return inputs;
}

/// The task's result computed plainly (in double), from build_candidate's
/// parameter layouts (a convolution without its ReLU).
std::vector<double> plain_output(const tuning_task& task,
                                 const std::vector<std::vector<float>>& in) {
  auto& s = task.shape;
  if (task.op == "matmul") {
    int64_t m = s[0], n = s[1], k = s[2];
    std::vector<double> c(static_cast<size_t>(m * n), 0.0);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t p = 0; p < k; ++p) {
        double a = in[0][i * k + p];
        const float* b = &in[1][p * n];
        double* row = &c[i * n];
        for (int64_t j = 0; j < n; ++j)
          row[j] += a * b[j];
      }
    return c;
  }
  if (task.op == "depthwise_conv2d") {
    // data [1, C/16, H, W, 16], weight [C/16, R, R, 16], out [1, C/16, OH, OW, 16].
    int64_t c = s[0], h = s[1], w = s[2], r = s[3], stride = s[4], pad = s[5];
    int64_t oh = (h + 2 * pad - r) / stride + 1, ow = (w + 2 * pad - r) / stride + 1;
    std::vector<double> out(static_cast<size_t>(c * oh * ow), 0.0);
    for (int64_t b = 0; b < c / 16; ++b)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t x = 0; x < ow; ++x)
          for (int64_t ry = 0; ry < r; ++ry)
            for (int64_t rx = 0; rx < r; ++rx) {
              int64_t iy = y * stride + ry - pad, ix = x * stride + rx - pad;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                continue;
              for (int64_t l = 0; l < 16; ++l)
                out[static_cast<size_t>(((b * oh + y) * ow + x) * 16 + l)] +=
                  static_cast<double>(in[0][static_cast<size_t>(((b * h + iy) * w + ix) * 16 + l)])
                  * in[1][static_cast<size_t>(((b * r + ry) * r + rx) * 16 + l)];
            }
    return out;
  }
  // conv2d NCHWc: data [1, C/cb, H, W, cb], weight [K/16, C/cb, R, R, cb, 16],
  // out [1, K/16, OH, OW, 16].
  int64_t c = s[0], h = s[1], w = s[2], k = s[3], r = s[4], stride = s[5], pad = s[6];
  int64_t cb = 1;
  for (int64_t d = std::min<int64_t>(16, c); d > 1; --d)
    if (c % d == 0) {
      cb = d;
      break;
    }
  int64_t co = c / cb, ko = k / 16;
  int64_t oh = (h + 2 * pad - r) / stride + 1, ow = (w + 2 * pad - r) / stride + 1;
  std::vector<double> out(static_cast<size_t>(ko * oh * ow * 16), 0.0);
  for (int64_t o = 0; o < ko; ++o)
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t x = 0; x < ow; ++x) {
        double* acc = &out[((o * oh + y) * ow + x) * 16];
        for (int64_t ci = 0; ci < co; ++ci)
          for (int64_t ry = 0; ry < r; ++ry) {
            int64_t iy = y * stride + ry - pad;
            if (iy < 0 || iy >= h)
              continue;
            for (int64_t rx = 0; rx < r; ++rx) {
              int64_t ix = x * stride + rx - pad;
              if (ix < 0 || ix >= w)
                continue;
              for (int64_t cc = 0; cc < cb; ++cc) {
                double d = in[0][((ci * h + iy) * w + ix) * cb + cc];
                const float* wt = &in[1][((((o * co + ci) * r + ry) * r + rx) * cb + cc) * 16];
                for (int64_t l = 0; l < 16; ++l)
                  acc[l] += d * wt[l];
              }
            }
          }
      }
  return out;
}

/// What the candidate must compute: the plain result, and a convolution's
/// ReLU, as the candidates end with it.
std::vector<double> reference_output(const tuning_task& task,
                                     const std::vector<std::vector<float>>& in) {
  auto out = plain_output(task, in);
  if (task.op != "matmul")
    for (auto& v : out)
      v = std::max(v, 0.0);
  return out;
}

/// max |out - ref| / max(1, max |ref|); infinity for a NaN or infinite output.
double max_error(const std::vector<float>& out, const std::vector<double>& ref) {
  double scale = 1.0, worst = 0.0;
  for (double v : ref)
    scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i]))
      return std::numeric_limits<double>::infinity();
    worst = std::max(worst, std::abs(out[i] - ref[i]));
  }
  return worst / scale;
}

volatile char flush_sink;  // keeps the flush's writes from being optimized away

/// Evicts the caches: writes a buffer larger than any last-level cache.
void flush_caches() {
  static std::vector<char> buffer(64u << 20);
  for (size_t i = 0; i < buffer.size(); i += 64)
    buffer[i] = static_cast<char>(buffer[i] + 1);
  flush_sink = buffer[buffer.size() / 2];
}

constexpr double tolerance = 1e-3;

struct worker {
  std::string device = device_name();
  // Reference outputs by task name and seed: computed once per worker.
  std::map<std::pair<std::string, uint64_t>, std::vector<double>> references;
  int threads = -1;

  void emit(const json& j) { std::cout << j.dump() << std::endl; }

  json failure(const std::string& error) {
    return {{"ok", false}, {"error", error}, {"device", device}};
  }

  json measure(const measure_request& req) {
    auto start = std::chrono::steady_clock::now();
    lowered_func func;
    try {
      func = build_candidate(req.task, req.config);
    } catch (const std::exception& e) {
      return failure(std::string("invalid config: ") + e.what());
    }
    jit_module jit;
    compiled_func fn = nullptr;
    try {
      fn = jit.compile(func);
    } catch (const std::exception& e) {
      return failure(std::string("compile error: ") + e.what());
    }
    auto inputs = random_inputs(req.task, req.seed);
    const std::vector<double>* ref = nullptr;
    if (req.check) {
      auto key = std::make_pair(req.task.name(), req.seed);
      auto found = references.find(key);
      if (found == references.end())
        found = references.emplace(key, reference_output(req.task, inputs)).first;
      ref = &found->second;
    }
    emit({{"stage", "compiled"},
          {"compile_seconds",
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()}});

    if (req.fault == "crash")
      std::abort();
    if (req.fault == "hang")
      for (;;)
        std::this_thread::sleep_for(std::chrono::hours(1));

    if (req.threads != threads) {
      set_compiler_threads(req.threads);
      threads = req.threads;
    }
    auto sizes = parameter_sizes(req.task);
    std::vector<float> output(static_cast<size_t>(sizes.back()),
                              std::numeric_limits<float>::quiet_NaN());
    std::vector<void*> args;
    for (auto& in : inputs)
      args.push_back(in.data());
    args.push_back(output.data());

    // Warm-up: at least one run and min_repeat_ms of running, so that a
    // core that idled while the tuner retrained is up to speed.
    using clock = std::chrono::steady_clock;
    auto min_repeat = std::chrono::duration<double>(req.min_repeat_ms / 1000.0);
    int warm_runs = 0;
    auto warm_start = clock::now();
    do {
      fn(args.data());
      ++warm_runs;
    } while (clock::now() - warm_start < min_repeat);
    double one_run = std::chrono::duration<double>(clock::now() - warm_start).count() / warm_runs;
    // Without a flush a repeat is as many back-to-back runs as last
    // min_repeat_ms (caches stay warm between them anyway).
    int runs_per_repeat = 1;
    if (!req.flush && one_run > 0)
      runs_per_repeat = std::max(1, static_cast<int>(std::ceil(min_repeat.count() / one_run)));
    std::vector<double> times;
    for (int i = 0; i < req.repeats; ++i) {
      if (req.flush)
        flush_caches();
      auto t0 = clock::now();
      for (int r = 0; r < runs_per_repeat; ++r)
        fn(args.data());
      auto t1 = clock::now();
      times.push_back(std::chrono::duration<double>(t1 - t0).count() / runs_per_repeat);
    }
    // The median, not the minimum: this VM has bursts ~30 % faster than
    // its usual state, and the minimum ranked whichever config a burst
    // happened to meet (a 3x3 conv measured 1.5 ms in 1 repeat of 5, 2.3
    // in the others, while the config the median ranked first was the
    // fastest in a model). TVM ranks by the mean of its repeats.
    std::sort(times.begin(), times.end());
    double median = times[times.size() / 2];
    if (times.size() % 2 == 0)
      median = (times[times.size() / 2 - 1] + median) / 2;
    if (times.size() >= 4)
      times = std::vector<double>(times.begin() + 1, times.end() - 1);
    double mean = 0;
    for (double t : times)
      mean += t / static_cast<double>(times.size());

    if (req.fault == "wrong")
      output[output.size() / 2] += 1000.0f;
    double error = ref ? max_error(output, *ref) : 0.0;
    if (ref && !(error <= tolerance)) {
      auto j = failure("wrong result: max relative error " + std::to_string(error)
                       + " exceeds " + std::to_string(tolerance));
      j["max_error"] = std::isfinite(error) ? error : 1e300;
      return j;
    }
    return {{"ok", true},
            {"seconds", median},
            {"mean_seconds", mean},
            {"gflops", req.task.flops() / median * 1e-9},
            {"max_error", error},
            {"device", device}};
  }
};

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"troupe-measure: builds, times and checks tuning candidates; one JSON request a "
               "line on stdin, one JSON reply a line on stdout (compiler/tuning/"
               "measure_protocol.hpp).\nTest hook: a request field \"fault\": \"crash\", \"hang\" "
               "or \"wrong\" makes the worker abort() or sleep forever after compiling, or spoil "
               "one output value; it exists only to test that tuners survive and reject such "
               "candidates.",
               "troupe-measure"};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Bad usage exits 2, as every Troupe program does (CLI11's own codes
    // start at 100).
    return app.exit(e) == 0 ? 0 : 2;
  }

  std::ios::sync_with_stdio(false);
  worker w;
  w.emit({{"hello", true}, {"device", w.device}});
  for (std::string line; std::getline(std::cin, line);) {
    if (line.empty())
      continue;
    json reply;
    try {
      reply = w.measure(request_from_json(line));
    } catch (const std::exception& e) {
      reply = w.failure(e.what());
    }
    w.emit(reply);
  }
  return 0;
}
