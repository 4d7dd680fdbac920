#include "compiler/schedules/auto_schedule.hpp"

#include "compiler/schedules/conv2d_schedule.hpp"
#include "compiler/schedules/dense_schedule.hpp"
#include "compiler/schedules/depthwise_schedule.hpp"
#include "compiler/schedules/injective_schedule.hpp"

namespace troupe::compiler {

namespace {

// The template of `master_op`, if it has one and `master` fits it.
bool apply_template(schedule& s, const tensor& master, const tensor& output,
                    const std::string& master_op, const template_knobs& knobs) {
  if (master_op == "dense_packed" && master->shape.size() == 2) {
    // The panel width is the packed weight's innermost extent.
    for (auto& input : direct_inputs(s.at(master).op))
      if (input->shape.size() == 3) {
        schedule_dense_packed(s, master, output, input->shape[2]);
        return true;
      }
  }
  // A depthwise convolution reduces over the kernel window only.
  if (master_op == "conv2d" && master->shape.size() == 4
      && reduction_axes(s.at(master).op).size() == 2) {
    schedule_depthwise_conv2d(s, master, output);
    return true;
  }
  if (master_op == "depthwise_conv2d_nchwc" && master->shape.size() == 5) {
    schedule_depthwise_conv2d_nchwc(s, master, output, knobs.depthwise);
    return true;
  }
  if (master_op == "conv2d_nchwc" && master->shape.size() == 5) {
    schedule_conv2d_nchwc(s, master, output, knobs.conv);
    return true;
  }
  return false;
}

} // namespace

void schedule_fused_group(schedule& s, const tensor& output, const std::string& master_op,
                          const template_knobs& knobs) {
  std::vector<tensor> reductions;
  for (auto* st : s.stages()) {
    if (st->op->kind != tensor_kind::compute || st->handle == output)
      continue;
    if (reduction_axes(st->op).empty())
      s.compute_inline(st->handle);
    else
      reductions.push_back(st->handle);
  }
  if (reductions.empty() && !reduction_axes(output).empty()) {
    if (!apply_template(s, output, output, master_op, knobs))
      schedule_injective(s, output);
    return;
  }
  if (reductions.size() == 1) {
    auto& master = reductions.front();
    if (master->shape == output->shape) {
      if (apply_template(s, master, output, master_op, knobs))
        return;
    } else if (apply_template(s, master, master, master_op, knobs)) {
      // An epilogue that changes the shape (a layout transform back to
      // NCHW) cannot share the master's tiles: the master runs its
      // template at the root, the epilogue the default schedule.
      s.compute_root(master);
      schedule_injective(s, output);
      return;
    }
  }
  for (auto& r : reductions)
    schedule_injective(s, r);
  schedule_injective(s, output);
}

} // namespace troupe::compiler
