#include "runtime/collectives/ucx_mesh.hpp"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <poll.h>

#include <gloo/common/error.h>

#include "messages/errors.hpp"
#include "runtime/collectives/store_rendezvous.hpp"

namespace troupe::collectives {

namespace {

// Used when the user did not choose with UCX_TLS. UCX picks per peer among
// them, but only transports that can report a dead peer qualify for the
// PEER error mode we need (see create_endpoint): in UCX 1.13 that rules out
// the shared-memory FIFOs (posix, sysv), so ranks on one host talk TCP over
// loopback too.
constexpr const char* default_transports = "sm,tcp,self";

// UCX notices a silent peer by keepalive; a short interval lets survivors
// fail fast with unavailable instead of waiting for the operation timeout.
constexpr const char* keepalive_interval = "1s";

// UCX's TCP transport copies sends through 8 KiB segments by default: one
// system call and one progress round per segment. With 256 KiB segments a
// 16 MiB allreduce of two ranks on loopback took 8.2-9.7 ms here instead of
// 14.9-17.7 (Gloo: 13.7-16.1), 4 MiB 2.8 instead of 4.0-4.7, 64 KiB 0.14
// instead of 0.24; 64 MiB 67-73 ms instead of 83-91 (Gloo: 57-61). 1 MiB
// segments did better at 64 MiB and worse at 16 MiB. Each TCP endpoint
// holds a send and a receive buffer of this size. (The names are the TCP
// transport's own fields; ucp_config_modify passes them on to it.)
constexpr const char* tcp_segment_size = "256k";

// How long teardown waits for endpoints to flush; a peer that is gone must
// not hold up this process's exit.
constexpr std::chrono::milliseconds close_bound{3000};

// How long a failed exchange waits for its cancelled requests to let go of
// the caller's buffers.
constexpr std::chrono::milliseconds cancel_bound{2000};

constexpr ucp_tag_t full_mask = ~ucp_tag_t{0};

// 16 bits of operation (operations run one at a time, so only a stray from
// the one before must not match), 20 of step, 8 of part, 20 of sender.
ucp_tag_t make_tag(uint32_t seq, uint32_t step, uint32_t part, int sender) {
  static_assert(ucx_mesh::max_parts == 1u << 8 && ucx_mesh::max_size <= 1 << 20);
  return (ucp_tag_t{seq & 0xFFFFu} << 48) | (ucp_tag_t{step & 0xFFFFFu} << 28)
         | (ucp_tag_t{part & 0xFFu} << 20) | ucp_tag_t{static_cast<uint32_t>(sender) & 0xFFFFFu};
}

std::string status_text(ucs_status_t status) { return ucs_status_string(status); }

caf::error ucx_failure(const std::string& where, const std::string& call, ucs_status_t status) {
  return make_error(errc::unavailable, where + ": " + call + " failed: " + status_text(status));
}

// store_rendezvous speaks Gloo's exceptions; their text already names the
// key and the wait, so keep it and choose the code by it.
caf::error store_failure(const std::string& where, const std::exception& e) {
  std::string text = e.what();
  auto code = text.find("timeout") != std::string::npos
                  || text.find("did not appear") != std::string::npos
                || text.find("did not answer") != std::string::npos
                ? errc::timeout
                : errc::unavailable;
  return make_error(code, where + ": " + text);
}

} // namespace

// -- construction -------------------------------------------------------------

caf::expected<std::unique_ptr<ucx_mesh>>
ucx_mesh::connect(store_rendezvous& store, int rank, int size,
                  std::chrono::milliseconds timeout, const std::string& where) {
  std::unique_ptr<ucx_mesh> mesh{new ucx_mesh(rank, size)};
  ucp_config_t* config = nullptr;
  if (auto status = ucp_config_read(nullptr, nullptr, &config); status != UCS_OK)
    return ucx_failure(where, "reading the UCX configuration", status);
  // The user's UCX_* variables win; ours only fill the gaps.
  if (std::getenv("UCX_TLS") == nullptr)
    ucp_config_modify(config, "TLS", default_transports);
  if (std::getenv("UCX_KEEPALIVE_INTERVAL") == nullptr)
    ucp_config_modify(config, "KEEPALIVE_INTERVAL", keepalive_interval);
  // Only over our own transport list, and only if the user set neither
  // size: TCP refuses a receive segment smaller than the send segment, so
  // one of ours beside one of the user's could stop the backend starting.
  if (std::getenv("UCX_TLS") == nullptr && std::getenv("UCX_TCP_TX_SEG_SIZE") == nullptr
      && std::getenv("UCX_TCP_RX_SEG_SIZE") == nullptr)
    for (auto* key : {"TX_SEG_SIZE", "RX_SEG_SIZE"})
      ucp_config_modify(config, key, tcp_segment_size);
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_ESTIMATED_NUM_EPS;
  params.features = UCP_FEATURE_TAG | UCP_FEATURE_WAKEUP;
  params.estimated_num_eps = static_cast<size_t>(size);
  auto status = ucp_init(&params, config, &mesh->context_);
  ucp_config_release(config);
  if (status != UCS_OK)
    return ucx_failure(where, "ucp_init", status);
  ucp_worker_params_t worker_params{};
  worker_params.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  worker_params.thread_mode = UCS_THREAD_MODE_SINGLE;
  if (status = ucp_worker_create(mesh->context_, &worker_params, &mesh->worker_); status != UCS_OK)
    return ucx_failure(where, "ucp_worker_create", status);
  if (ucp_worker_get_efd(mesh->worker_, &mesh->event_fd_) != UCS_OK)
    mesh->event_fd_ = -1;
  ucp_address_t* address = nullptr;
  size_t address_length = 0;
  if (status = ucp_worker_get_address(mesh->worker_, &address, &address_length); status != UCS_OK)
    return ucx_failure(where, "ucp_worker_get_address", status);
  auto* first = reinterpret_cast<const char*>(address);
  std::vector<char> mine{first, first + address_length};
  ucp_worker_release_address(mesh->worker_, address);
  std::vector<std::vector<char>> addresses(static_cast<size_t>(size));
  try {
    store.set(std::to_string(rank), mine);
    std::vector<std::string> others;
    for (int peer = 0; peer < size; ++peer)
      if (peer != rank)
        others.push_back(std::to_string(peer));
    // One wait for all: a late rank costs one timeout, not one per rank.
    store.wait(others, timeout);
    for (int peer = 0; peer < size; ++peer)
      if (peer != rank)
        addresses[static_cast<size_t>(peer)] = store.get(std::to_string(peer));
  } catch (const gloo::Exception& e) {
    return store_failure(where, e);
  }
  for (int peer = 0; peer < size; ++peer)
    if (peer != rank)
      if (auto err = mesh->create_endpoint(peer, addresses[static_cast<size_t>(peer)]))
        return make_error(errc::unavailable, where + ": " + describe(err));
  return mesh;
}

caf::error ucx_mesh::create_endpoint(int peer, const std::vector<char>& address) {
  auto& state = peers_[static_cast<size_t>(peer)];
  ucp_ep_params_t params{};
  params.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE
                      | UCP_EP_PARAM_FIELD_ERR_HANDLER;
  params.address = reinterpret_cast<const ucp_address_t*>(address.data());
  // PEER mode: a dead peer fails our requests (and calls on_peer_error)
  // instead of leaving them pending until the timeout, and force-closing
  // endpoints after a failure is defined. It costs the shared-memory FIFOs,
  // about half of a 16 MiB allreduce's time between two local ranks.
  params.err_mode = UCP_ERR_HANDLING_MODE_PEER;
  params.err_handler.cb = &ucx_mesh::on_peer_error;
  params.err_handler.arg = &state;
  if (auto status = ucp_ep_create(worker_, &params, &state.ep); status != UCS_OK) {
    state.ep = nullptr;
    return make_error(errc::unavailable, "cannot connect to rank " + std::to_string(peer)
                                           + ": " + status_text(status));
  }
  return caf::none;
}

void ucx_mesh::on_peer_error(void* arg, ucp_ep_h, ucs_status_t status) {
  auto* state = static_cast<peer_state*>(arg);
  if (state->failure == UCS_OK)
    state->failure = status;
}

// -- teardown -----------------------------------------------------------------

ucx_mesh::~ucx_mesh() {
  close_endpoints();
  if (worker_ != nullptr)
    ucp_worker_destroy(worker_);
  if (context_ != nullptr)
    ucp_cleanup(context_);
}

void ucx_mesh::close_endpoints() {
  std::vector<void*> closing;
  for (auto& state : peers_) {
    if (state.ep == nullptr)
      continue;
    ucp_request_param_t param{};
    param.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
    // Flushing a failed endpoint would wait for a peer that cannot answer.
    param.flags = failed_ || state.failure != UCS_OK ? UCP_EP_CLOSE_FLAG_FORCE : 0;
    auto request = ucp_ep_close_nbx(state.ep, &param);
    if (UCS_PTR_IS_PTR(request))
      closing.push_back(request);
    state.ep = nullptr;
  }
  auto deadline = clock::now() + close_bound;
  while (!closing.empty() && clock::now() < deadline) {
    ucp_worker_progress(worker_);
    closing.erase(std::remove_if(closing.begin(), closing.end(),
                                 [](void* request) {
                                   if (ucp_request_check_status(request) == UCS_INPROGRESS)
                                     return false;
                                   ucp_request_free(request);
                                   return true;
                                 }),
                  closing.end());
  }
  // Past the bound: UCX releases what is left when the worker is destroyed.
  for (auto* request : closing)
    ucp_request_free(request);
}

// -- exchange -----------------------------------------------------------------

int ucx_mesh::failed_peer() const {
  for (size_t i = 0; i < peers_.size(); ++i)
    if (peers_[i].failure != UCS_OK)
      return static_cast<int>(i);
  return -1;
}

caf::error ucx_mesh::exchange(const std::vector<ucx_transfer>& transfers, uint32_t seq,
                              uint32_t step, clock::time_point deadline,
                              const std::string& what,
                              const std::function<void(size_t)>& on_done) {
  std::vector<pending> posted;
  posted.reserve(transfers.size());
  auto fail = [&](errc code, const std::string& cause) {
    abort(posted);
    return make_error(code, what + " failed: " + cause);
  };
  auto peer_failed = [&](int peer, ucs_status_t status) {
    return fail(errc::unavailable, "rank " + std::to_string(peer) + " is unreachable ("
                                     + status_text(status) + ")");
  };
  for (size_t i = 0; i < transfers.size(); ++i) {
    auto& t = transfers[i];
    ucp_request_param_t param{};  // contiguous bytes, no callback: we poll
    ucs_status_ptr_t request;
    if (t.dir == ucx_transfer::send)
      request = ucp_tag_send_nbx(peers_[static_cast<size_t>(t.peer)].ep, t.data, t.bytes,
                                 make_tag(seq, step, t.part, rank_), &param);
    else
      request = ucp_tag_recv_nbx(worker_, t.data, t.bytes, make_tag(seq, step, t.part, t.peer),
                                 full_mask, &param);
    if (UCS_PTR_IS_ERR(request))
      return peer_failed(t.peer, UCS_PTR_STATUS(request));
    if (request != nullptr)
      posted.push_back(pending{request, t.peer, i});
    else if (on_done)
      on_done(i);  // completed at once
  }
  for (;;) {
    while (ucp_worker_progress(worker_) != 0) {
      // drain: one call handles a bounded number of events
    }
    for (auto it = posted.begin(); it != posted.end();) {
      auto status = ucp_request_check_status(it->request);
      if (status == UCS_INPROGRESS) {
        ++it;
        continue;
      }
      ucp_request_free(it->request);
      auto peer = it->peer;
      auto index = it->index;
      it = posted.erase(it);
      if (status != UCS_OK)
        return peer_failed(peer, status);
      if (on_done)
        on_done(index);
    }
    if (posted.empty())
      return caf::none;
    if (auto peer = failed_peer(); peer >= 0)
      return peer_failed(peer, peers_[static_cast<size_t>(peer)].failure);
    if (clock::now() >= deadline) {
      std::string waiting;
      for (auto& p : posted)
        if (waiting.find("rank " + std::to_string(p.peer)) == std::string::npos)
          waiting += (waiting.empty() ? "rank " : ", rank ") + std::to_string(p.peer);
      return fail(errc::timeout, "Timed out in step " + std::to_string(step)
                                   + " waiting for " + waiting);
    }
    wait_for_events(deadline);
  }
}

void ucx_mesh::abort(std::vector<pending>& posted) {
  // The caller's buffers must be free when its work completes: cancel the
  // receives and force-close every endpoint, which fails the sends. The
  // group is broken from here on, as after any Gloo failure.
  failed_ = true;
  for (auto& p : posted)
    ucp_request_cancel(worker_, p.request);
  close_endpoints();
  auto deadline = clock::now() + cancel_bound;
  while (!posted.empty() && clock::now() < deadline) {
    ucp_worker_progress(worker_);
    posted.erase(std::remove_if(posted.begin(), posted.end(),
                                [](const pending& p) {
                                  if (ucp_request_check_status(p.request) == UCS_INPROGRESS)
                                    return false;
                                  ucp_request_free(p.request);
                                  return true;
                                }),
                 posted.end());
  }
  for (auto& p : posted)
    ucp_request_free(p.request);
  posted.clear();
}

void ucx_mesh::wait_for_events(clock::time_point deadline) {
  if (event_fd_ < 0) {
    std::this_thread::yield();
    return;
  }
  // Arm, then sleep on the worker's fd; BUSY means events arrived since the
  // last progress. Sleeps are capped so keepalive and the deadline are
  // checked even if a transport forgets to signal.
  if (ucp_worker_arm(worker_) == UCS_ERR_BUSY)
    return;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  auto ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, 100));
  pollfd fd{event_fd_, POLLIN, 0};
  ::poll(&fd, 1, ms);
}

} // namespace troupe::collectives
