// One rank of the DDP conformance runs: started by `troupe train --nproc N`
// (see ddp.test.cpp), it checks one property of DDP against local training
// and prints "ddp ok: <mode>" on success; anything else exits non-zero after
// printing what differed.
#include <cmath>
#include <iostream>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/training/distributed_data_parallel.hpp"
#include "messages/errors.hpp"
#include "runtime/collectives/checked_process_group.hpp"
#include "runtime/collectives/make_process_group.hpp"
#include "runtime/node.hpp"

using namespace troupe;
using namespace troupe::training;

namespace {

struct NetImpl : torch::nn::Module {
  NetImpl(int64_t hidden, bool with_unused_branch, bool tied = false) {
    fc1 = register_module("fc1", torch::nn::Linear(20, hidden));
    fc2 = register_module("fc2", torch::nn::Linear(hidden, hidden));
    fc3 = register_module("fc3", torch::nn::Linear(hidden, 5));
    if (with_unused_branch)
      aux = register_module("aux", torch::nn::Linear(hidden, 5));
    if (tied)
      fc2_again = register_module("fc2_again", fc2);  // the same weights, listed twice
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(fc1->forward(x));
    x = torch::relu(fc2->forward(x));
    if (fc2_again)
      x = torch::relu(fc2_again->forward(x));
    auto out = fc3->forward(x);
    return use_aux ? out + aux->forward(x) : out;  // aux is unused unless asked
  }
  bool use_aux = false;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr}, aux{nullptr}, fc2_again{nullptr};
};
TORCH_MODULE(Net);

// The same data on every rank: rank r trains on rows [r*b, (r+1)*b) of it.
std::pair<torch::Tensor, torch::Tensor> full_batch(int64_t rows, int64_t step) {
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(1234 + step));
  auto x = torch::randn({rows, 20}, gen);
  auto y = torch::randint(0, 5, {rows}, gen);
  return {x, y};
}

double max_relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  auto scale = std::max(b.abs().max().item<double>(), 1e-12);
  return (a - b).abs().max().item<double>() / scale;
}

int fail(const std::string& what) {
  std::cout << "ddp FAILED: " << what << std::endl;
  return 1;
}

// Copies `from`'s parameters into `to` (the local reference model).
void copy_parameters(Net& from, Net& to) {
  torch::NoGradGuard no_grad;
  auto src = from->parameters();
  auto dst = to->parameters();
  for (size_t i = 0; i < src.size(); ++i)
    dst[i].copy_(src[i]);
}

// Gradients of `reference` on the whole batch (loss scaled by `loss_scale`)
// vs. `model`'s averaged ones.
double compare_gradients(Net& model, Net& reference, const torch::Tensor& x,
                         const torch::Tensor& y, double loss_scale = 1.0) {
  reference->zero_grad();
  (torch::nn::functional::cross_entropy(reference->forward(x), y) * loss_scale).backward();
  double worst = 0;
  auto mine = model->named_parameters();
  auto theirs = reference->named_parameters();
  for (auto& item : mine) {
    if (!item.value().grad().defined())
      continue;
    worst = std::max(worst, max_relative_error(item.value().grad(), theirs[item.key()].grad()));
  }
  return worst;
}

// True if every rank holds bit-identical parameters.
bool identical_across_ranks(collectives::process_group& group, Net& model) {
  auto flat = torch::cat([&] {
    std::vector<torch::Tensor> parts;
    for (auto& p : model->parameters())
      parts.push_back(p.detach().reshape({-1}));
    return parts;
  }());
  auto n = static_cast<size_t>(flat.numel());
  std::vector<float> all(n * static_cast<size_t>(group.size()));
  if (group.allgather(flat.data_ptr<float>(), all.data(), n * sizeof(float))->wait())
    return false;
  for (int r = 1; r < group.size(); ++r)
    if (std::memcmp(all.data(), all.data() + n * static_cast<size_t>(r), n * sizeof(float)) != 0)
      return false;
  return true;
}

