#include "actors/training/distributed_data_parallel.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <iostream>
#include <sstream>
#include <unordered_set>

#include <caf/scoped_actor.hpp>
#include <torch/csrc/autograd/engine.h>
#include <torch/csrc/autograd/functions/accumulate_grad.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>

#include "actors/training/bucket_reducer.hpp"
#include "actors/training/ddp_trace.hpp"
#include "actors/training/parameter_sync.hpp"
#include "messages/errors.hpp"

namespace troupe::training {

using torch::autograd::Node;

// Where a parameter's gradient lives in its bucket.
struct slot_info {
  size_t bucket = 0;
  int64_t offset = 0;
  int64_t numel = 0;
};

struct ddp_engine::impl : std::enable_shared_from_this<ddp_engine::impl> {
  ddp_engine* owner = nullptr;
  caf::actor_system* sys = nullptr;
  std::shared_ptr<torch::nn::Module> module;
  std::shared_ptr<collectives::process_group> group;
  ddp_options options;
  std::vector<torch::Tensor> params;     // those that require grad
  std::vector<torch::Tensor> buffers;
  std::vector<std::shared_ptr<Node>> accumulators;
  std::vector<torch::Tensor> buckets;    // flat float32, one per bucket
  std::vector<slot_info> slots;          // per parameter
  bucket_reducer_actor reducer;
  // Per iteration, decided at forward (like PyTorch's require_backward_grad_sync).
  std::atomic<bool> sync_this_pass{true};
  std::atomic<bool> finalize_queued{false};
  std::vector<bool> unused_this_pass;
  bool first_pass_done = false;
  std::shared_ptr<ddp_trace> trace;  // only when options.trace_path is set
  /// With the default hook and copied gradients: each gradient is divided
  /// by the world size as it is copied into its slot (the hook then sums).
  bool prescale = false;
  ddp_trace::clock_type::time_point backward_start;

  torch::Tensor slot(size_t i) {
    auto& s = slots[i];
    return buckets[s.bucket].narrow(0, s.offset, s.numel);
  }

  bool in_slot(size_t i, const torch::Tensor& grad) {
    auto& s = slots[i];
    return grad.defined()
           && grad.data_ptr() == buckets[s.bucket].data_ptr<float>() + s.offset;
  }

  // Parameter i's slot shaped like the parameter, sharing the bucket's
  // storage. Not an autograd view of the bucket (set_, not view()): libtorch's
  // Optimizer::zero_grad() calls detach_(), which refuses views.
  torch::Tensor slot_as_gradient(size_t i) {
    auto& s = slots[i];
    auto& bucket = buckets[s.bucket];
    torch::NoGradGuard no_grad;
    auto grad = torch::empty({0}, bucket.options());
    grad.set_(bucket.storage(), bucket.storage_offset() + s.offset, params[i].sizes(), {});
    return grad;
  }

  // With gradient_as_bucket_view: parameter i's gradient moves into its slot,
  // keeping its current value.
  void alias_gradient(size_t i) {
    auto& grad = params[i].mutable_grad();
    if (!grad.defined() || in_slot(i, grad))
      return;
    torch::NoGradGuard no_grad;
    slot(i).copy_(grad.reshape({-1}));
    grad = slot_as_gradient(i);
  }

  // Parameter i's gradient (zero if it has none) becomes its slot's content:
  // nothing to do for a bucket view, one copy otherwise (and with bucket
  // views, the gradient becomes one again).
  void gradient_to_slot(size_t i) {
    auto grad = params[i].grad();
    if (!grad.defined())
      slot(i).zero_();
    else if (options.gradient_as_bucket_view)
      alias_gradient(i);
    else if (prescale)
      copy_divided(i, grad);
    else
      slot(i).copy_(grad.reshape({-1}));
  }

  // grad / world size into parameter i's slot, in one pass (PyTorch's
  // mul_out by 1 / world size: for a world of 2, exactly the division).
  void copy_divided(size_t i, const torch::Tensor& grad) {
    torch::NoGradGuard no_grad;
    auto out = slot(i);
    torch::mul_out(out, grad.reshape({-1}),
                   torch::scalar_tensor(1.0 / group->size(), torch::kFloat64));
  }

