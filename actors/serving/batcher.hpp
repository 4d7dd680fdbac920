// The batcher of one model replica (protocol: batcher_actor in
// messages/serving_protocol.hpp). Queries wait in a queue ordered by
// deadline; while the container is idle, the batcher sends it the most
// urgent queries, up to the batch size AIMD has learned, and answers each
// query with its output.
//
//   predict(input, budget) ──▶ queue (by deadline) ──▶ [container idle?]
//        ▲                        │ expired: timeout    │ take <= limit
//        └── output / error ◀─────┴──────────────────── predict(batch)
//                                                        latency -> AIMD
//
// A container runs one batch at a time (one model on one core); more
// replicas give more parallelism. The batcher keeps up to
// `batches_in_flight` batches sent, so that the next one already waits in
// the container's mailbox when the last one ends: the container does not
// idle for a hand-off between threads, which on a small VM costs more than
// a small batch. Only a full batch goes out behind a running one.
#pragma once

#include <cstdint>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/serving/aimd_batch_sizer.hpp"
#include "messages/serving_protocol.hpp"

namespace troupe::serving {

struct batcher_options {
  /// name:version, for stats and errors.
  std::string model;
  uint32_t replica = 0;
  aimd_options aimd;
  /// Clipper's delayed batching: wait up to this long for a batch to fill
  /// before sending a partial one; 0 sends at once.
  int64_t batch_delay_us = 0;
  /// Batches sent to the container and not yet answered, at most; 1: one
  /// at a time.
  uint32_t batches_in_flight = 2;
  /// Queries queued beyond this are refused (errc::unavailable) at once:
  /// an overloaded replica sheds load instead of growing without bound.
  uint64_t max_queue = 20'000;
};

batcher_actor spawn_batcher(caf::actor_system& sys, model_container_actor container,
                            batcher_options options);

} // namespace troupe::serving
