// Tuning tasks and their search spaces (AutoTVM's templates): an operator
// with fixed shapes declares knobs (tile sizes at several levels, loop
// orders, unrolling, packing, tensorization), and a config, one value per
// knob, maps to a schedule and so to a lowered function. A config that
// does not fit the shapes is refused with a compile_error (the tuner
// records it as an invalid candidate).
#pragma once

#include "compiler/ir/stmt.hpp"
#include "compiler/schedules/conv2d_schedule.hpp"
#include "compiler/schedules/depthwise_schedule.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace troupe::compiler {

/// An operator to tune: "matmul" with shape {M, N, K}; "conv2d" (NCHWc,
/// batch 1) with shape {C, H, W, K (out channels), R (kernel), stride,
/// pad}; or "depthwise_conv2d" (NCHW16c, batch 1) with shape {C, H, W, R,
/// stride, pad}.
struct tuning_task {
  std::string op;
  std::vector<int64_t> shape;
  /// A stable name, e.g. "matmul_1024x1024x1024"; keys the records.
  std::string name() const;
  /// Floating point operations of one run (for GFLOP/s).
  double flops() const;
};

struct knob {
  std::string name;
  std::vector<int64_t> values;
};

/// One value per knob, in the space's knob order.
using tuning_config = std::vector<int64_t>;

struct search_space {
  std::vector<knob> knobs;
  /// The number of configs (the product of the knobs' sizes).
  uint64_t size() const;
  /// The config with mixed-radix index `index` (< size()).
  tuning_config at(uint64_t index) const;
  /// The index of `config`; throws when a value is not among its knob's.
  uint64_t index_of(const tuning_config& config) const;
  std::string describe(const tuning_config& config) const;
};

/// The knobs of `task`'s template. Throws compile_error for an unknown op
/// or a bad shape.
search_space space_of(const tuning_task& task);

/// Whether `config` has one value per knob of `task`'s template (a record
/// made with an older template may not: it is skipped, not applied).
bool fits_template(const tuning_task& task, const tuning_config& config);

/// Why `config` cannot be built for `task` (a tile that does not divide
/// the shapes, too many registers, a knob value not in the space), or ""
/// when it can. Cheap (no lowering): the explorer never proposes a config
/// with a reason, so refusals cost no trials.
std::string config_refusal(const tuning_task& task, const tuning_config& config);

/// The config the template picks by itself for `task` (the untuned
/// schedule), when it is a config of the space: tuning measures it first,
/// so a tuned schedule is never worse than the default by more than noise.
std::optional<tuning_config> default_config(const tuning_task& task);

/// The conv2d template's knobs that `config` sets for conv2d task `task`.
/// Throws compile_error when they do not fit its shapes (a tile that does
/// not divide the output, or more accumulators than vector registers).
conv2d_config conv2d_config_of(const tuning_task& task, const tuning_config& config);

/// The same for a depthwise_conv2d task.
depthwise_config depthwise_config_of(const tuning_task& task, const tuning_config& config);

/// The candidate program: the task's computation under `config`'s
/// schedule; a convolution ends with a ReLU (the epilogue a model's layer
/// fuses, which changes its loop structure and register use). Parameters:
/// inputs then the output (matmul: A, B, C; conv2d:
/// data [1, C/cb, H, W, cb], packed weight, output [1, K/16, OH, OW, 16];
/// depthwise_conv2d: data [1, C/16, H, W, 16], weight [C/16, R, R, 16],
/// output [1, C/16, OH, OW, 16]).
lowered_func build_candidate(const tuning_task& task, const tuning_config& config,
                             const std::string& name = "candidate");

/// The element count of each parameter of build_candidate's function.
std::vector<int64_t> parameter_sizes(const tuning_task& task);

} // namespace troupe::compiler
