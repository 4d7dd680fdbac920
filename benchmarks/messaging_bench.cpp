// messaging_bench: round-trip latency (window 1) and pipelined throughput of
// Troupe's echo service against a bare CAF echo actor, within one node and
// across two processes on loopback. Every number is measured with the same
// client (run_echo_load), baseline and Troupe interleaved in the same run, and
// the medians over --repeats runs are reported as a table and, on the last
// line, as one JSON object (see /work/shared/benchmarks.md).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <fmt/core.h>

#include "actors/common/echo_actor.hpp"
#include "actors/common/echo_load.hpp"
#include "messages/echo_protocol.hpp"
#include "messages/errors.hpp"
#include "runtime/child_process.hpp"
#include "runtime/cluster_client.hpp"
#include "runtime/local_cluster.hpp"
#include "runtime/node.hpp"
#include "runtime/node_metrics.hpp"
#include "runtime/ready_file.hpp"
#include "benchmarks/cli_parse.hpp"

namespace {

using namespace std::chrono_literals;
using namespace troupe;

struct bench_options {
  size_t round_trips = 2000;
  size_t pipelined = 20000;
  size_t window = 64;
  size_t repeats = 5;
  std::string troupe_binary;
  std::string serve_bare_echo;  // hidden: run as the remote baseline's server
};

// Generous limits: a request that takes 5 s or a run that takes 2 min means
// something is broken, not slow, and should fail the benchmark.
constexpr caf::timespan request_timeout = 5s;
constexpr caf::timespan run_timeout = 120s;
// Round trips thrown away per target before measuring: connections, caches
// and the scheduler's threads warm up on them.
constexpr size_t warmup_round_trips = 500;

// The baseline: the least CAF needs to answer an echo (untyped, stateless).
caf::behavior bare_echo() {
  return {[](echo_atom, uint64_t x) { return x; }};
}

// One run of both load shapes against one target.
struct sample {
  double median_us = 0;
  double p99_us = 0;
  double per_second = 0;
};

caf::expected<sample> measure(caf::actor_system& sys, const caf::actor& target,
                              const bench_options& o) {
  auto latency = run_echo_load(sys, target, o.round_trips, 1, request_timeout, run_timeout);
  if (!latency)
    return latency.error();
  auto pipelined =
    run_echo_load(sys, target, o.pipelined, o.window, request_timeout, run_timeout);
  if (!pipelined)
    return pipelined.error();
  // A lost or wrong answer makes the timing meaningless, not just noisy.
  if (latency->errors + pipelined->errors > 0)
    return make_error(errc::unavailable, std::to_string(latency->errors + pipelined->errors)
                                           + " round trips failed");
  return sample{latency->latency_quantile_us(0.5), latency->latency_quantile_us(0.99),
                pipelined->per_second()};
}

caf::error warm_up(caf::actor_system& sys, const caf::actor& target, size_t window) {
  auto run = run_echo_load(sys, target, warmup_round_trips, window, request_timeout,
                           run_timeout);
  if (!run)
    return run.error();
  if (run->errors > 0)
    return make_error(errc::unavailable, "round trips failed while warming up");
  return caf::none;
}

double median(std::vector<double> xs) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

// The medians of one setting (local or remote), baseline and Troupe.
struct setting_result {
  std::vector<sample> baseline;
  std::vector<sample> troupe;

