// One rank of the DDP benchmark, run under `troupe train --nproc 2`; the
// set-up mirrors ../shared/anchors/ddp_bench.py (PyTorch DDP over Gloo) so
// that benchmarks/ddp_compare.sh can interleave the two: an MLP of
// --layers x --hidden, --batch rows per rank, SGD, 1 thread per rank.
// Rank 0 prints one JSON line: {"mode", "bucket_mb", "median_ms", ...}.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <caf/actor_system.hpp>

#include "actors/training/distributed_data_parallel.hpp"
#include "messages/errors.hpp"
#include "runtime/collectives/make_process_group.hpp"
#include "runtime/node.hpp"
#include "benchmarks/cli_parse.hpp"

using namespace troupe;
using namespace troupe::training;
using clock_type = std::chrono::steady_clock;

namespace {

struct bench_options {
  std::string mode = "ddp";  // ddp, nosync, local, allreduce_only, allreduce, views_ab, overhead_ab
  double size_mib = 16;      // allreduce: message size
  double bucket_mb = 25;
  double first_bucket_mb = 1;
  bool bucket_views = false;  // ddp_options::gradient_as_bucket_view
  std::string trace;          // ddp_options::trace_path (+ ".RANK.json")
  int iters = 100;
  int warmup = 10;
  int64_t hidden = 1024;
  int64_t layers = 4;
  int64_t inp = 1024;
  int64_t out = 10;
  int64_t batch = 64;
  uint32_t scheduler_threads = 0;  // CAF workers per rank; 0: one per core
};

torch::nn::Sequential make_model(const bench_options& o) {
  torch::nn::Sequential model;
  int64_t d = o.inp;
  for (int64_t i = 0; i < o.layers; ++i) {
    model->push_back(torch::nn::Linear(d, o.hidden));
    model->push_back(torch::nn::ReLU());
    d = o.hidden;
  }
  model->push_back(torch::nn::Linear(d, o.out));
  return model;
}

/// DDP's options as the command line gives them (bucket caps, views, trace).
ddp_options ddp_options_of(const bench_options& o, int rank) {
  ddp_options options;
  options.bucket_cap_bytes = static_cast<size_t>(o.bucket_mb * (1 << 20));
  options.first_bucket_bytes = static_cast<size_t>(o.first_bucket_mb * (1 << 20));
  options.gradient_as_bucket_view = o.bucket_views;
  if (!o.trace.empty())
    options.trace_path = o.trace + "." + std::to_string(rank) + ".json";
  return options;
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs.empty() ? 0 : xs[xs.size() / 2];
}

/// Elements of all the model's parameters (of all its gradients).
int64_t parameter_count(torch::nn::Module& model) {
  int64_t n = 0;
  for (auto& p : model.parameters())
    n += p.numel();
  return n;
}

/// --mode overhead_ab: the communication overhead (DDP minus no_sync, over
/// one allreduce of all gradients) from three kinds of step taken round by
/// round in the same processes, in a rotating order: run minutes apart, the
/// three drift on this shared VM by more than the overhead being measured.
/// `train_step(sync)` is one DDP iteration; `all_gradients` is allreduced.
/// Rank 0 prints the JSON line.
template <class TrainStep>
void report_overhead_rounds(const bench_options& o, collectives::process_group& group, int rank,
                            size_t buckets, TrainStep& train_step, torch::Tensor& all_gradients) {
  // Each step starts with the ranks in step (an untimed barrier): else the
  // allreduce after a no_sync step, where the ranks drift apart, would
  // count the drift, and the overhead would look smaller than it is.
  auto timed = [&](auto&& step) {
    group.barrier()->wait();
    auto t0 = clock_type::now();
    step();
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
  };
  auto allreduce = [&] {
    group.allreduce(all_gradients.data_ptr(), static_cast<size_t>(all_gradients.numel()),
                    dtype::float32, collectives::reduce_op::sum)->wait();
  };
  std::vector<double> ddp_ms, nosync_ms, allreduce_ms, round_overhead;
  for (int i = 0; i < o.warmup + o.iters; ++i) {
    double t[3] = {0, 0, 0};
    for (int k = 0; k < 3; ++k) {
      switch ((i + k) % 3) {  // each kind goes first, second and third in turn
        case 0: t[0] = timed([&] { train_step(true); }); break;
        case 1: t[1] = timed([&] { train_step(false); }); break;
        default: t[2] = timed(allreduce); break;
      }
    }
    if (i < o.warmup)
      continue;
    ddp_ms.push_back(t[0]);
    nosync_ms.push_back(t[1]);
    allreduce_ms.push_back(t[2]);
    round_overhead.push_back((t[0] - t[1]) / t[2]);
  }
  group.barrier()->wait();
  if (rank != 0)
    return;
  auto d = median(ddp_ms), s = median(nosync_ms), a = median(allreduce_ms);
  std::cout << "{\"impl\":\"troupe\",\"backend\":\"" << group.backend()
            << "\",\"mode\":\"overhead_ab\",\"bucket_mb\":" << o.bucket_mb
            << ",\"bucket_views\":" << (o.bucket_views ? "true" : "false")
            << ",\"buckets\":" << buckets << ",\"ddp_ms\":" << d << ",\"nosync_ms\":" << s
            << ",\"allreduce_ms\":" << a << ",\"overhead\":" << (d - s) / a
            << ",\"overhead_per_round\":" << median(round_overhead)
            << ",\"n\":" << ddp_ms.size() << "}" << std::endl;
}

template <class Step>
std::vector<double> time_loop(const bench_options& o, Step step) {
  std::vector<double> times;
  for (int i = 0; i < o.warmup + o.iters; ++i) {
    auto t0 = clock_type::now();
    step();
    auto ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
    if (i >= o.warmup)
      times.push_back(ms);
  }
  return times;
}

} // namespace

