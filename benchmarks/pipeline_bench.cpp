// pipeline_bench: the serving pipeline without HTTP. Typed C++ client actors
// send single-row predict requests straight to an app actor (the path a C++
// client takes through serving_frontend::app(name): selection, cache,
// batcher, model, and back), closed loop, and the model's raw batched
// throughput is measured in the same process, rounds interleaved.
//
// What it separates: scenario (b) of serving_compare.sh sends each row as
// one HTTP request, so the load generator and the frontend's HTTP/JSON work
// share the two cores with the model. Here the same model and app take the
// same single-row queries with no socket or text in the way, so the figure
// is what the actor pipeline itself (and its adaptive batching) delivers.
//
//   pipeline_bench --model bench_xgb.json [--max-batch 512 1] [--in-flight 2 1]
//                  [--raw-batch 32 1]
//
// Progress and a table go to stderr, one JSON object to the last stdout line.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "actors/serving/model_backend.hpp"
#include "actors/serving/serving_frontend.hpp"
#include "messages/errors.hpp"
#include "runtime/node.hpp"
#include "runtime/state_store.hpp"
#include "benchmarks/cli_parse.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using json = nlohmann::json;
using namespace troupe;
using namespace troupe::serving;

struct options {
  std::string backend = "xgboost";
  std::string model;
  std::vector<uint64_t> max_batches{512, 1};
  std::vector<uint32_t> in_flights{2};
  std::vector<size_t> raw_batches{32, 1};
  int64_t slo_us = 20'000;
  unsigned clients = 4;
  unsigned window = 16;
  double seconds = 3;
  double warmup = 1;
  unsigned rounds = 3;
  uint64_t cache_mb = 64;
  uint32_t scheduler_threads = 0;
};

double percentile(std::vector<double>& xs, double q) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  return xs[std::min(xs.size() - 1, static_cast<size_t>(q * static_cast<double>(xs.size())))];
}

/// Random inputs of the model's length; the load makes each one unique
/// (the first value carries a counter) so that the cache always misses, as
/// in scenario (b).
std::vector<query_input> input_pool(uint64_t length, size_t n) {
  std::mt19937_64 gen{42};
  std::uniform_real_distribution<double> uniform{0.0, 1.0};
  std::vector<query_input> pool(n);
  for (auto& x : pool) {
    x.kind = input_kind::doubles;
    for (uint64_t i = 0; i < length; ++i)
      x.numbers.push_back(uniform(gen));
  }
  return pool;
}

// -- raw: the model called directly ---------------------------------------------

double raw_rows_per_s(model_backend& backend, const std::vector<query_input>& pool,
                      size_t batch_size, double seconds) {
  query_inputs batch(pool.begin(), pool.begin() + static_cast<long>(batch_size));
  for (int i = 0; i < 3; ++i)
    (void) backend.predict(batch);
  size_t calls = 0;
  auto t0 = clock_type::now();
  auto until = t0 + std::chrono::duration_cast<clock_type::duration>(
                      std::chrono::duration<double>(seconds));
  auto now = t0;
  while (now < until) {
    if (!backend.predict(batch))
      return 0;
    ++calls;
    now = clock_type::now();
  }
  return static_cast<double>(calls * batch_size) /
         std::chrono::duration<double>(now - t0).count();
}

// -- the load: client actors, each with `window` requests in flight ---------------

/// What the coordinator and the clients share. Clients record only while
/// `measuring`; after `stopping` they send nothing new and count down.
struct load_control {
  std::atomic<bool> measuring{false};
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> in_flight{0};
};

struct client_record {
  std::vector<double> latency_us;
  uint64_t defaults = 0;
  uint64_t errors = 0;
  std::string first_error;
};

struct client_state {
  app_actor app;
  std::shared_ptr<load_control> control;
  std::shared_ptr<client_record> record;
  const std::vector<query_input>* pool = nullptr;
  uint64_t next = 0;
  uint64_t stride = 1;
  caf::duration timeout;
};

void send_one(caf::stateful_actor<client_state>* self) {
  auto& st = self->state;
  auto input = (*st.pool)[st.next % st.pool->size()];
  input.numbers.front() = static_cast<double>(st.next);  // unique: the cache misses
  st.next += st.stride;
  st.control->in_flight.fetch_add(1);
  auto sent = clock_type::now();
  self->request(st.app, st.timeout, predict_atom::value, std::move(input))
    .then(
      [self, sent](prediction& p) {
        auto& st = self->state;
        if (st.control->measuring.load(std::memory_order_relaxed)) {
          st.record->latency_us.push_back(
            std::chrono::duration<double, std::micro>(clock_type::now() - sent).count());
          st.record->defaults += p.is_default;
        }
        st.control->in_flight.fetch_sub(1);
        if (!st.control->stopping.load())
          send_one(self);
      },
      [self](caf::error& err) {
        auto& st = self->state;
        if (st.record->errors++ == 0)
          st.record->first_error = describe(err);
        st.control->in_flight.fetch_sub(1);
        if (!st.control->stopping.load())
          send_one(self);
      });
}