// find_unused_parameters with no_sync: aux is used in the no_sync
// micro-batch only. Its gradient from that micro-batch is this rank's
// contribution at the synchronized step, as in local accumulation.
int run_unused_after_no_sync(collectives::process_group& group, caf::actor_system& sys,
                             bool bucket_views) {
  const int64_t b = 8;
  auto rank = group.rank();
  auto world = group.size();
  torch::manual_seed(static_cast<uint64_t>(100 + rank));
  Net model{32, true};
  Net reference{32, true};
  ddp_options options;
  options.first_bucket_bytes = 2048;
  options.bucket_cap_bytes = 4096;
  options.find_unused_parameters = true;
  options.gradient_as_bucket_view = bucket_views;
  auto ddp = distributed_data_parallel<Net>::make(
    model, std::shared_ptr<collectives::process_group>(&group, [](auto*) {}), sys, options);
  if (!ddp)
    return fail(describe(ddp.error()));
  auto& wrapped = **ddp;
  copy_parameters(model, reference);
  for (int step = 0; step < 2; ++step) {
    auto [x, y] = full_batch(b * world * 2, 50 + step);
    model->zero_grad();
    for (int m = 0; m < 2; ++m) {
      model->use_aux = m == 0;
      auto rows = x.narrow(0, (m * world + rank) * b, b);
      auto labels = y.narrow(0, (m * world + rank) * b, b);
      if (m == 0) {
        auto guard = wrapped.no_sync();
        torch::nn::functional::cross_entropy(wrapped.forward(rows), labels).backward();
      } else {
        torch::nn::functional::cross_entropy(wrapped.forward(rows), labels).backward();
      }
    }
    // Local: the mean loss of each micro-batch over all ranks' rows, summed.
    reference->zero_grad();
    for (int m = 0; m < 2; ++m) {
      reference->use_aux = m == 0;
      auto rows = x.narrow(0, m * world * b, world * b);
      auto labels = y.narrow(0, m * world * b, world * b);
      torch::nn::functional::cross_entropy(reference->forward(rows), labels).backward();
    }
    auto aux_grad = model->aux->weight.grad();
    if (!aux_grad.defined())
      return fail("aux lost its gradient from the no_sync micro-batch");
    auto err = max_relative_error(aux_grad, reference->aux->weight.grad());
    auto all = std::max(err, max_relative_error(model->fc1->weight.grad(),
                                                reference->fc1->weight.grad()));
    std::cout << "rank " << rank << " step " << step << " max_rel_err " << all << std::endl;
    if (!(all <= 1e-6))
      return fail("gradients differ from local accumulation: " + std::to_string(all));
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters())
      p.sub_(p.grad() * 0.1);
    for (auto& p : reference->parameters())
      p.sub_(p.grad() * 0.1);
  }
  std::cout << "ddp ok: unused_after_no_sync" << (bucket_views ? " (bucket views)" : "")
            << std::endl;
  return 0;
}

// Debug mode: rank 0 allreduces 10 floats where the others allreduce 20;
// every rank must get an error naming both calls, not a hang.
int run_desync(collectives::process_group& group) {
  auto checked = collectives::make_checked_process_group(
    std::unique_ptr<collectives::process_group>(&group));
  std::vector<float> data(20, 1.0f);
  auto count = group.rank() == 0 ? size_t{10} : size_t{20};
  auto err = checked->allreduce(data.data(), count, dtype::float32,
                                collectives::reduce_op::sum)->wait();
  (void) checked.release();  // `group` is not ours to delete
  if (!err)
    return fail("mismatched allreduces were not detected");
  auto text = describe(err);
  std::cout << "error: " << text << std::endl;
  if (text.find("collective desync at operation 1") == std::string::npos
      || text.find("allreduce(10 float32, sum)") == std::string::npos
      || text.find("allreduce(20 float32, sum)") == std::string::npos)
    return fail("the desync error does not name both calls");
  std::cout << "ddp ok: desync" << std::endl;
  return 0;
}