int main(int argc, char** argv) {
  bench_options o;
  CLI::App app{"One rank of the Troupe DDP benchmark (run it under troupe train)"};
  app.add_option("--mode", o.mode,
                 "ddp, nosync, local, allreduce_only, allreduce (--size-mib), views_ab "
                 "(copies against gradient_as_bucket_view, iteration by iteration) or "
                 "overhead_ab (DDP, no_sync and one allreduce of all gradients, round by round)")
    ->check(CLI::IsMember({"ddp", "nosync", "local", "allreduce_only", "allreduce", "views_ab",
                           "overhead_ab"}));
  app.add_option("--size-mib", o.size_mib, "message size of --mode allreduce");
  app.add_option("--bucket-mb", o.bucket_mb, "bucket cap in MiB");
  app.add_option("--first-bucket-mb", o.first_bucket_mb, "cap of the first bucket in MiB")
    ->capture_default_str();
  app.add_flag("--bucket-views", o.bucket_views, "gradients as views into the buckets");
  app.add_option("--trace", o.trace, "write a Chrome trace of each rank to TRACE.RANK.json");
  app.add_option("--iters", o.iters, "timed iterations")->capture_default_str();
  app.add_option("--warmup", o.warmup, "untimed iterations first")->capture_default_str();
  app.add_option("--hidden", o.hidden, "width of the MLP's hidden layers")->capture_default_str();
  app.add_option("--layers", o.layers, "hidden layers")->capture_default_str();
  app.add_option("--inp", o.inp, "input features")->capture_default_str();
  app.add_option("--out", o.out, "output classes")->capture_default_str();
  app.add_option("--batch", o.batch, "batch per rank")->capture_default_str();
  app.add_option("--scheduler-threads", o.scheduler_threads,
                 "CAF worker threads of each rank (reducer actors); 0: one per core");
  TROUPE_BENCH_PARSE(app, argc, argv);
  torch::set_num_threads(1);
  torch::manual_seed(0);
  auto model = make_model(o);
  auto rank = 0;
  auto gen = at::detail::createCPUGenerator(1234);
  // Declared before the group: the group must die first, for it may still
  // hold handles into the actor system (the rendezvous store).
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<collectives::process_group> group;
  if (o.mode != "local") {
    auto info = collectives::rendezvous_from_env();
    if (!info) {
      std::cerr << "ddp_bench: " << describe(info.error()) << "\n";
      return 2;
    }
    node_config node_cfg;
    node_cfg.scheduler_threads = o.scheduler_threads;
    cfg = make_actor_system_config(node_cfg);
    sys = std::make_unique<caf::actor_system>(*cfg);
    auto made = collectives::make_process_group(*sys, *info);
    if (!made) {
      std::cerr << "ddp_bench: " << describe(made.error()) << "\n";
      return 2;
    }
    group = std::move(*made);
    rank = group->rank();
    gen = at::detail::createCPUGenerator(static_cast<uint64_t>(1234 + rank));
  }
  auto x = torch::randn({o.batch, o.inp}, gen);
  auto y = torch::randint(0, o.out, {o.batch}, gen);
  std::vector<double> times;
  size_t buckets = 0;
  if (o.mode == "allreduce") {
    auto n = std::max<int64_t>(1, static_cast<int64_t>(o.size_mib * (1 << 20) / 4));
    auto buffer = torch::randn({n});
    times = time_loop(o, [&] {
      group->allreduce(buffer.data_ptr(), static_cast<size_t>(n), dtype::float32,
                       collectives::reduce_op::sum)->wait();
    });
  } else if (o.mode == "allreduce_only") {
    auto n = parameter_count(*model);
    auto buffer = torch::randn({n});
    times = time_loop(o, [&] {
      group->allreduce(buffer.data_ptr(), static_cast<size_t>(n), dtype::float32,
                       collectives::reduce_op::sum)->wait();
    });
  } else if (o.mode == "views_ab") {
    // Copies against bucket views in the same processes, iteration by
    // iteration (A B B A A B ...): on this shared VM runs minutes apart differ
    // by more than the copies cost.
    auto other = make_model(o);
    auto copies_options = ddp_options{};
    copies_options.bucket_cap_bytes = static_cast<size_t>(o.bucket_mb * (1 << 20));
    copies_options.first_bucket_bytes = static_cast<size_t>(o.first_bucket_mb * (1 << 20));
    auto views_options = copies_options;
    views_options.gradient_as_bucket_view = true;
    auto copies = distributed_data_parallel<torch::nn::Sequential>::make(model, group, *sys,
                                                                          copies_options);
    auto views = distributed_data_parallel<torch::nn::Sequential>::make(other, group, *sys,
                                                                         views_options);
    if (!copies || !views) {
      std::cerr << "ddp_bench: " << describe(!copies ? copies.error() : views.error()) << "\n";
      return 2;
    }
    torch::optim::SGD copies_opt{model->parameters(), torch::optim::SGDOptions{1e-3}};
    torch::optim::SGD views_opt{other->parameters(), torch::optim::SGDOptions{1e-3}};
    std::vector<double> copies_ms, views_ms;
    auto one = [&](auto& ddp, auto& opt, std::vector<double>& into, bool keep) {
      auto t0 = clock_type::now();
      opt.zero_grad();
      torch::nn::functional::cross_entropy(ddp->forward(x), y).backward();
      opt.step();
      if (keep)
        into.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    };
    group->barrier()->wait();
    for (int i = 0; i < o.warmup + o.iters; ++i) {
      // Alternating which goes first, so that neither always follows the other.
      if (i % 2 == 0) {
        one(*copies, copies_opt, copies_ms, i >= o.warmup);
        one(*views, views_opt, views_ms, i >= o.warmup);
      } else {
        one(*views, views_opt, views_ms, i >= o.warmup);
        one(*copies, copies_opt, copies_ms, i >= o.warmup);
      }
    }
    group->barrier()->wait();
    if (rank == 0)
      std::cout << "{\"impl\":\"troupe\",\"backend\":\"" << group->backend()
                << "\",\"mode\":\"views_ab\",\"bucket_mb\":" << o.bucket_mb
                << ",\"copies_median_ms\":" << median(copies_ms)
                << ",\"views_median_ms\":" << median(views_ms)
                << ",\"views_over_copies\":" << median(views_ms) / median(copies_ms)
                << ",\"n\":" << copies_ms.size() << "}" << std::endl;
    return 0;
  } else if (o.mode == "local") {
    torch::optim::SGD opt{model->parameters(), torch::optim::SGDOptions{1e-3}};
    times = time_loop(o, [&] {
      opt.zero_grad();
      torch::nn::functional::cross_entropy(model->forward(x), y).backward();
      opt.step();
    });
  } else {  // ddp, nosync, overhead_ab
    auto ddp = distributed_data_parallel<torch::nn::Sequential>::make(model, group, *sys,
                                                                       ddp_options_of(o, rank));
    if (!ddp) {
      std::cerr << "ddp_bench: " << describe(ddp.error()) << "\n";
      return 2;
    }
    auto& wrapped = **ddp;
    torch::optim::SGD opt{model->parameters(), torch::optim::SGDOptions{1e-3}};
    auto train_step = [&](bool sync) {
      opt.zero_grad();
      std::optional<decltype(wrapped.no_sync())> no_sync;
      if (!sync)
        no_sync.emplace(wrapped.no_sync());
      torch::nn::functional::cross_entropy(wrapped.forward(x), y).backward();
      no_sync.reset();
      opt.step();
    };
    buckets = wrapped.engine().layout().size();
    group->barrier()->wait();
    if (o.mode == "overhead_ab") {
      auto all_gradients = torch::randn({parameter_count(*model)});
      report_overhead_rounds(o, *group, rank, buckets, train_step, all_gradients);
      return 0;
    }
    times = time_loop(o, [&] { train_step(o.mode != "nosync"); });
  }
  if (group)
    group->barrier()->wait();
  if (rank == 0) {
    auto mean = std::accumulate(times.begin(), times.end(), 0.0) / std::max<size_t>(1, times.size());
    std::cout << "{\"impl\":\"troupe\",\"backend\":\"" << (group ? group->backend() : "none")
              << "\",\"mode\":\"" << o.mode << "\",\"size_mib\":" << o.size_mib
              << ",\"bucket_mb\":" << o.bucket_mb
              << ",\"bucket_views\":" << (o.bucket_views ? "true" : "false")
              << ",\"buckets\":" << buckets << ",\"median_ms\":" << median(times)
              << ",\"mean_ms\":" << mean << ",\"n\":" << times.size() << "}" << std::endl;
  }
  return 0;
}
