// DistributedDataParallel for libtorch modules, after PyTorch's DDP
// (VLDB'20): every rank holds a replica; gradients are averaged across
// ranks during backward by bucketed allreduces that overlap the rest of
// backward, so that optimizer.step() sees the same gradients everywhere.
//
//   auto ddp = distributed_data_parallel<Net>::make(net, group, sys);
//   auto out = ddp->forward(x);          // instead of net->forward(x)
//   loss_fn(out, y).backward();          // averaged gradients in net's params
//   optimizer.step();
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <torch/torch.h>

#include "actors/training/bucket_assignment.hpp"
#include "actors/training/comm_hook.hpp"
#include "messages/errors.hpp"
#include "runtime/collectives/process_group.hpp"

namespace troupe::training {

struct ddp_options {
  size_t bucket_cap_bytes = default_bucket_cap_bytes;
  size_t first_bucket_bytes = default_first_bucket_bytes;
  /// Marks parameters the forward graph did not reach as ready, so that a
  /// model with branches never hangs backward (costs a graph walk).
  bool find_unused_parameters = false;
  /// Copies rank 0's buffers (e.g. batch-norm statistics) before each forward.
  bool broadcast_buffers = true;
  /// After the first iteration, rebuild buckets in the order gradients
  /// really arrived (rank 0's order, agreed by all).
  bool rebuild_buckets = true;
  /// Gradients become views into the buckets (PyTorch's
  /// gradient_as_bucket_view): autograd accumulates straight into the bucket
  /// and the reduced average is already in .grad(), saving two copies of
  /// every gradient per iteration. Off by default, as in PyTorch: a
  /// zero_grad() that sets gradients to none breaks the aliasing for one
  /// iteration (DDP then copies, and restores the view). A rank that has
  /// joined (uneven inputs) shadows the others with zeroed buckets, so its
  /// gradients end up holding the others' average.
  bool gradient_as_bucket_view = false;
  /// How buckets cross the group; allreduce by default (with copied
  /// gradients, each divided by the world size as it is copied in, then
  /// summed, as PyTorch does; with bucket views, averaged by the collective).
  std::shared_ptr<comm_hook> hook;
  /// Bound on waiting for the last bucket at the end of backward.
  std::chrono::milliseconds timeout{120000};
  /// If set, a Chrome trace of backward passes and bucket collectives is
  /// written here when the DDP object is destroyed (see ddp_trace.hpp).
  std::string trace_path;
};

/// The part of DDP that does not depend on the module's type.
class ddp_engine {
public:
  /// Verifies that every rank has the same parameters (names, dtypes,
  /// shapes), copies rank 0's parameters and buffers to every rank, and
  /// installs the gradient hooks.
  static caf::expected<std::unique_ptr<ddp_engine>>
  make(std::shared_ptr<torch::nn::Module> module,
       std::shared_ptr<collectives::process_group> group, caf::actor_system& sys,
       ddp_options options);

  ~ddp_engine();

  /// Before the module's forward: syncs buffers when asked to.
  void before_forward();

  /// After the module's forward: finds unused parameters (if asked) and
  /// tells the reducer a backward of `output` will follow.
  void after_forward(const torch::Tensor& output);

  /// Turns gradient synchronization off (for no_sync) or back on; takes
  /// effect at the next forward.
  void set_sync(bool enabled) { sync_requested_ = enabled; }

  /// Parameter indices per bucket, as currently assigned.
  const bucket_layout& layout() const { return layout_; }

  /// How many times buckets were rebuilt (0 or 1).
  int rebuilds() const { return rebuilds_; }

  const std::vector<std::string>& parameter_names() const { return names_; }

  /// Whether every defined gradient is a view into its bucket (it is after
  /// a synchronized backward with gradient_as_bucket_view on).
  bool gradients_are_bucket_views() const;

  // -- uneven inputs (join) ---------------------------------------------------

  /// Every rank, before each iteration while joined: how many ranks still
  /// have data (`has_data` is this rank's answer).
  caf::expected<int> count_active_ranks(bool has_data);

