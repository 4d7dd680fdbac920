#include "runtime/collectives/checked_process_group.hpp"

#include <array>
#include <mutex>
#include <string>
#include <vector>

#include "messages/errors.hpp"
#include "runtime/collectives/completion_work.hpp"

namespace troupe::collectives {

namespace {

enum class op_code : uint64_t { allreduce = 1, broadcast, allgather, barrier };

// What every rank must agree on before an operation runs.
struct fingerprint {
  uint64_t sequence = 0;
  op_code op = op_code::barrier;
  uint64_t count = 0;   // elements (allreduce) or bytes
  uint64_t detail = 0;  // dtype and reduce op (allreduce) or root (broadcast)
};

std::string describe(const fingerprint& f) {
  switch (f.op) {
    case op_code::allreduce:
      return "allreduce(" + std::to_string(f.count) + " "
             + to_string(static_cast<dtype>(f.detail & 0xff))
             + ((f.detail >> 8) == 0 ? ", sum)" : ", average)");
    case op_code::broadcast:
      return "broadcast(" + std::to_string(f.count) + " bytes, root "
             + std::to_string(f.detail) + ")";
    case op_code::allgather:
      return "allgather(" + std::to_string(f.count) + " bytes per rank)";
    case op_code::barrier:
      return "barrier()";
  }
  return "unknown";
}

class checked_process_group : public process_group {
public:
  explicit checked_process_group(std::unique_ptr<process_group> inner)
    : inner_(std::move(inner)) {}

  int rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  std::string backend() const override { return inner_->backend(); }

  work_ptr allreduce(void* data, size_t count, dtype type, reduce_op op) override {
    auto detail = static_cast<uint64_t>(type) | (static_cast<uint64_t>(op) << 8);
    std::lock_guard<std::mutex> guard{mutex_};  // check and issue as one step
    if (auto err = check({0, op_code::allreduce, count, detail}))
      return completion_work::failed(err);
    return inner_->allreduce(data, count, type, op);
  }

  work_ptr broadcast(void* data, size_t bytes, int root) override {
    std::lock_guard<std::mutex> guard{mutex_};  // check and issue as one step
    if (auto err = check({0, op_code::broadcast, bytes, static_cast<uint64_t>(root)}))
      return completion_work::failed(err);
    return inner_->broadcast(data, bytes, root);
  }

  work_ptr allgather(const void* input, void* output, size_t bytes_per_rank) override {
    std::lock_guard<std::mutex> guard{mutex_};  // check and issue as one step
    if (auto err = check({0, op_code::allgather, bytes_per_rank, 0}))
      return completion_work::failed(err);
    return inner_->allgather(input, output, bytes_per_rank);
  }

  work_ptr barrier() override {
    std::lock_guard<std::mutex> guard{mutex_};  // check and issue as one step
    if (auto err = check({0, op_code::barrier, 0, 0}))
      return completion_work::failed(err);
    return inner_->barrier();
  }

private:
  // Blocks for one allgather of every rank's fingerprint and compares.
  caf::error check(fingerprint mine) {
    if (broken_)
      return broken_;
    mine.sequence = ++sequence_;
    std::array<uint64_t, 4> packed{mine.sequence, static_cast<uint64_t>(mine.op), mine.count,
                                   mine.detail};
    std::vector<uint64_t> all(packed.size() * static_cast<size_t>(size()));
    if (auto err = inner_->allgather(packed.data(), all.data(), sizeof(packed))->wait())
      return broken_ = err;
    for (int r = 0; r < size(); ++r) {
      auto* p = all.data() + packed.size() * static_cast<size_t>(r);
      fingerprint theirs{p[0], static_cast<op_code>(p[1]), p[2], p[3]};
      if (theirs.sequence != mine.sequence || theirs.op != mine.op || theirs.count != mine.count
          || theirs.detail != mine.detail)
        return broken_ = make_error(
                 errc::invalid_argument,
                 "collective desync at operation " + std::to_string(mine.sequence) + ": rank "
                   + std::to_string(rank()) + " called " + describe(mine) + ", rank "
                   + std::to_string(r) + " called " + describe(theirs) + " (its operation "
                   + std::to_string(theirs.sequence) + ")");
    }
    return caf::none;
  }

  std::unique_ptr<process_group> inner_;
  std::mutex mutex_;  // callers on several threads (DDP's reducer, the loop)
  uint64_t sequence_ = 0;
  caf::error broken_;  // the first failure; later calls fail with it at once
};

} // namespace

std::unique_ptr<process_group> make_checked_process_group(std::unique_ptr<process_group> inner) {
  return std::make_unique<checked_process_group>(std::move(inner));
}

} // namespace troupe::collectives
