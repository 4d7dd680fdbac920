// The serving system's actors (after Clipper), from the model outward:
//
//   frontend ──predict──▶ app (selection policy, deadline, default output)
//                           │ cache hit: answer at once
//                           ▼
//                         batcher of a model replica (deadline queue, AIMD)
//                           │ one batch at a time
//                           ▼
//                         model container (in-process backend, or a proxy
//                         for a container process over Cap'n Proto RPC)
#pragma once

#include <cstdint>
#include <string>

#include <caf/typed_actor.hpp>
#include <caf/replies_to.hpp>

#include "messages/atoms.hpp"
#include "messages/prediction_sink.hpp"
#include "messages/serving_specs.hpp"
#include "messages/serving_types.hpp"

namespace troupe {

using predict_atom = caf::atom_constant<caf::atom("t_predict")>;
using feedback_atom = caf::atom_constant<caf::atom("t_feedbk")>;
using stats_atom = caf::atom_constant<caf::atom("t_stats")>;
using deadline_atom = caf::atom_constant<caf::atom("t_deadln")>;
using send_rows_atom = caf::atom_constant<caf::atom("t_sendrows")>;
using set_target_atom = caf::atom_constant<caf::atom("t_settgt")>;

/// Clipper's narrow container interface: predict a batch of inputs, one
/// output per input, in order. An error fails the whole batch.
using model_container_actor = caf::typed_actor<
  caf::replies_to<predict_atom, query_inputs>::with<model_outputs>>;

/// The batcher of one model replica. A query carries its deadline as the
/// microseconds it may still take (clocks of different nodes do not
/// agree; a budget does). A query still queued at its deadline is dropped
/// with errc::timeout: the app answers it without this model.
using batcher_actor = caf::typed_actor<
  caf::replies_to<predict_atom, query_input, int64_t>::with<std::string>,
  /// Several queries with one budget (a batch request's rows) in one
  /// message: one output each, in order; if any fails, the whole group
  /// fails (once) and the app answers its rows without this model.
  caf::replies_to<predict_atom, query_inputs, int64_t>::with<model_outputs>,
  caf::replies_to<stats_atom>::with<batcher_stats>,
  /// Sets the batch latency AIMD keeps under, in microseconds.
  caf::reacts_to<set_target_atom, int64_t>,
  /// Internal: the batch-filling delay is over; send what is queued.
  caf::reacts_to<caf::tick_atom>,
  /// Internal: the watchdog timer (number `token`) fired; fail the batches
  /// in flight whose last deadline has passed.
  caf::reacts_to<deadline_atom, uint64_t>>;

/// An application: answers each query by its SLO, with the outputs of the
/// models its policy chose that made the deadline, or its default output.
using app_actor = caf::typed_actor<
  caf::replies_to<predict_atom, query_input>::with<prediction>,
  caf::replies_to<predict_atom, query_inputs>::with<predictions>,
  /// The same for a caller in this process that is not an actor: the app
  /// answers through the sink (all rows at once), not with a reply.
  caf::reacts_to<predict_atom, query_inputs, prediction_sink_ptr>,
  /// Learns from a label: the policy's weights move toward models that
  /// predicted it. Answers once the state is updated (and persisted).
  caf::replies_to<feedback_atom, feedback>::with<bool>,
  caf::replies_to<stats_atom>::with<batcher_stats_list>,
  /// Internal: the deadline timer (number `token`) fired; answer the queries
  /// whose deadline has come with what is there.
  caf::reacts_to<deadline_atom, uint64_t>,
  /// Internal: send the rows gathered for each replica while the app worked
  /// through its mailbox, one group per replica.
  caf::reacts_to<send_rows_atom>>;

using start_replica_atom = caf::atom_constant<caf::atom("t_strepl")>;

/// A node's model host (node service kind "model_host"): starts model
/// replicas on its node for a serving frontend elsewhere. (spec, replica
/// index, owner) answers the replica's container (a model_container_actor);
/// the host stops every replica of an owner that goes down.
using model_host_actor = caf::typed_actor<
  caf::replies_to<start_replica_atom, model_spec, uint32_t, caf::actor>::with<caf::actor>>;

} // namespace troupe