  /// Matches the collectives of one synchronized iteration of the others
  /// (buffer broadcast, every bucket's allreduce) with zero gradients.
  caf::error shadow_iteration();

  /// Copies the parameters and buffers of the rank that trained the most
  /// iterations to every rank (the others' models are stale after joining).
  caf::error sync_final_model(int64_t my_iterations);

private:
  ddp_engine() = default;

  struct impl;
  std::shared_ptr<impl> impl_;
  bucket_layout layout_;
  bool sync_requested_ = true;
  int rebuilds_ = 0;
  std::vector<std::string> names_;

  friend struct impl;
};

template <class ModuleHolder>
class distributed_data_parallel {
public:
  static caf::expected<std::unique_ptr<distributed_data_parallel>>
  make(ModuleHolder module, std::shared_ptr<collectives::process_group> group,
       caf::actor_system& sys, ddp_options options = {}) {
    auto engine = ddp_engine::make(module.ptr(), std::move(group), sys, std::move(options));
    if (!engine)
      return engine.error();
    return std::unique_ptr<distributed_data_parallel>{
      new distributed_data_parallel(std::move(module), std::move(*engine))};
  }

  /// Runs the module's forward and prepares the reducer for its backward.
  template <class... Args>
  torch::Tensor forward(Args&&... args) {
    engine_->before_forward();
    torch::Tensor out = module_->forward(std::forward<Args>(args)...);
    engine_->after_forward(out);
    return out;
  }

  /// While the guard lives, forward/backward accumulate gradients locally
  /// without communication; the next synchronized backward reduces them all.
  class no_sync_guard {
  public:
    explicit no_sync_guard(ddp_engine& e) : engine_(&e) { engine_->set_sync(false); }
    no_sync_guard(no_sync_guard&& other) noexcept : engine_(other.engine_) {
      other.engine_ = nullptr;
    }
    ~no_sync_guard() {
      if (engine_)
        engine_->set_sync(true);
    }

  private:
    ddp_engine* engine_;
  };

  no_sync_guard no_sync() { return no_sync_guard{*engine_}; }

  /// Uneven inputs, after PyTorch's Join: every rank calls before_iteration()
  /// at the start of each of its iterations and finish() after its last;
  /// finish() keeps matching the others' collectives (with zero gradients,
  /// divided by the full world size) until every rank is out of data, then
  /// gives every rank the model of the rank that trained longest.
  /// REQUIRES: every rank trains at least one iteration.
  class join_guard {
  public:
    explicit join_guard(ddp_engine& e) : engine_(&e) {}

    /// Announces one more iteration of this rank. Throws on failure.
    void before_iteration() {
      ++iterations_;
      if (auto n = engine_->count_active_ranks(true); !n)
        throw std::runtime_error("DDP join: " + describe(n.error()));
    }

    /// Shadows the others until all are done, then syncs the final model.
    caf::error finish() {
      if (finished_)
        return caf::none;
      finished_ = true;
      for (;;) {
        auto active = engine_->count_active_ranks(false);
        if (!active)
          return active.error();
        if (*active == 0)
          break;
        ++shadowed_;
        if (auto err = engine_->shadow_iteration())
          return err;
      }
      return engine_->sync_final_model(iterations_);
    }

    /// Iterations this rank shadowed after running out of data.
    int64_t shadowed() const { return shadowed_; }

  private:
    ddp_engine* engine_;
    int64_t iterations_ = 0;
    int64_t shadowed_ = 0;
    bool finished_ = false;
  };

  join_guard join() { return join_guard{*engine_}; }

  ModuleHolder& module() { return module_; }
  ddp_engine& engine() { return *engine_; }

private:
  distributed_data_parallel(ModuleHolder module, std::unique_ptr<ddp_engine> engine)
    : module_(std::move(module)), engine_(std::move(engine)) {}

  ModuleHolder module_;
  std::unique_ptr<ddp_engine> engine_;
};

} // namespace troupe::training