  void build_buckets(const std::vector<size_t>& order) {
    std::vector<size_t> bytes;
    std::vector<uint8_t> dtypes;
    for (auto& p : params) {
      bytes.push_back(static_cast<size_t>(p.numel()) * p.element_size());
      dtypes.push_back(static_cast<uint8_t>(p.scalar_type()));
    }
    owner->layout_ = assign_buckets(bytes, dtypes, order, options.first_bucket_bytes,
                                    options.bucket_cap_bytes);
    buckets.clear();
    slots.assign(params.size(), {});
    for (size_t b = 0; b < owner->layout_.size(); ++b) {
      int64_t total = 0;
      for (auto p : owner->layout_[b]) {
        slots[p] = {b, total, params[p].numel()};
        total += params[p].numel();
      }
      buckets.push_back(torch::zeros({total}, torch::kFloat32));
    }
    if (options.gradient_as_bucket_view)
      for (size_t i = 0; i < params.size(); ++i)
        alias_gradient(i);
    if (reducer)
      caf::anon_send_exit(reducer, caf::exit_reason::user_shutdown);
    reducer = spawn_bucket_reducer(*sys, owner->layout_, params.size(),
                                   [this](size_t b) { return launch_bucket(b); });
  }

  collectives::work_ptr launch_bucket(size_t b) {
    auto work = options.hook->launch(b, buckets[b], *group);
    if (trace) {
      auto start = ddp_trace::clock_type::now();
      auto bytes = buckets[b].numel() * 4;
      work->on_done([t = trace, b, bytes, start](const caf::error&) {
        t->span("bucket " + std::to_string(b) + " (" + std::to_string(bytes >> 10) + " KiB)",
                "comm", start, ddp_trace::clock_type::now());
      });
    }
    return work;
  }

  void install_hooks() {
    // The hooks outlive this engine if the module does: they hold it weakly
    // and do nothing once it is gone.
    std::weak_ptr<impl> weak = shared_from_this();
    for (size_t i = 0; i < params.size(); ++i) {
      auto acc = torch::autograd::impl::grad_accumulator(params[i]);
      acc->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
        [weak, i](const torch::autograd::variable_list& outputs,
                  const torch::autograd::variable_list&) {
          if (auto self = weak.lock())
            self->on_gradient(i);
          return outputs;
        }));
      accumulators.push_back(std::move(acc));
    }
  }

  // Runs on the autograd thread as soon as parameter i's gradient is final.
  void on_gradient(size_t i) {
    if (!sync_this_pass)
      return;
    gradient_to_slot(i);
    if (!finalize_queued.exchange(true)) {
      backward_start = ddp_trace::clock_type::now();
      torch::autograd::Engine::get_default_engine().queue_callback(
        [self = shared_from_this()] { self->finalize(); });
    }
    caf::anon_send(reducer, grad_ready_atom::value, static_cast<uint64_t>(i));
  }

  // End of backward (autograd thread): waits for every bucket, then writes
  // the averaged gradients back. Throws, failing backward, on any error.
  void finalize() {
    finalize_queued = false;
    caf::scoped_actor self{*sys};
    std::vector<uint64_t> arrival;
    caf::error err;
    self->request(reducer, options.timeout, finalize_atom::value)
      .receive([&](std::vector<uint64_t>& order) { arrival = std::move(order); },
               [&](caf::error& e) { err = std::move(e); });
    if (err)
      throw std::runtime_error(explain(err));
    for (size_t b = 0; b < buckets.size(); ++b)
      options.hook->finish(b, buckets[b]);
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
      auto reduced = slot(i).view(params[i].sizes());
      auto& grad = params[i].mutable_grad();
      if (!grad.defined()) {
        // Unused here and everywhere (all zeros): leave it undefined, as
        // local training would, so optimizers skip it.
        if (i < unused_this_pass.size() && unused_this_pass[i] && !reduced.any().item<bool>())
          continue;
        grad = options.gradient_as_bucket_view ? slot_as_gradient(i) : reduced.clone();
      } else if (!in_slot(i, grad)) {
        grad.copy_(reduced);
      }
    }
    if (trace)
      trace->span("backward + reduction", "compute", backward_start,
                  ddp_trace::clock_type::now());
    if (!first_pass_done) {
      first_pass_done = true;
      if (options.rebuild_buckets)
        rebuild_in_arrival_order(arrival);
    }
  }

  // Buckets in the order gradients arrived on rank 0 (broadcast, so that all
  // ranks agree); parameters that never arrived go last.
  void rebuild_in_arrival_order(std::vector<uint64_t> arrival) {
    std::vector<bool> seen(params.size(), false);
    for (auto p : arrival)
      seen[p] = true;
    for (auto p : reverse_order(params.size()))
      if (!seen[p])
        arrival.push_back(p);
    auto err = group->broadcast(arrival.data(), arrival.size() * sizeof(uint64_t), 0)->wait();
    if (err)
      throw std::runtime_error("DDP: agreeing on the rebuilt bucket order failed: "
                               + describe(err));
    std::vector<size_t> order(arrival.begin(), arrival.end());
    build_buckets(order);
    ++owner->rebuilds_;
  }

  std::string explain(const caf::error& err) {
    if (!is(err, errc::invalid_argument))
      return "DDP: gradient reduction failed: " + describe(err);
    // The reducer names missing parameters by index; name them properly.
    std::string names;
    std::stringstream in{describe(err).substr(describe(err).find(':') + 2)};
    for (std::string index; std::getline(in, index, ',');) {
      auto i = std::stoul(index);
      names += (names.empty() ? "" : ", ") + (i < owner->names_.size() ? owner->names_[i] : index);
    }
    return "DDP: these parameters got no gradient in this backward: " + names
           + ". If the model does not use them in every iteration, construct DDP with "
             "find_unused_parameters = true";
  }
};

