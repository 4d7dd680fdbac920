// The bucket reducer of DDP: autograd hooks tell it which gradients are
// ready; it launches one allreduce per full bucket, in bucket order (the
// same order on every rank), and answers `finalize` at the end of backward
// once every bucket is reduced.
//
//   forward  -> begin(unused)           marks parameters the graph skips
//   backward -> grad_ready(i) ...       bucket full -> launch its allreduce
//            -> bucket_reduced(b, err)  (from the collective's completion)
//   end      -> finalize                waits for all buckets; error names
//                                        parameters whose gradient never came
#pragma once

#include <cstdint>
#include <vector>

#include <caf/typed_actor.hpp>
#include <caf/replies_to.hpp>

#include "messages/atoms.hpp"

namespace troupe {

using begin_atom = caf::atom_constant<caf::atom("t_begin")>;
using grad_ready_atom = caf::atom_constant<caf::atom("t_gready")>;
using bucket_reduced_atom = caf::atom_constant<caf::atom("t_breduced")>;
using finalize_atom = caf::atom_constant<caf::atom("t_final")>;

using bucket_reducer_actor = caf::typed_actor<
  /// A backward pass will follow; these parameters will get no gradient.
  caf::reacts_to<begin_atom, std::vector<uint64_t>>,
  /// The gradient of parameter i is in its bucket.
  caf::reacts_to<grad_ready_atom, uint64_t>,
  /// A bucket's collective completed (the error is empty on success).
  caf::reacts_to<bucket_reduced_atom, uint64_t, caf::error>,
  /// Answers the arrival order of this pass's gradients once every bucket is
  /// reduced; an error naming the missing parameters' indices otherwise.
  caf::replies_to<finalize_atom>::with<std::vector<uint64_t>>>;

} // namespace troupe
