// One NCCL communicator and what the NCCL collectives need around it: the
// CUDA device it runs on, a stream of its own, a device scratch buffer to
// stage host memory through, and the one primitive every operation ends
// with: wait for the stream without ever blocking in CUDA or NCCL, so that
// a dead or frozen peer becomes an error instead of a hang.
//
// The communicator is non-blocking (ncclConfig_t::blocking = 0): NCCL calls
// return at once and their progress is polled with ncclCommGetAsyncError.
// When a deadline passes or NCCL or CUDA report an error, the communicator
// is aborted (ncclCommAbort stops its kernels) and stays failed.
//
//   connect: cudaSetDevice ─▶ stream ─▶ unique id through the store
//            ─▶ ncclCommInitRankConfig ─▶ poll until ready or deadline
//   operation: copy in ─▶ ncclAllReduce/... ─▶ wait ─▶ copy out ─▶ wait
//
// REQUIRES: every call, construction and destruction included, happens on
// one thread (the current CUDA device is a per-thread setting).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cuda_runtime_api.h>
#include <nccl.h>

namespace troupe::collectives {

class store_rendezvous;

/// The store key under which rank 0 shares its ncclUniqueId (within the
/// group's key prefix).
inline constexpr const char* nccl_unique_id_key = "nccl-unique-id";

/// The CUDA device rank `rank` runs on: TROUPE_CUDA_DEVICE if set, else
/// rank % (devices on this host), so that ranks on one host spread over its
/// GPUs as torchrun's LOCAL_RANK would. Fails at once (unavailable: "nccl
/// backend: no usable CUDA device on this host (...)") without a device or
/// driver; invalid_config for a malformed or out of range TROUPE_CUDA_DEVICE.
caf::expected<int> choose_cuda_device(int rank);

class nccl_communicator {
public:
  using clock = std::chrono::steady_clock;

  /// Makes `device` current, creates the stream, shares rank 0's
  /// ncclUniqueId under key "nccl-unique-id" of `store` and initializes the
  /// communicator. Every step is bounded by `timeout`; `where` names this
  /// rank in errors.
  static caf::expected<std::unique_ptr<nccl_communicator>>
  connect(store_rendezvous& store, int rank, int size, int device,
          std::chrono::milliseconds timeout, const std::string& where);

  /// Finalizes the communicator (bounded by the timeout, aborting it
  /// otherwise), then frees the scratch buffer and the stream.
  ~nccl_communicator();

  nccl_communicator(const nccl_communicator&) = delete;
  nccl_communicator& operator=(const nccl_communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  ncclComm_t comm() const { return comm_; }
  cudaStream_t stream() const { return stream_; }

  /// True if NCCL can use `p` in place: device or managed memory of this
  /// communicator's device. Host memory (pageable or pinned) and other
  /// devices' memory is staged through scratch().
  bool on_device(const void* p) const;

  /// At least `bytes` of device memory (contents undefined), grown as needed.
  caf::expected<void*> scratch(size_t bytes, const std::string& what);

  /// Queues a copy of `bytes` on the stream, in whichever direction the
  /// pointers say (cudaMemcpyDefault).
  caf::error copy(void* dst, const void* src, size_t bytes, const std::string& what);

  /// Checks the result of an NCCL call that queued work on the stream; for
  /// ncclInProgress, polls until NCCL has queued it or `deadline` passes.
  caf::error launched(ncclResult_t result, const std::string& what,
                      clock::time_point deadline);

  /// Polls until everything queued on the stream has run; NCCL's
  /// asynchronous errors and the deadline abort the communicator.
  caf::error wait(const std::string& what, clock::time_point deadline);

private:
  nccl_communicator(int rank, int size, int device, std::chrono::milliseconds timeout)
    : rank_(rank), size_(size), device_(device), timeout_(timeout) {
    // nop
  }

  /// Polls ncclCommGetAsyncError until it leaves ncclInProgress.
  caf::error settle(const std::string& what, clock::time_point deadline);

  enum class until { nccl_queued, stream_drained };

  /// The loop behind settle() and wait(): checks NCCL's asynchronous error,
  /// then whether `goal` is reached; aborts at `deadline`.
  caf::error poll(const std::string& what, clock::time_point deadline, until goal);

  /// Aborts the communicator and returns the error `text` names.
  caf::error fail(bool timed_out, const std::string& text);

  /// An NCCL error, with NCCL's last message; aborts.
  caf::error nccl_failure(ncclResult_t result, const std::string& what);

  /// A CUDA error; aborts (CUDA errors are often sticky).
  caf::error cuda_failure(cudaError_t result, const std::string& call, const std::string& what);

  int rank_;
  int size_;
  int device_;
  std::chrono::milliseconds timeout_;
  ncclComm_t comm_ = nullptr;  ///< null once aborted
  cudaStream_t stream_ = nullptr;
  void* scratch_ = nullptr;
  size_t scratch_bytes_ = 0;
};

} // namespace troupe::collectives