caf::expected<std::unique_ptr<ddp_engine>>
ddp_engine::make(std::shared_ptr<torch::nn::Module> module,
                 std::shared_ptr<collectives::process_group> group, caf::actor_system& sys,
                 ddp_options options) {
  std::unique_ptr<ddp_engine> self{new ddp_engine};
  self->impl_ = std::make_shared<impl>();
  auto& d = *self->impl_;
  d.owner = self.get();
  d.sys = &sys;
  d.module = std::move(module);
  d.group = std::move(group);
  d.options = std::move(options);
  if (!d.options.hook) {
    d.prescale = !d.options.gradient_as_bucket_view;
    d.options.hook = d.prescale ? make_prescaled_allreduce_hook() : make_allreduce_hook();
  }
  // A parameter shared by two modules (tied weights) is listed under both
  // names; it gets one slot, or its two hooks would reduce it twice (and,
  // with bucket views, copy from a bucket whose allreduce is in flight).
  std::unordered_set<const c10::TensorImpl*> seen;
  for (auto& item : d.module->named_parameters()) {
    if (!item.value().requires_grad() || !seen.insert(item.value().unsafeGetTensorImpl()).second)
      continue;
    if (d.options.gradient_as_bucket_view && !item.value().device().is_cpu())
      return make_error(errc::invalid_argument,
                        "DDP: gradient_as_bucket_view needs CPU parameters (the buckets are in "
                        "host memory); '" + item.key() + "' is on "
                          + item.value().device().str());
    if (item.value().scalar_type() != torch::kFloat32)
      return make_error(errc::invalid_argument, "DDP supports float32 parameters; '"
                                                  + item.key() + "' is "
                                                  + std::string{c10::toString(item.value().scalar_type())});
    d.params.push_back(item.value());
    self->names_.push_back(item.key());
  }
  for (auto& item : d.module->named_buffers())
    d.buffers.push_back(item.value());
  if (auto err = verify_same_parameters(*d.group, d.module->named_parameters(),
                                        d.module->named_buffers()))
    return err;
  std::vector<torch::Tensor> state = d.params;
  state.insert(state.end(), d.buffers.begin(), d.buffers.end());
  if (auto err = broadcast_tensors(*d.group, state, 0))
    return err;
  if (!d.options.trace_path.empty())
    d.trace = std::make_shared<ddp_trace>(d.group->rank());
  d.build_buckets(reverse_order(d.params.size()));
  d.install_hooks();
  return self;
}

