#include "runtime/collectives/nccl_communicator.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "messages/errors.hpp"
#include "runtime/collectives/store_rendezvous.hpp"

namespace troupe::collectives {

namespace {

using clock = nccl_communicator::clock;

// Collectives within one host often finish within microseconds, so a wait
// yields for its first 2 ms; after that it sleeps between polls, so that a
// long collective (or a frozen peer) costs little CPU.
constexpr std::chrono::milliseconds spin_for{2};
constexpr std::chrono::microseconds poll_sleep{100};

void pause_between_polls(clock::time_point started) {
  if (clock::now() - started < spin_for)
    std::this_thread::yield();
  else
    std::this_thread::sleep_for(poll_sleep);
}

// Scratch grows in whole MiB: gradient buckets of one model differ by a few
// bytes, and each reallocation synchronizes the device.
constexpr size_t scratch_granule = size_t{1} << 20;

bool mentions_timeout(std::string text) {
  for (auto& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text.find("timeout") != std::string::npos
         || text.find("did not appear") != std::string::npos
         || text.find("did not answer") != std::string::npos;
}

// The store throws Gloo's exceptions, whose messages start with
// "[/path/to/file.cc:123] "; the reader wants the sentence after it.
std::string store_message(const std::exception& e) {
  std::string text = e.what();
  if (!text.empty() && text.front() == '[')
    if (auto end = text.find("] "); end != std::string::npos)
      text.erase(0, end + 2);
  return text;
}

caf::error no_device(const std::string& why) {
  return make_error(errc::unavailable,
                    "nccl backend: no usable CUDA device on this host (cudaGetDeviceCount: "
                      + why + ")");
}

} // namespace

caf::expected<int> choose_cuda_device(int rank) {
  int count = 0;
  if (auto rc = cudaGetDeviceCount(&count); rc != cudaSuccess) {
    cudaGetLastError();  // not sticky; leave nothing behind for later calls
    return no_device(cudaGetErrorString(rc));
  }
  if (count <= 0)
    return no_device("0 devices");
  const char* chosen = std::getenv("TROUPE_CUDA_DEVICE");
  if (chosen == nullptr || *chosen == '\0')
    return rank % count;
  char* end = nullptr;
  errno = 0;
  long device = std::strtol(chosen, &end, 10);
  if (errno != 0 || *end != '\0' || device < 0 || device >= count)
    return make_error(errc::invalid_config,
                      std::string{"TROUPE_CUDA_DEVICE='"} + chosen
                        + "' is not a CUDA device of this host (0.."
                        + std::to_string(count - 1) + ")");
  return static_cast<int>(device);
}

// -- construction -------------------------------------------------------------

caf::expected<std::unique_ptr<nccl_communicator>>
nccl_communicator::connect(store_rendezvous& store, int rank, int size, int device,
                           std::chrono::milliseconds timeout, const std::string& where) {
  std::unique_ptr<nccl_communicator> self{new nccl_communicator(rank, size, device, timeout)};
  auto what = where + ": setting up NCCL on CUDA device " + std::to_string(device);
  if (auto rc = cudaSetDevice(device); rc != cudaSuccess)
    return self->cuda_failure(rc, "cudaSetDevice", what);
  // Non-blocking: the legacy default stream would serialize our copies and
  // collectives with every other stream of the process (e.g. libtorch's).
  if (auto rc = cudaStreamCreateWithFlags(&self->stream_, cudaStreamNonBlocking);
      rc != cudaSuccess)
    return self->cuda_failure(rc, "cudaStreamCreateWithFlags", what);
  ncclUniqueId id{};
  try {
    if (rank == 0) {
      if (auto rc = ncclGetUniqueId(&id); rc != ncclSuccess)
        return self->nccl_failure(rc, what);
      store.set(nccl_unique_id_key,
                std::vector<char>(id.internal, id.internal + sizeof(id.internal)));
    } else {
      auto bytes = store.get(nccl_unique_id_key);
      if (bytes.size() != sizeof(id.internal))
        return make_error(errc::interface_mismatch,
                          what + " failed: the stored ncclUniqueId has "
                            + std::to_string(bytes.size()) + " bytes, not "
                            + std::to_string(sizeof(id.internal)));
      std::memcpy(id.internal, bytes.data(), bytes.size());
    }
  } catch (const std::exception& e) {  // gloo::IoException from the store
    auto text = store_message(e);
    return make_error(mentions_timeout(text) ? errc::timeout : errc::unavailable,
                      where + ": " + text);
  }
  // Non-blocking, so that a rank that never arrives cannot hang us in
  // ncclCommInitRank: we poll, and abort at the deadline.
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  auto deadline = clock::now() + timeout;
  auto rc = ncclCommInitRankConfig(&self->comm_, size, id, rank, &config);
  if (auto err = self->launched(rc, what, deadline))
    return err;
  return self;
}

nccl_communicator::~nccl_communicator() {
  if (comm_ != nullptr) {
    // Every operation was waited for, so finalizing only has to release
    // NCCL's connections; settle() aborts if even that hangs on a peer.
    auto rc = ncclCommFinalize(comm_);
    if (rc == ncclInProgress)
      (void) settle("finalizing the communicator", clock::now() + timeout_);
    else if (rc != ncclSuccess)
      (void) fail(false, "");
    if (comm_ != nullptr)
      ncclCommDestroy(comm_);
  }
  if (scratch_ != nullptr)
    cudaFree(scratch_);
  if (stream_ != nullptr)
    cudaStreamDestroy(stream_);
}

// -- buffers ------------------------------------------------------------------

bool nccl_communicator::on_device(const void* p) const {
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, p) != cudaSuccess) {
    cudaGetLastError();  // older drivers reject plain host pointers
    return false;
  }
  return (attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged)
         && attr.device == device_;
}