  static sample medians(const std::vector<sample>& runs) {
    std::vector<double> med, p99, tput;
    for (auto& s : runs) {
      med.push_back(s.median_us);
      p99.push_back(s.p99_us);
      tput.push_back(s.per_second);
    }
    return {median(med), median(p99), median(tput)};
  }
};

double ratio(double troupe_value, double baseline_value) {
  return baseline_value > 0 ? troupe_value / baseline_value : 0;
}

// Interleaves baseline and Troupe (A B A B ...) so that drift in the machine's
// load hits both alike; prints each run as it finishes.
caf::expected<setting_result> run_setting(caf::actor_system& sys, const std::string& label,
                                          const caf::actor& baseline,
                                          const caf::actor& troupe_target,
                                          const bench_options& o) {
  for (auto* target : {&baseline, &troupe_target})
    if (auto err = warm_up(sys, *target, o.window))
      return err;
  setting_result result;
  for (size_t r = 0; r < o.repeats; ++r) {
    for (bool is_troupe : {false, true}) {
      auto s = measure(sys, is_troupe ? troupe_target : baseline, o);
      if (!s)
        return s.error();
      std::cout << fmt::format("  {} run {}/{} {:8}: median {:7.1f} us, p99 {:7.1f} us, "
                               "{:9.0f} round trips/s\n",
                               label, r + 1, o.repeats, is_troupe ? "troupe" : "baseline",
                               s->median_us, s->p99_us, s->per_second)
                << std::flush;
      (is_troupe ? result.troupe : result.baseline).push_back(*s);
    }
  }
  return result;
}

// -- the remote baseline's server (a child process) ------------------------------

// Publishes the bare echo on a free loopback port, reports the port through
// `port_file` (a ready file, written atomically), and serves until killed or
// until its parent is gone (so a crashed benchmark leaves no orphan behind).
int serve_bare_echo(const std::string& port_file) {
  auto parent = getppid();
  // Same configuration as a Troupe node: same type registrations, same
  // heartbeats, so the baseline differs only in the actor and its handle.
  auto cfg = make_actor_system_config(node_config{});
  caf::actor_system sys{*cfg};
  auto echo = sys.spawn(bare_echo);
  auto port = sys.middleman().publish(echo, 0, "127.0.0.1");
  if (!port) {
    std::cerr << "cannot publish the bare echo: " << describe(port.error()) << "\n";
    return EXIT_FAILURE;
  }
  ready_info info{"bare-echo", "127.0.0.1", *port, -1, static_cast<int32_t>(getpid())};
  if (auto err = write_ready_file(port_file, info)) {
    std::cerr << describe(err) << "\n";
    return EXIT_FAILURE;
  }
  while (getppid() == parent)
    std::this_thread::sleep_for(200ms);
  // The middleman holds the published actor; without an exit the system's
  // destructor would wait for it forever.
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  return EXIT_SUCCESS;
}

caf::expected<ready_info> wait_for_port_file(child_process& child, const std::string& path) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    if (auto info = read_ready_file(path))
      return info;
    if (!child.running())
      return make_error(errc::unavailable, "the bare echo server exited before serving");
    if (std::chrono::steady_clock::now() >= deadline)
      return make_error(errc::timeout, "the bare echo server did not serve within 20 s");
    std::this_thread::sleep_for(20ms);
  }
}

// -- the two settings --------------------------------------------------------------

