// A full mesh of UCX endpoints between the ranks of one group, and the one
// primitive the UCX collectives are written on: post a step's tagged sends
// and receives, then progress the worker until all are done, a peer fails
// or the deadline passes.
//
// Tags carry (operation sequence number, step, sender rank), so messages of
// back-to-back operations, or of two steps of one, never match each other:
//
//   63        40 39        20 19         0
//   [ seq % 2^24 ][   step   ][ sender    ]
//
// REQUIRES: every call, construction and destruction included, happens on
// one thread (the worker is created UCS_THREAD_MODE_SINGLE).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <ucp/api/ucp.h>

namespace troupe::collectives {

class store_rendezvous;

/// One message of a step.
struct ucx_transfer {
  enum direction { send, recv };
  direction dir;
  int peer;      ///< the receiver of a send, the sender of a receive
  void* data;    ///< only read for a send
  size_t bytes;
  /// Which piece of the step's message this is, when a step sends one
  /// message in pieces (below max_parts): a receive matches the send of the
  /// same step and part.
  uint32_t part = 0;
};

class ucx_mesh {
public:
  using clock = std::chrono::steady_clock;

  /// The largest group whose ranks and steps fit the tag layout.
  static constexpr int max_size = 1 << 19;
  /// Parts per message of one step that the tag layout can tell apart.
  static constexpr uint32_t max_parts = 256;

  /// Creates a context and worker, publishes the worker's address under
  /// key "<rank>" of `store` and connects an endpoint to every other rank.
  /// `where` names this rank in errors. Bounded by `timeout` for meeting.
  static caf::expected<std::unique_ptr<ucx_mesh>>
  connect(store_rendezvous& store, int rank, int size, std::chrono::milliseconds timeout,
          const std::string& where);

  /// Closes the endpoints (flushing them unless the mesh failed), waiting
  /// at most a few seconds, then destroys the worker and the context.
  ~ucx_mesh();

  ucx_mesh(const ucx_mesh&) = delete;
  ucx_mesh& operator=(const ucx_mesh&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

  /// Runs the `transfers` of step `step` of operation `seq` and waits for
  /// all of them. On failure (unavailable: a peer failed; timeout: the
  /// deadline passed) names `what` and the peer, cancels what is still
  /// posted so no buffer stays in use, and leaves the mesh failed.
  /// `on_done`, when given, is called with a transfer's index as soon as it
  /// completes (a received piece can be used while the rest still travels).
  caf::error exchange(const std::vector<ucx_transfer>& transfers, uint32_t seq, uint32_t step,
                      clock::time_point deadline, const std::string& what,
                      const std::function<void(size_t)>& on_done = {});

private:
  /// Per peer, so that UCX's error callback can say who failed.
  struct peer_state {
    ucp_ep_h ep = nullptr;
    ucs_status_t failure = UCS_OK;  ///< set by the error callback
  };

  struct pending {
    void* request;
    int peer;
    size_t index;  ///< into the step's transfers
  };

  ucx_mesh(int rank, int size) : rank_(rank), size_(size), peers_(static_cast<size_t>(size)) {
    // nop
  }

  static void on_peer_error(void* arg, ucp_ep_h ep, ucs_status_t status);

  caf::error create_endpoint(int peer, const std::vector<char>& address);
  int failed_peer() const;
  void abort(std::vector<pending>& posted);
  void close_endpoints();
  void wait_for_events(clock::time_point deadline);

  int rank_;
  int size_;
  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  int event_fd_ = -1;  ///< -1: the transports cannot wake us, so we spin
  bool failed_ = false;
  std::vector<peer_state> peers_;  // never resized: UCX holds pointers into it
};

} // namespace troupe::collectives
