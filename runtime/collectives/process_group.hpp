// Collectives over a fixed set of ranks, after torch.distributed's process
// groups: allreduce, broadcast, allgather, barrier. Every call is
// asynchronous and returns a work handle; a backend runs its operations in
// the order they were issued, which must be the same order on every rank.
// REQUIRES (all calls): buffers stay alive and untouched until the work is done.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "messages/tensor.hpp"

namespace troupe::collectives {

enum class reduce_op { sum, average };

/// A pending collective operation.
class work {
public:
  virtual ~work() = default;

  /// Blocks until the operation completed; its error (naming the operation
  /// and the cause, e.g. a dead peer) or none.
  virtual caf::error wait() = 0;

  /// True once the operation completed, successfully or not.
  virtual bool done() const = 0;

  /// Runs `callback` with the result once done (at once if already done), on
  /// the backend's thread: keep it short, e.g. send an actor message.
  virtual void on_done(std::function<void(const caf::error&)> callback) = 0;
};

using work_ptr = std::shared_ptr<work>;

class process_group {
public:
  virtual ~process_group() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;

  /// "gloo", "ucx" or "nccl".
  virtual std::string backend() const = 0;

  /// In-place allreduce of `count` elements of `type` (float32, float64 or
  /// float16) at `data`.
  virtual work_ptr allreduce(void* data, size_t count, dtype type, reduce_op op) = 0;

  /// Copies `bytes` at `data` from rank `root` to every rank.
  virtual work_ptr broadcast(void* data, size_t bytes, int root) = 0;

  /// Gathers `bytes_per_rank` from every rank into `output` (size() times
  /// that many bytes, in rank order).
  virtual work_ptr allgather(const void* input, void* output, size_t bytes_per_rank) = 0;

  /// Completes once every rank has entered the barrier.
  virtual work_ptr barrier() = 0;
};

/// Where the ranks of one run meet, as `troupe train` passes it to each rank
/// through the environment (TROUPE_RANK, TROUPE_WORLD_SIZE,
/// TROUPE_RENDEZVOUS = host:port of a node whose state store is registered as
/// TROUPE_RENDEZVOUS_STORE, TROUPE_RUN_ID, TROUPE_BACKEND).
struct rendezvous_info {
  int rank = 0;
  int world_size = 1;
  std::string address;        ///< host:port of a cluster member
  std::string store_name;     ///< directory name of the state store to meet in
  std::string run_id;         ///< keys are prefixed with it: runs never mix
  std::string backend = "gloo";
  std::string interface_host = "127.0.0.1";  ///< address this rank listens on
  std::chrono::milliseconds timeout{30000};  ///< per collective and for meeting
  bool debug = false;  ///< TROUPE_DEBUG_COLLECTIVES=1: fingerprint every collective
};

/// Reads rendezvous_info from the environment; invalid_config naming the
/// variable that is missing or malformed.
caf::expected<rendezvous_info> rendezvous_from_env();

} // namespace troupe::collectives
