// The autotuner's actors (TVM's explorer, measurers and cost model). Tasks,
// configs and results travel as the JSON of compiler/tuning/measure_protocol.hpp,
// the same text the measurers' worker processes speak, so that a record
// reads the same in a message, a worker's pipe, the store and an export.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"

namespace troupe {

/// Builds and times candidates in isolated worker processes. Registered in
/// the cluster directory as "tuning.measurer.<name>" by `troupe node
/// --service tuning_measurer=<name>`; a tuner spreads its trials over all.
using tuning_measurer_actor = caf::typed_actor<
  /// A measure request (JSON) -> its record (JSON: config, seconds, gflops,
  /// error, device). A candidate that fails, crashes or hangs is a record
  /// with an error, never an error reply.
  caf::replies_to<measure_atom, std::string>::with<std::string>>;

/// The XGBoost cost model of one task.
using cost_model_actor = caf::typed_actor<
  /// Retrains on every record so far (JSON lines); answers how many it used.
  caf::replies_to<train_atom, std::vector<std::string>>::with<uint64_t>,
  /// The trained model, serialized (empty before the first training).
  caf::replies_to<model_atom>::with<std::string>>;

/// Parallel simulated annealing over a task's search space.
using explorer_actor = caf::typed_actor<
  /// Loads a cost model snapshot (from cost_model_actor) to score with.
  caf::replies_to<model_atom, std::string>::with<bool>,
  /// The next `batch` configs to measure (JSON arrays), never ones it
  /// proposed before or was told were measured.
  caf::replies_to<propose_atom, uint64_t>::with<std::vector<std::string>>,
  /// Marks configs (JSON arrays) as measured, e.g. from resumed records.
  caf::replies_to<measure_atom, std::vector<std::string>>::with<uint64_t>>;

} // namespace troupe