caf::expected<void*> nccl_communicator::scratch(size_t bytes, const std::string& what) {
  if (bytes <= scratch_bytes_)
    return scratch_;
  if (scratch_ != nullptr) {
    // The stream is idle here: every operation waits for its own work.
    cudaFree(scratch_);
    scratch_ = nullptr;
    scratch_bytes_ = 0;
  }
  auto want = (bytes + scratch_granule - 1) / scratch_granule * scratch_granule;
  if (auto rc = cudaMalloc(&scratch_, want); rc != cudaSuccess) {
    scratch_ = nullptr;
    // Also fatal for the group: the other ranks go on into the collective.
    return cuda_failure(rc, "cudaMalloc of " + std::to_string(want) + " bytes", what);
  }
  scratch_bytes_ = want;
  return scratch_;
}

caf::error nccl_communicator::copy(void* dst, const void* src, size_t bytes,
                                   const std::string& what) {
  if (auto rc = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream_); rc != cudaSuccess)
    return cuda_failure(rc, "cudaMemcpyAsync", what);
  return caf::none;
}

// -- progress -----------------------------------------------------------------

caf::error nccl_communicator::launched(ncclResult_t result, const std::string& what,
                                       clock::time_point deadline) {
  if (result == ncclSuccess)
    return caf::none;
  if (result == ncclInProgress)
    return settle(what, deadline);
  return nccl_failure(result, what);
}

caf::error nccl_communicator::settle(const std::string& what, clock::time_point deadline) {
  return poll(what, deadline, until::nccl_queued);
}

caf::error nccl_communicator::wait(const std::string& what, clock::time_point deadline) {
  return poll(what, deadline, until::stream_drained);
}

caf::error nccl_communicator::poll(const std::string& what, clock::time_point deadline,
                                   until goal) {
  auto started = clock::now();
  for (;;) {
    if (comm_ == nullptr)
      return make_error(errc::unavailable, what + " failed: the communicator was aborted");
    // NCCL reports a failed peer here; the stream alone would just never
    // finish.
    ncclResult_t state = ncclSuccess;
    if (auto rc = ncclCommGetAsyncError(comm_, &state); rc != ncclSuccess)
      return nccl_failure(rc, what);
    if (state != ncclSuccess && state != ncclInProgress)
      return nccl_failure(state, what);
    if (goal == until::nccl_queued) {
      if (state == ncclSuccess)
        return caf::none;
    } else {
      auto rc = cudaStreamQuery(stream_);
      if (rc == cudaSuccess)
        return caf::none;
      if (rc != cudaErrorNotReady)
        return cuda_failure(rc, "cudaStreamQuery", what);
    }
    if (clock::now() >= deadline)
      return fail(true, what + " failed: no progress within " + std::to_string(timeout_.count())
                          + " ms");
    pause_between_polls(started);
  }
}

// -- failures -----------------------------------------------------------------

caf::error nccl_communicator::fail(bool timed_out, const std::string& text) {
  bool aborted = comm_ != nullptr;
  if (aborted) {
    // Stops NCCL's kernels and proxy threads, so that the stream drains and
    // the buffers are ours again.
    ncclCommAbort(comm_);
    comm_ = nullptr;
  }
  return make_error(timed_out ? errc::timeout : errc::unavailable,
                    text + (aborted ? "; the communicator was aborted" : ""));
}

caf::error nccl_communicator::nccl_failure(ncclResult_t result, const std::string& what) {
  std::string text = what + " failed: NCCL: " + ncclGetErrorString(result);
  if (comm_ != nullptr)
    if (const char* last = ncclGetLastError(comm_); last != nullptr && *last != '\0')
      text += std::string{" ("} + last + ")";
  return fail(false, text);
}

caf::error nccl_communicator::cuda_failure(cudaError_t result, const std::string& call,
                                           const std::string& what) {
  cudaGetLastError();  // clears the error unless it is sticky
  return fail(false, what + " failed: " + call + ": " + cudaGetErrorString(result));
}

} // namespace troupe::collectives
