#include "runtime/collectives/gloo_process_group.hpp"

#include <atomic>
#include <cctype>
#include <csignal>

#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/common/logging.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/transport/tcp/device.h>
#include <gloo/types.h>

#include "messages/errors.hpp"
#include "runtime/collectives/operation_checks.hpp"
#include "runtime/collectives/cpu_elementwise.hpp"
#include "runtime/collectives/store_rendezvous.hpp"

namespace troupe::collectives {

namespace {

// Groups made by this process so far. Every rank makes its groups in the
// same order, so the count names the group in the store's keys and a second
// group of one run never reads the first one's addresses.
std::atomic<uint64_t> groups_made{0};

void ignore_sigpipe() {
  // Gloo writes to its peers with writev(2), which raises SIGPIPE once a
  // peer has died; the default action would kill this rank before it could
  // report the error. A handler the program installed itself is kept.
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
    std::signal(SIGPIPE, SIG_IGN);
}

bool mentions_timeout(std::string text) {
  for (auto& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text.find("timed out") != std::string::npos
         || text.find("timeout") != std::string::npos;
}

// Gloo's messages start with "[/path/to/gloo/file.cc:123] "; the reader
// wants the sentence after it.
std::string gloo_message(const std::exception& e) {
  std::string text = e.what();
  if (!text.empty() && text.front() == '[')
    if (auto end = text.find("] "); end != std::string::npos)
      text.erase(0, end + 2);
  return text;
}

caf::error error_of(const std::string& what, const std::exception& e) {
  auto text = gloo_message(e);
  return make_error(mentions_timeout(text) ? errc::timeout : errc::unavailable,
                    what + " failed: " + text);
}

// -- allreduce by element type ----------------------------------------------

using reduce_fn = void (*)(void*, const void*, const void*, size_t);

template <class T>
void sum_of(void* c, const void* a, const void* b, size_t n) {
  sum_into(static_cast<T*>(c), static_cast<const T*>(a), static_cast<const T*>(b), n);
}

template <class T>
void mean_of_two(void* c, const void* a, const void* b, size_t n) {
  mean_of_two_into(static_cast<T*>(c), static_cast<const T*>(a), static_cast<const T*>(b), n);
}

template <class T>
void divide(void* data, size_t count, int size) {
  divide_in_place(static_cast<T*>(data), count, static_cast<T>(size));
}

// Allreduce in place with Gloo's ring. Gloo applies the reduce function
// world size - 1 times per element, so a world of two takes its average in
// that one reduction, with no pass over the whole result afterwards (the
// conformance tests check it against sum / 2).
template <class T>
void allreduce_as(gloo::AllreduceOptions& opts, void* data, size_t count, reduce_op op,
                  int size) {
  bool fused = op == reduce_op::average && size == 2;
  opts.setOutput(static_cast<T*>(data), count);
  opts.setReduceFunction(static_cast<reduce_fn>(fused ? &mean_of_two<T> : &sum_of<T>));
  gloo::allreduce(opts);
  if (op == reduce_op::average && !fused)
    divide<T>(data, count, size);
}

// float16 keeps Gloo's own sum (it converts through float32 per element).
template <>
void allreduce_as<gloo::float16>(gloo::AllreduceOptions& opts, void* data, size_t count,
                                 reduce_op op, int size) {
  auto* x = static_cast<gloo::float16*>(data);
  opts.setOutput(x, count);
  opts.setReduceFunction(static_cast<reduce_fn>(&gloo::sum<gloo::float16>));
  gloo::allreduce(opts);
  if (op == reduce_op::average)
    divide_half_in_place(x, count, size);
}

} // namespace

// -- construction -------------------------------------------------------------

caf::expected<std::unique_ptr<gloo_process_group>>
gloo_process_group::make(caf::actor_system& sys, const rendezvous_info& info) {
  if (auto err = refuse_rendezvous(info))
    return err;
  ignore_sigpipe();
  auto prefix = "troupe/rendezvous/" + info.run_id + "/group-"
                + std::to_string(groups_made++) + "/";
  auto store = store_rendezvous::connect(sys, info.address, info.store_name, prefix,
                                         info.timeout);
  if (!store)
    return store.error();
  auto where = "rank " + std::to_string(info.rank) + " of " + std::to_string(info.world_size)
               + " meeting in '" + info.store_name + "' (run " + info.run_id + ")";
  std::shared_ptr<gloo::rendezvous::Context> context;
  try {
    gloo::transport::tcp::attr attr;
    attr.hostname = info.interface_host;
    auto device = gloo::transport::tcp::CreateDevice(attr);
    context = std::make_shared<gloo::rendezvous::Context>(info.rank, info.world_size);
    context->setTimeout(info.timeout);
    context->connectFullMesh(**store, device);
  } catch (const std::exception& e) {
    return error_of(where, e);
  }
  std::unique_ptr<gloo_process_group> group{new gloo_process_group(context, info.timeout)};
  // Once every rank has passed this barrier, every rank has read every
  // address, so each can remove its own: the store is left as it was found.
  if (auto err = group->barrier()->wait())
    return make_error(errc::unavailable, where + ": the first barrier failed: " + describe(err));
  (*store)->erase({std::to_string(info.rank)});
  return group;
}

gloo_process_group::gloo_process_group(std::shared_ptr<gloo::Context> context,
                                       std::chrono::milliseconds timeout)
  : context_(std::move(context)),
    rank_(context_->rank),
    size_(context_->size),
    timeout_(timeout) {
  worker_ = std::make_unique<serial_worker>();
}

gloo_process_group::~gloo_process_group() = default;  // worker_ drains first

work_ptr gloo_process_group::enqueue(std::string name, std::function<void(uint32_t)> run) {
  return worker_->submit([this, name = std::move(name), run = std::move(run)](uint32_t tag) {
    if (broken_)
      return refuse_after_failure(name, broken_);
    try {
      run(tag);
      return caf::error{};
    } catch (const std::exception& e) {  // gloo::IoException, gloo::EnforceNotMet, ...
      broken_ = error_of(name, e);
    }
    return broken_;
  });
}

// -- operations ---------------------------------------------------------------

work_ptr gloo_process_group::allreduce(void* data, size_t count, dtype type, reduce_op op) {
  auto name = allreduce_name(count, type, op);
  if (auto err = refuse_allreduce(name, "gloo", data, count, type))
    return completion_work::failed(std::move(err));
  return enqueue(std::move(name), [ctx = context_, timeout = timeout_, size = size_, data,
                                   count, type, op](uint32_t tag) {
    if (count == 0)
      return;
    gloo::AllreduceOptions opts{ctx};
    opts.setTag(tag);
    opts.setTimeout(timeout);
    switch (type) {
      case dtype::float64: allreduce_as<double>(opts, data, count, op, size); break;
      case dtype::float16: allreduce_as<gloo::float16>(opts, data, count, op, size); break;
      default: allreduce_as<float>(opts, data, count, op, size); break;
    }
  });
}

work_ptr gloo_process_group::broadcast(void* data, size_t bytes, int root) {
  auto name = broadcast_name(bytes, root);
  if (auto err = refuse_broadcast(name, data, bytes, root, size_))
    return completion_work::failed(std::move(err));
  return enqueue(std::move(name),
                 [ctx = context_, timeout = timeout_, data, bytes, root](uint32_t tag) {
                   if (bytes == 0)
                     return;
                   gloo::BroadcastOptions opts{ctx};
                   opts.setOutput(static_cast<uint8_t*>(data), bytes);
                   opts.setRoot(root);
                   opts.setTag(tag);
                   opts.setTimeout(timeout);
                   gloo::broadcast(opts);
                 });
}

work_ptr gloo_process_group::allgather(const void* input, void* output, size_t bytes_per_rank) {
  auto name = allgather_name(bytes_per_rank);
  if (auto err = refuse_allgather(name, input, output, bytes_per_rank))
    return completion_work::failed(std::move(err));
  return enqueue(std::move(name), [ctx = context_, timeout = timeout_, size = size_, input,
                                   output, bytes_per_rank](uint32_t tag) {
    if (bytes_per_rank == 0)
      return;
    gloo::AllgatherOptions opts{ctx};
    // Gloo only reads the input, but its buffer type is not const-aware.
    opts.setInput(const_cast<uint8_t*>(static_cast<const uint8_t*>(input)), bytes_per_rank);
    opts.setOutput(static_cast<uint8_t*>(output), bytes_per_rank * static_cast<size_t>(size));
    opts.setTag(tag);
    opts.setTimeout(timeout);
    gloo::allgather(opts);
  });
}

work_ptr gloo_process_group::barrier() {
  return enqueue("barrier", [ctx = context_, timeout = timeout_](uint32_t tag) {
    gloo::BarrierOptions opts{ctx};
    opts.setTag(tag);
    opts.setTimeout(timeout);
    gloo::barrier(opts);
  });
}

} // namespace troupe::collectives