// Uneven inputs: rank r has 3 + 2r batches. Nobody hangs, the ranks with
// fewer batches shadow the others, and all end with the same model.
int run_join(collectives::process_group& group, caf::actor_system& sys,
             std::shared_ptr<collectives::process_group> shared_group, Net& model,
             const ddp_options& options) {
  auto ddp = distributed_data_parallel<Net>::make(model, shared_group, sys, options);
  if (!ddp)
    return fail(describe(ddp.error()));
  auto& wrapped = **ddp;
  torch::optim::SGD optimizer{model->parameters(), torch::optim::SGDOptions{0.1}};
  auto rank = group.rank();
  int batches = 3 + 2 * rank;
  auto join = wrapped.join();
  for (int i = 0; i < batches; ++i) {
    auto [x, y] = full_batch(8, 100 * rank + i);
    join.before_iteration();
    optimizer.zero_grad();
    torch::nn::functional::cross_entropy(wrapped.forward(x), y).backward();
    optimizer.step();
  }
  if (auto err = join.finish())
    return fail("join failed: " + describe(err));
  auto expected_shadows = 2 * (group.size() - 1 - rank);
  std::cout << "rank " << rank << " shadowed " << join.shadowed() << std::endl;
  if (join.shadowed() != expected_shadows)
    return fail("shadowed " + std::to_string(join.shadowed()) + " iterations, expected "
                + std::to_string(expected_shadows));
  if (!identical_across_ranks(group, model))
    return fail("models differ after join");
  std::cout << "ddp ok: join" << std::endl;
  return 0;
}

