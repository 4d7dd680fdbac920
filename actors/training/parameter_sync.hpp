// Start-of-training agreement between ranks: same parameters everywhere,
// and rank 0's values copied to all.
#pragma once

#include <vector>

#include <caf/error.hpp>
#include <torch/torch.h>

#include "runtime/collectives/process_group.hpp"

namespace troupe::training {

/// Checks that every rank has the same parameter and buffer names, dtypes
/// and shapes; invalid_argument naming the first difference otherwise.
caf::error verify_same_parameters(collectives::process_group& group,
                                  const torch::OrderedDict<std::string, torch::Tensor>& params,
                                  const torch::OrderedDict<std::string, torch::Tensor>& buffers);

/// Copies the tensors' values from rank `root` to every rank, in one
/// coalesced broadcast.
caf::error broadcast_tensors(collectives::process_group& group,
                             std::vector<torch::Tensor>& tensors, int root);

} // namespace troupe::training