caf::expected<setting_result> run_local(caf::actor_system& sys, const bench_options& o) {
  // With metrics, as a node runs it: counting is part of Troupe's cost.
  auto metrics = node_metrics::make("bench", "127.0.0.1", -1);
  if (!metrics)
    return metrics.error();
  auto troupe_echo = caf::actor_cast<caf::actor>(spawn_echo(sys, "bench", *metrics));
  auto baseline = sys.spawn(bare_echo);
  auto result = run_setting(sys, "local ", baseline, troupe_echo, o);
  caf::anon_send_exit(troupe_echo, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(baseline, caf::exit_reason::user_shutdown);
  return result;
}

caf::expected<setting_result> run_remote(caf::actor_system& sys, const bench_options& o,
                                         const std::string& dir) {
  auto child = child_process::spawn(
    {self_executable(), "--serve-bare-echo", dir + "/bare-echo.ready"}, dir + "/bare-echo.log");
  if (!child)
    return child.error();
  auto bare_info = wait_for_port_file(*child, dir + "/bare-echo.ready");
  if (!bare_info)
    return bare_info.error();
  auto baseline = sys.middleman().remote_actor("127.0.0.1", bare_info->port);
  if (!baseline)
    return baseline.error();

  local_cluster cluster{o.troupe_binary, dir};
  if (auto info = cluster.start_node("bench", {"--service", "echo"}); !info)
    return info.error();
  auto client = cluster_client::connect(sys, cluster.seed_address(), 5s);
  if (!client)
    return client.error();
  // The service registers itself as the node starts; give it a moment.
  caf::expected<echo_actor> echo = make_error(errc::not_found, "'echo' was never found");
  for (auto start = std::chrono::steady_clock::now();
       std::chrono::steady_clock::now() - start < 5s; std::this_thread::sleep_for(20ms))
    if ((echo = client->lookup_as<echo_actor>("echo")))
      break;
  if (!echo)
    return echo.error();
  return run_setting(sys, "remote", *baseline, caf::actor_cast<caf::actor>(*echo), o);
  // cluster and child stop their processes here.
}

// -- output ---------------------------------------------------------------------------

void print_table(const setting_result& local, const setting_result& remote) {
  std::cout << fmt::format("\n{:8} {:22} {:>12} {:>12} {:>16}\n", "setting", "metric",
                           "baseline", "troupe", "troupe/baseline");
  for (auto [name, r] : {std::pair{"local", &local}, std::pair{"remote", &remote}}) {
    auto b = setting_result::medians(r->baseline);
    auto t = setting_result::medians(r->troupe);
    std::cout << fmt::format("{:8} {:22} {:12.1f} {:12.1f} {:16.2f}\n", name,
                             "latency median (us)", b.median_us, t.median_us,
                             ratio(t.median_us, b.median_us))
              << fmt::format("{:8} {:22} {:12.1f} {:12.1f} {:16.2f}\n", name,
                             "latency p99 (us)", b.p99_us, t.p99_us, ratio(t.p99_us, b.p99_us))
              << fmt::format("{:8} {:22} {:12.0f} {:12.0f} {:16.2f}\n", name,
                             "pipelined (rt/s)", b.per_second, t.per_second,
                             ratio(t.per_second, b.per_second));
  }
  std::cout << "(latency: ratio > 1 means Troupe is slower; throughput: ratio < 1 means "
               "Troupe is slower)\n\n";
}

std::string sample_json(const sample& s) {
  return fmt::format(R"({{"latency_median_us":{:.2f},"latency_p99_us":{:.2f},)"
                     R"("pipelined_per_s":{:.0f}}})",
                     s.median_us, s.p99_us, s.per_second);
}

std::string setting_json(const setting_result& r) {
  auto b = setting_result::medians(r.baseline);
  auto t = setting_result::medians(r.troupe);
  return fmt::format(R"({{"baseline":{},"troupe":{},"ratio":{{"latency_median":{:.3f},)"
                     R"("latency_p99":{:.3f},"pipelined":{:.3f}}}}})",
                     sample_json(b), sample_json(t), ratio(t.median_us, b.median_us),
                     ratio(t.p99_us, b.p99_us), ratio(t.per_second, b.per_second));
}

int fail(const std::string& step, const caf::error& err) {
  std::cerr << "messaging_bench: " << step << " failed: " << describe(err) << "\n";
  return EXIT_FAILURE;
}

int run_bench(const bench_options& o) {
  if (access(o.troupe_binary.c_str(), X_OK) != 0) {
    std::cerr << "messaging_bench: no troupe executable at '" << o.troupe_binary
              << "' (build target troupe, or pass --troupe)\n";
    return EXIT_FAILURE;
  }
  auto cfg = make_actor_system_config(node_config{});
  caf::actor_system sys{*cfg};
  std::cout << fmt::format("messaging_bench: {} round trips at window 1, {} at window {}, "
                           "{} repeats (baseline, troupe interleaved)\n",
                           o.round_trips, o.pipelined, o.window, o.repeats);
  // Local first, while no other process competes for the two cores.
  auto local = run_local(sys, o);
  if (!local)
    return fail("the local setting", local.error());
  // The remote processes' logs and port files; kept if the setting fails.
  char tmpl[] = "/tmp/troupe-bench-XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::cerr << "messaging_bench: cannot create a temporary directory\n";
    return EXIT_FAILURE;
  }
  std::string dir = tmpl;
  auto remote = run_remote(sys, o, dir);
  if (!remote) {
    std::cerr << "(logs kept in " << dir << ")\n";
    return fail("the remote setting", remote.error());
  }
  print_table(*local, *remote);
  std::cout << fmt::format(R"({{"bench":"messaging","round_trips":{},"pipelined":{},)"
                           R"("window":{},"repeats":{},"local":{},"remote":{}}})",
                           o.round_trips, o.pipelined, o.window, o.repeats,
                           setting_json(*local), setting_json(*remote))
            << std::endl;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return EXIT_SUCCESS;
}

} // namespace

int main(int argc, char** argv) {
  bench_options o;
  // Default: the troupe executable of the same build tree (apps/troupe).
  auto here = std::filesystem::path{self_executable()}.parent_path();
  o.troupe_binary = std::filesystem::weakly_canonical(here / ".." / "apps" / "troupe").string();
  CLI::App app{"Messaging latency and throughput: Troupe's echo vs. bare CAF"};
  app.add_option("--round-trips", o.round_trips, "sequential round trips per run (window 1)")
    ->check(CLI::Range(1, 10000000));
  app.add_option("--pipelined", o.pipelined, "pipelined round trips per run")
    ->check(CLI::Range(1, 100000000));
  app.add_option("--window", o.window, "requests in flight when pipelined")
    ->check(CLI::Range(1, 100000));
  app.add_option("--repeats", o.repeats, "interleaved runs per target; medians are reported")
    ->check(CLI::Range(1, 1000));
  app.add_option("--troupe", o.troupe_binary, "troupe executable that runs the remote node");
  // Hidden (empty group): how the benchmark starts its own baseline server.
  app.add_option("--serve-bare-echo", o.serve_bare_echo)->group("");
  TROUPE_BENCH_PARSE(app, argc, argv);
  if (!o.serve_bare_echo.empty())
    return serve_bare_echo(o.serve_bare_echo);
  return run_bench(o);
}
