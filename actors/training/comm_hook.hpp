// Communication hooks: how a bucket's gradients cross the process group.
// The default allreduces them as they are; fp16_compression halves the bytes
// on the wire at the cost of precision (PyTorch's fp16_compress_hook).
#pragma once

#include <memory>
#include <string>

#include <torch/torch.h>

#include "runtime/collectives/process_group.hpp"

namespace troupe::training {

class comm_hook {
public:
  virtual ~comm_hook() = default;

  virtual std::string name() const = 0;

  /// Starts reducing `bucket` (a flat float32 tensor) to the average over
  /// all ranks. May keep state per bucket index until finish().
  virtual collectives::work_ptr launch(size_t index, torch::Tensor& bucket,
                                       collectives::process_group& group) = 0;

  /// Called after the work completed: leaves the average in `bucket`.
  virtual void finish(size_t index, torch::Tensor& bucket) = 0;
};

/// Allreduce (average) of the float32 bucket in place.
std::shared_ptr<comm_hook> make_allreduce_hook();

/// Allreduce (sum) of a float32 bucket whose gradients were divided by the
/// world size as they were copied in, which leaves the average: DDP's
/// default when gradients are copied into buckets (not bucket views), as
/// in PyTorch, where the division rides on that copy instead of taking a
/// pass of its own over the reduced bucket.
std::shared_ptr<comm_hook> make_prescaled_allreduce_hook();

/// Casts to float16, allreduces, casts back.
std::shared_ptr<comm_hook> make_fp16_compression_hook();

} // namespace troupe::training