int run(const std::string& mode, collectives::process_group& group, caf::actor_system& sys,
        bool bucket_views) {
  const int64_t b = 8;  // rows per rank
  auto rank = group.rank();
  auto world = group.size();
  // Different seeds per rank: DDP must make the replicas equal.
  torch::manual_seed(static_cast<uint64_t>(100 + rank));
  bool branchy = mode == "unused" || mode == "unused_error";
  int64_t hidden = (mode == "mismatch" && rank == world - 1) ? 48 : 32;
  bool tied = mode == "tied";
  Net model{hidden, branchy, tied};
  ddp_options options;
  options.first_bucket_bytes = 2048;  // several buckets even for a small model
  options.bucket_cap_bytes = 4096;
  options.find_unused_parameters = mode == "unused";
  options.gradient_as_bucket_view = bucket_views;
  if (mode == "fp16")
    options.hook = make_fp16_compression_hook();
  if (const char* trace = std::getenv("DDP_TRACE"))
    options.trace_path = std::string{trace} + "." + std::to_string(rank) + ".json";
  if (mode == "mismatch") {
    auto ddp = distributed_data_parallel<Net>::make(model, std::shared_ptr<collectives::process_group>(&group, [](auto*) {}), sys, options);
    if (ddp)
      return fail("mismatched replicas were accepted");
    std::cout << "error: " << describe(ddp.error()) << std::endl;
    if (describe(ddp.error()).find("fc1.weight") == std::string::npos)
      return fail("the error does not name fc1.weight");
    std::cout << "ddp ok: mismatch" << std::endl;
    return 0;
  }
  auto shared_group = std::shared_ptr<collectives::process_group>(&group, [](auto*) {});
  if (mode == "unused_after_no_sync")
    return run_unused_after_no_sync(group, sys, bucket_views);
  if (mode == "join")
    return run_join(group, sys, shared_group, model, options);
  if (mode == "desync")
    return run_desync(group);
  auto ddp = distributed_data_parallel<Net>::make(model, shared_group, sys, options);
  if (!ddp)
    return fail(describe(ddp.error()));
  auto& wrapped = **ddp;
  if (!identical_across_ranks(group, model))
    return fail("parameters differ after construction");
  Net reference{hidden, branchy, tied};
  torch::optim::SGD optimizer{model->parameters(), torch::optim::SGDOptions{0.1}};
  torch::optim::SGD reference_optimizer{reference->parameters(), torch::optim::SGDOptions{0.1}};
  copy_parameters(model, reference);
  int steps = mode == "equivalence" || mode == "fp16" || mode == "tied" ? 5 : 2;
  double tolerance = mode == "fp16" ? 2e-2 : 1e-6;
  for (int step = 0; step < steps; ++step) {
    int micro = mode == "no_sync" ? 3 : 1;  // micro-batches accumulated per step
    auto [x, y] = full_batch(b * world * micro, step);
    if (bucket_views && step == 1) {
      // zero_grad to none (PyTorch's set_to_none): DDP must copy once and
      // make the gradients bucket views again.
      for (auto& p : model->parameters())
        p.mutable_grad() = torch::Tensor();
    } else {
      optimizer.zero_grad();
    }
    for (int m = 0; m < micro; ++m) {
      auto rows = x.narrow(0, (m * world + rank) * b, b);
      auto labels = y.narrow(0, (m * world + rank) * b, b);
      auto loss_of = [&] { return torch::nn::functional::cross_entropy(wrapped.forward(rows), labels); };
      if (m + 1 < micro) {
        auto guard = wrapped.no_sync();
        loss_of().backward();
      } else if (mode == "unused_error") {
        try {
          loss_of().backward();
        } catch (const std::exception& e) {
          std::string what = e.what();
          std::cout << "error: " << what.substr(0, what.find('\n')) << std::endl;
          if (what.find("aux.weight") == std::string::npos || what.find("find_unused_parameters") == std::string::npos)
            return fail("the error does not name aux.weight and the option");
          std::cout << "ddp ok: unused_error" << std::endl;
          return 0;
        }
        return fail("backward with an unused parameter did not fail");
      } else {
        loss_of().backward();
      }
    }
    if (bucket_views && !wrapped.engine().gradients_are_bucket_views())
      return fail("gradient_as_bucket_view is on but a gradient is not in its bucket");
    // Local training on the whole batch. Accumulating `micro` mean losses
    // sums their gradients: the local equivalent scales the loss by micro.
    auto err = compare_gradients(model, reference, x, y, micro);
    std::cout << "rank " << rank << " step " << step << " max_rel_err " << err << std::endl;
    if (!(err <= tolerance))
      return fail("gradients differ from local training: " + std::to_string(err));
    if (mode == "unused" && model->aux->weight.grad().defined())
      return fail("the unused parameter got a gradient");
    optimizer.step();
    reference_optimizer.step();
    if (mode != "fp16" && !identical_across_ranks(group, model))
      return fail("parameters differ across ranks after step " + std::to_string(step));
  }
  if (wrapped.engine().rebuilds() != 1)
    return fail("buckets were rebuilt " + std::to_string(wrapped.engine().rebuilds()) + " times");
  std::cout << "buckets " << wrapped.engine().layout().size() << std::endl;
  std::cout << "ddp ok: " << mode << (bucket_views ? " (bucket views)" : "") << std::endl;
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  // MODE, or MODE+views for gradients as views into the buckets.
  std::string mode = argc > 1 ? argv[1] : "equivalence";
  bool bucket_views = false;
  if (auto plus = mode.find("+views"); plus != std::string::npos) {
    bucket_views = true;
    mode.erase(plus);
  }
  torch::set_num_threads(1);
  auto info = collectives::rendezvous_from_env();
  if (!info) {
    std::cerr << "ddp_worker: " << describe(info.error()) << "\n";
    return 2;
  }
  auto cfg = make_actor_system_config(node_config{});
  caf::actor_system sys{*cfg};
  auto group = collectives::make_process_group(sys, *info);
  if (!group) {
    std::cerr << "ddp_worker: " << describe(group.error()) << "\n";
    return 2;
  }
  return run(mode, **group, sys, bucket_views);
}