ddp_engine::~ddp_engine() {
  if (impl_ && impl_->trace) {
    // Written when the user is done with DDP; a collective still in flight
    // keeps its own reference and its span is simply not in the file.
    if (auto err = impl_->trace->write(impl_->options.trace_path))
      std::cerr << "DDP: " << describe(err) << std::endl;
  }
  if (impl_ && impl_->reducer)
    caf::anon_send_exit(impl_->reducer, caf::exit_reason::user_shutdown);
  if (impl_)
    impl_->owner = nullptr;
}

bool ddp_engine::gradients_are_bucket_views() const {
  auto& d = *impl_;
  for (size_t i = 0; i < d.params.size(); ++i) {
    auto grad = d.params[i].grad();
    if (grad.defined() && !d.in_slot(i, grad))
      return false;
  }
  return true;
}

void ddp_engine::before_forward() {
  auto& d = *impl_;
  if (d.options.broadcast_buffers && !d.buffers.empty() && sync_requested_)
    if (auto err = broadcast_tensors(*d.group, d.buffers, 0))
      throw std::runtime_error("DDP: broadcasting buffers failed: " + describe(err));
}

void ddp_engine::after_forward(const torch::Tensor& output) {
  auto& d = *impl_;
  d.sync_this_pass = sync_requested_;
  if (!sync_requested_ || !torch::GradMode::is_enabled() || !output.requires_grad())
    return;
  std::vector<uint64_t> unused;
  d.unused_this_pass.assign(d.params.size(), false);
  if (d.options.find_unused_parameters) {
    // Walk the graph from the output: a parameter whose accumulator is not
    // reached gets no gradient in this backward.
    std::unordered_set<Node*> reached;
    std::vector<Node*> stack;
    if (auto fn = output.grad_fn())
      stack.push_back(fn.get());
    while (!stack.empty()) {
      auto node = stack.back();
      stack.pop_back();
      if (!reached.insert(node).second)
        continue;
      for (auto& edge : node->next_edges())
        if (edge.function)
          stack.push_back(edge.function.get());
    }
    for (size_t i = 0; i < d.params.size(); ++i)
      if (!reached.count(d.accumulators[i].get())) {
        unused.push_back(i);
        d.unused_this_pass[i] = true;
        // Unused in this pass, but a gradient accumulated under no_sync is
        // still this rank's contribution (taken now: the reducer may start
        // the bucket before backward reaches it).
        d.gradient_to_slot(i);
      }
  }
  caf::anon_send(d.reducer, begin_atom::value, std::move(unused));
}

caf::expected<int> ddp_engine::count_active_ranks(bool has_data) {
  float flag = has_data ? 1.0f : 0.0f;
  auto err = impl_->group->allreduce(&flag, 1, dtype::float32, collectives::reduce_op::sum)->wait();
  if (err)
    return err;
  return static_cast<int>(std::lround(flag));
}

caf::error ddp_engine::shadow_iteration() {
  auto& d = *impl_;
  if (d.options.broadcast_buffers && !d.buffers.empty())
    if (auto err = broadcast_tensors(*d.group, d.buffers, 0))
      return err;
  for (size_t b = 0; b < d.buckets.size(); ++b) {
    d.buckets[b].zero_();
    if (auto err = d.launch_bucket(b)->wait())
      return err;
    d.options.hook->finish(b, d.buckets[b]);
  }
  return caf::none;
}

caf::error ddp_engine::sync_final_model(int64_t my_iterations) {
  auto& d = *impl_;
  std::vector<int64_t> counts(static_cast<size_t>(d.group->size()));
  if (auto err = d.group->allgather(&my_iterations, counts.data(), sizeof(int64_t))->wait())
    return err;
  auto source = static_cast<int>(std::max_element(counts.begin(), counts.end()) - counts.begin());
  std::vector<torch::Tensor> state = d.params;
  state.insert(state.end(), d.buffers.begin(), d.buffers.end());
  return broadcast_tensors(*d.group, state, source);
}

} // namespace troupe::training