caf::behavior client(caf::stateful_actor<client_state>* self, app_actor app,
                     std::shared_ptr<load_control> control,
                     std::shared_ptr<client_record> record,
                     const std::vector<query_input>* pool, uint64_t first, uint64_t stride,
                     unsigned window, int64_t slo_us) {
  auto& st = self->state;
  st.app = std::move(app);
  st.control = std::move(control);
  st.record = std::move(record);
  st.pool = pool;
  st.next = first;
  st.stride = stride;
  // Every request is bounded: the app answers by its SLO, this is the
  // margin for a machine that stalls.
  st.timeout = caf::duration{std::chrono::microseconds{slo_us} + 5s};
  for (unsigned i = 0; i < window; ++i)
    send_one(self);
  return {[](caf::ok_atom) {}};
}

struct pipeline_result {
  double rows_per_s = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0;
  double default_ratio = 0;
  uint64_t errors = 0;
  std::string first_error;
  double mean_batch = 0;
};

pipeline_result run_pipeline(caf::actor_system& sys, const app_actor& app,
                             const serving_manager_actor& manager, const std::string& model_id,
                             const std::vector<query_input>& pool, const options& o) {
  auto control = std::make_shared<load_control>();
  std::vector<std::shared_ptr<client_record>> records;
  std::vector<caf::actor> clients;
  for (unsigned c = 0; c < o.clients; ++c) {
    records.push_back(std::make_shared<client_record>());
    clients.push_back(sys.spawn(client, app, control, records.back(), &pool, uint64_t{c},
                                uint64_t{o.clients}, o.window, o.slo_us));
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  control->measuring = true;
  auto t0 = clock_type::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  control->measuring = false;
  auto t1 = clock_type::now();
  control->stopping = true;
  // Drain: every request ends by its timeout at the latest.
  auto drain_until = clock_type::now() + std::chrono::microseconds{o.slo_us} + 6s;
  while (control->in_flight.load() > 0 && clock_type::now() < drain_until)
    std::this_thread::sleep_for(1ms);
  pipeline_result r;
  caf::scoped_actor self{sys};
  self->request(manager, 5s, stats_atom::value)
    .receive(
      [&](batcher_stats_list& stats) {
        for (auto& s : stats)
          if (s.model == model_id)
            r.mean_batch = s.mean_batch_size;
      },
      [&](caf::error&) {});
  for (auto& c : clients)
    self->send_exit(c, caf::exit_reason::user_shutdown);
  std::vector<double> all;
  uint64_t defaults = 0;
  for (auto& rec : records) {
    all.insert(all.end(), rec->latency_us.begin(), rec->latency_us.end());
    defaults += rec->defaults;
    r.errors += rec->errors;
    if (r.first_error.empty())
      r.first_error = rec->first_error;
  }
  r.rows_per_s = static_cast<double>(all.size()) / std::chrono::duration<double>(t1 - t0).count();
  r.default_ratio = all.empty() ? 0 : static_cast<double>(defaults) / static_cast<double>(all.size());
  r.p50_us = percentile(all, 0.50);
  r.p99_us = percentile(all, 0.99);
  r.p999_us = percentile(all, 0.999);
  return r;
}

template <class... Ts>
caf::error check(caf::scoped_actor& self, const serving_manager_actor& manager, Ts... xs) {
  caf::error out;
  self->request(manager, 60s, xs...).receive([](caf::ok_atom) {},
                                             [&](caf::error& err) { out = std::move(err); });
  return out;
}

int run(const options& o) {
  model_spec probe_spec;
  probe_spec.name = "raw";
  probe_spec.backend = o.backend;
  probe_spec.path = o.model;
  auto raw = open_backend(probe_spec);
  if (!raw) {
    std::cerr << "pipeline_bench: " << describe(raw.error()) << "\n";
    return 1;
  }
  auto need = (*raw)->input();
  auto length = need.length != 0 ? need.length : 1;
  auto pool = input_pool(length, 4096);

  auto dir = std::filesystem::temp_directory_path() /
             ("pipeline_bench." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  node_config defaults;
  defaults.scheduler_threads = o.scheduler_threads;
  auto cfg = make_actor_system_config(defaults);
  auto sys = std::make_unique<caf::actor_system>(*cfg);
  auto store = spawn_state_store(*sys, {(dir / "db").string(), false, uint64_t{64} << 20});
  if (!store) {
    std::cerr << "pipeline_bench: " << describe(store.error()) << "\n";
    return 1;
  }
  frontend_options fo;
  fo.port = 0;
  fo.admin_port = 0;
  fo.cache_bytes = o.cache_mb << 20;
  fo.work_dir = dir.string();
  auto frontend = serving_frontend::start(*sys, *store, fo);
  if (!frontend) {
    std::cerr << "pipeline_bench: " << describe(frontend.error()) << "\n";
    return 1;
  }
  auto manager = (*frontend)->manager();
  caf::scoped_actor self{*sys};
  // One model and one app per variant (batch limit, batches in flight),
  // all added up front.
  std::vector<std::pair<uint64_t, uint32_t>> variants;
  for (auto max_batch : o.max_batches)
    for (auto in_flight : o.in_flights)
      variants.emplace_back(max_batch, in_flight);
  auto tag_of = [](const std::pair<uint64_t, uint32_t>& v) {
    return std::to_string(v.first) + "x" + std::to_string(v.second);
  };
  for (auto& v : variants) {
    auto tag = tag_of(v);
    model_spec m;
    m.name = "m" + tag;
    m.backend = o.backend;
    m.path = o.model;
    m.max_batch = v.first;
    m.batches_in_flight = v.second;
    app_spec a;
    a.name = "app" + tag;
    a.input = input_kind::doubles;
    a.input_length = length;
    a.slo_us = o.slo_us;
    a.default_output = "-1";
    a.models = {m.name};
    if (auto err = check(self, manager, add_model_atom::value, m)) {
      std::cerr << "pipeline_bench: add_model: " << describe(err) << "\n";
      return 1;
    }
    if (auto err = check(self, manager, add_app_atom::value, a)) {
      std::cerr << "pipeline_bench: add_app: " << describe(err) << "\n";
      return 1;
    }
  }
  std::fprintf(stderr,
               "pipeline_bench: %s, %llu values per input, SLO %lld us, %u clients x %u in "
               "flight, %u rounds of %.1f s (+%.1f s warm-up)\n",
               (*raw)->describe().c_str(), static_cast<unsigned long long>(length),
               static_cast<long long>(o.slo_us), o.clients, o.window, o.rounds, o.seconds,
               o.warmup);
  json rounds = json::array();
  for (unsigned round = 0; round < o.rounds; ++round) {
    json jr;
    for (auto b : o.raw_batches) {
      auto rate = raw_rows_per_s(**raw, pool, b, o.seconds);
      jr["raw"][std::to_string(b)] = rate;
      std::fprintf(stderr, "round %u: raw batch %zu: %.0f rows/s\n", round + 1, b, rate);
    }
    for (auto& v : variants) {
      auto tag = tag_of(v);
      auto app = (*frontend)->app("app" + tag);
      if (!app) {
        std::cerr << "pipeline_bench: app" << tag << " is not serving\n";
        return 1;
      }
      auto r = run_pipeline(*sys, app, manager, "m" + tag + ":1", pool, o);
      std::fprintf(stderr,
                   "round %u: pipeline, max batch %llu, %u in flight: %.0f rows/s, p50 %.2f ms, "
                   "p99 %.2f ms, p99.9 %.2f ms, mean batch %.1f, default %.3f, errors %llu%s%s\n",
                   round + 1, static_cast<unsigned long long>(v.first), v.second, r.rows_per_s,
                   r.p50_us / 1e3, r.p99_us / 1e3, r.p999_us / 1e3, r.mean_batch,
                   r.default_ratio, static_cast<unsigned long long>(r.errors),
                   r.errors ? " first: " : "", r.first_error.c_str());
      jr["pipeline"][tag] = json{{"rows_per_s", r.rows_per_s}, {"p50_us", r.p50_us},
                                 {"p99_us", r.p99_us},         {"p999_us", r.p999_us},
                                 {"mean_batch", r.mean_batch}, {"default_ratio", r.default_ratio},
                                 {"errors", r.errors}};
    }
    rounds.push_back(jr);
  }
  (*frontend)->stop();
  frontend->reset();
  caf::anon_send_exit(*store, caf::exit_reason::user_shutdown);
  *store = state_store_actor{};
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);

  // Medians over rounds, and the ratios the targets are stated in.
  auto median = [&](auto get) {
    std::vector<double> xs;
    for (auto& r : rounds)
      xs.push_back(get(r));
    return percentile(xs, 0.5);
  };
  json out;
  out["mode"] = "pipeline";
  out["model"] = o.model;
  out["slo_us"] = o.slo_us;
  out["clients"] = o.clients;
  out["window"] = o.window;
  out["rounds"] = rounds;
  std::fprintf(stderr, "\nmedians over %u rounds:\n", o.rounds);
  for (auto b : o.raw_batches) {
    auto key = std::to_string(b);
    auto v = median([&](const json& r) { return r["raw"][key].get<double>(); });
    out["median_raw"][key] = v;
    std::fprintf(stderr, "  raw batch %zu: %.0f rows/s\n", b, v);
  }
  for (auto& var : variants) {
    auto key = tag_of(var);
    auto v = median([&](const json& r) { return r["pipeline"][key]["rows_per_s"].get<double>(); });
    out["median_pipeline"][key] = v;
    std::fprintf(stderr, "  pipeline, max batch %llu, %u in flight: %.0f rows/s\n",
                 static_cast<unsigned long long>(var.first), var.second, v);
  }
  // Per-round ratios (both sides from the same round), then their median.
  if (!o.raw_batches.empty() && !o.max_batches.empty()) {
    auto raw_key = std::to_string(o.raw_batches.front());
    auto pipe_key = tag_of(variants.front());
    auto ratio = median([&](const json& r) {
      return r["pipeline"][pipe_key]["rows_per_s"].get<double>() / r["raw"][raw_key].get<double>();
    });
    out["pipeline_over_raw"] = ratio;
    std::fprintf(stderr, "  pipeline (%s) / raw batch %s: %.2f (target >= 0.8)\n",
                 pipe_key.c_str(), raw_key.c_str(), ratio);
  }
  if (o.max_batches.size() >= 2) {
    auto a = tag_of({o.max_batches[0], o.in_flights[0]});
    auto b = tag_of({o.max_batches[1], o.in_flights[0]});
    auto gain = median([&](const json& r) {
      return r["pipeline"][a]["rows_per_s"].get<double>() /
             r["pipeline"][b]["rows_per_s"].get<double>();
    });
    out["batching_gain"] = gain;
    std::fprintf(stderr, "  pipeline %s / %s (max batch x in flight): %.2fx (target >= 10x)\n",
                 a.c_str(), b.c_str(), gain);
  }
  if (o.raw_batches.size() >= 2) {
    auto a = std::to_string(o.raw_batches[0]);
    auto b = std::to_string(o.raw_batches[1]);
    auto gain = median([&](const json& r) {
      return r["raw"][a].get<double>() / r["raw"][b].get<double>();
    });
    out["raw_batching_gain"] = gain;
    std::fprintf(stderr, "  raw batch %s / raw batch %s: %.2fx (the most batching can give)\n",
                 a.c_str(), b.c_str(), gain);
  }
  std::cout << out.dump() << std::endl;
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"pipeline_bench: the serving pipeline (typed C++ clients, no HTTP) against the "
               "model's raw batched throughput, interleaved"};
  options o;
  app.add_option("--model", o.model, "model file (e.g. bench_xgb.json from troupe-make-models)")
    ->required();
  app.add_option("--backend", o.backend, "noop, xgboost, torchscript")->capture_default_str();
  app.add_option("--max-batch", o.max_batches,
                 "batch limits to serve with, one app each (first: the adaptive one; second: "
                 "the unbatched comparison)")
    ->capture_default_str();
  app.add_option("--in-flight", o.in_flights,
                 "batches in flight per replica to serve with (model_spec::batches_in_flight), "
                 "one app per batch limit and value")
    ->capture_default_str()->check(CLI::Range(1u, 8u));
  app.add_option("--raw-batch", o.raw_batches, "raw batch sizes (first: the baseline)")
    ->capture_default_str();
  app.add_option("--slo-us", o.slo_us, "the apps' latency SLO")->capture_default_str();
  app.add_option("--clients", o.clients, "client actors")->capture_default_str()
    ->check(CLI::Range(1u, 1024u));
  app.add_option("--window", o.window, "requests each client keeps in flight")
    ->capture_default_str()->check(CLI::Range(1u, 4096u));
  app.add_option("--seconds", o.seconds, "measured seconds per run")->capture_default_str()
    ->check(CLI::Range(0.1, 600.0));
  app.add_option("--warmup", o.warmup, "seconds of load before measuring")->capture_default_str()
    ->check(CLI::Range(0.0, 600.0));
  app.add_option("--rounds", o.rounds, "interleaved rounds (raw, then each app)")
    ->capture_default_str()->check(CLI::Range(1u, 100u));
  app.add_option("--cache-mb", o.cache_mb, "prediction cache; 0: none")->capture_default_str();
  app.add_option("--scheduler-threads", o.scheduler_threads, "CAF workers; 0: one per core")
    ->capture_default_str();
  TROUPE_BENCH_PARSE(app, argc, argv);
  return run(o);
}
