#include "compiler/schedule/schedule.hpp"

#include "compiler/ir/compile_error.hpp"
#include "compiler/ir/mutate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <set>

namespace troupe::compiler {

namespace {

bool reads_tensor(const expr& e, const tensor_node* t) {
  if (!e)
    return false;
  if (e->op == expr_op::tensor_read && e->source.get() == t)
    return true;
  for (auto& arg : e->args)
    if (reads_tensor(arg, t))
      return true;
  return false;
}

expr replace_reads(const expr& e, const tensor_node* from, const tensor& to) {
  return transform(e, [&](const expr& node) -> expr {
    if (node->op != expr_op::tensor_read || node->source.get() != from)
      return node;
    auto copy = std::make_shared<expr_node>(*node);
    copy->source = to;
    return copy;
  });
}

tensor with_body(const tensor& t, expr body) {
  auto copy = std::make_shared<tensor_node>(*t);
  copy->body = std::move(body);
  return copy;
}

} // namespace

bool is_reduction_loop(const stage& s, const expr& var) {
  auto found = s.is_reduction.find(var.get());
  return found != s.is_reduction.end() && found->second;
}

schedule::schedule(std::vector<tensor> outputs) : outputs_(std::move(outputs)) {
  if (outputs_.empty())
    throw compile_error("a schedule needs at least one output tensor");
  for (auto& t : topological_order(outputs_)) {
    auto s = std::make_unique<stage>();
    s->handle = t;
    s->op = t;
    for (auto& axis : t->axes) {
      s->leaf_vars.push_back(axis.var);
      extents_[axis.var.get()] = axis.extent;
    }
    for (auto& axis : reduction_axes(t)) {
      s->leaf_vars.push_back(axis.var);
      s->is_reduction[axis.var.get()] = true;
      extents_[axis.var.get()] = axis.extent;
    }
    by_handle_[t.get()] = s.get();
    stages_.push_back(std::move(s));
  }
}

stage& schedule::mutable_stage(const tensor& t, const char* operation) {
  if (!t)
    throw compile_error(fmt::format("{}: missing tensor", operation));
  auto found = by_handle_.find(t.get());
  if (found == by_handle_.end())
    throw compile_error(fmt::format("{}: tensor '{}' is not part of this schedule", operation,
                                    t->name));
  if (found->second->op->kind == tensor_kind::placeholder)
    throw compile_error(fmt::format("{}: '{}' is an input (placeholder) and has no loops",
                                    operation, t->name));
  return *found->second;
}

const stage& schedule::at(const tensor& t) const {
  auto found = by_handle_.find(t.get());
  if (found == by_handle_.end())
    throw compile_error(fmt::format("tensor '{}' is not part of this schedule",
                                    t ? t->name : "<null>"));
  return *found->second;
}

size_t schedule::leaf_position(const stage& s, const expr& var, const char* operation) const {
  if (var) {
    auto it = std::find(s.leaf_vars.begin(), s.leaf_vars.end(), var);
    if (it != s.leaf_vars.end())
      return static_cast<size_t>(it - s.leaf_vars.begin());
  }
  std::string loops;
  for (auto& leaf : s.leaf_vars)
    loops += (loops.empty() ? "" : ", ") + leaf->name;
  throw compile_error(fmt::format("{}: '{}' is not a loop of stage '{}' (its loops: {})", operation,
                                  var ? var->name : "<null>", s.handle->name, loops));
}

int64_t schedule::extent(const tensor& t, const expr& var) const {
  auto found = extents_.find(var.get());
  if (found == extents_.end())
    throw compile_error(fmt::format("'{}' is not a loop variable of '{}'", var ? var->name : "?",
                                    t->name));
  return found->second;
}

std::pair<expr, expr> schedule::split(const tensor& t, const expr& var, int64_t factor) {
  auto& s = mutable_stage(t, "split");
  auto position = leaf_position(s, var, "split");
  if (factor <= 0)
    throw compile_error(fmt::format("split of '{}' in stage '{}': the factor must be positive, got {}",
                                    var->name, t->name, factor));
  auto outer = make_var(var->name + ".o");
  auto inner = make_var(var->name + ".i");
  int64_t parent_extent = extents_.at(var.get());
  extents_[outer.get()] = (parent_extent + factor - 1) / factor;
  extents_[inner.get()] = factor;
  bool reduction = is_reduction_loop(s, var);
  s.is_reduction[outer.get()] = reduction;
  s.is_reduction[inner.get()] = reduction;
  loop_relation relation;
  relation.is_split = true;
  relation.split = {var, outer, inner, factor};
  s.relations.push_back(relation);
  s.leaf_vars[position] = inner;
  s.leaf_vars.insert(s.leaf_vars.begin() + static_cast<std::ptrdiff_t>(position), outer);
  s.annotations.erase(var.get());
  return {outer, inner};
}

expr schedule::fuse(const tensor& t, const expr& outer, const expr& inner) {
  auto& s = mutable_stage(t, "fuse");
  auto outer_position = leaf_position(s, outer, "fuse");
  auto inner_position = leaf_position(s, inner, "fuse");
  if (inner_position != outer_position + 1)
    throw compile_error(fmt::format("fuse in stage '{}': '{}' must come right before '{}'",
                                    t->name, outer->name, inner->name));
  if (is_reduction_loop(s, outer) != is_reduction_loop(s, inner))
    throw compile_error(fmt::format("fuse in stage '{}': '{}' and '{}' mix a reduction axis with "
                                    "a data-parallel one", t->name, outer->name, inner->name));
  auto fused = make_var(outer->name + "." + inner->name + ".fused");
  extents_[fused.get()] = extents_.at(outer.get()) * extents_.at(inner.get());
  s.is_reduction[fused.get()] = is_reduction_loop(s, outer);
  loop_relation relation;
  relation.is_split = false;
  relation.fuse = {outer, inner, fused};
  s.relations.push_back(relation);
  s.leaf_vars.erase(s.leaf_vars.begin() + static_cast<std::ptrdiff_t>(inner_position));
  s.leaf_vars[outer_position] = fused;
  return fused;
}

std::vector<expr> schedule::tile(const tensor& t, const expr& x, const expr& y, int64_t x_factor,
                                 int64_t y_factor) {
  auto [xo, xi] = split(t, x, x_factor);
  auto [yo, yi] = split(t, y, y_factor);
  reorder(t, {xo, yo, xi, yi});
  return {xo, yo, xi, yi};
}

void schedule::reorder(const tensor& t, const std::vector<expr>& vars) {
  auto& s = mutable_stage(t, "reorder");
  std::vector<size_t> positions;
  std::set<const expr_node*> seen;
  for (auto& var : vars) {
    positions.push_back(leaf_position(s, var, "reorder"));
    if (!seen.insert(var.get()).second)
      throw compile_error(fmt::format("reorder in stage '{}': '{}' is named twice", t->name,
                                      var->name));
  }
  std::sort(positions.begin(), positions.end());
  for (size_t i = 0; i < vars.size(); ++i)
    s.leaf_vars[positions[i]] = vars[i];
}

void schedule::vectorize(const tensor& t, const expr& var) {
  auto& s = mutable_stage(t, "vectorize");
  leaf_position(s, var, "vectorize");
  if (is_reduction_loop(s, var))
    throw compile_error(fmt::format("vectorize in stage '{}': '{}' is a reduction axis (its lanes "
                                    "would write the same element)", t->name, var->name));
  s.annotations[var.get()] = loop_kind::vectorized;
}

void schedule::parallel(const tensor& t, const expr& var) {
  auto& s = mutable_stage(t, "parallel");
  leaf_position(s, var, "parallel");
  if (is_reduction_loop(s, var))
    throw compile_error(fmt::format("parallel in stage '{}': '{}' is a reduction axis (its "
                                    "threads would race on the same element)", t->name,
                                    var->name));
  s.annotations[var.get()] = loop_kind::parallel;
}

void schedule::unroll(const tensor& t, const expr& var) {
  auto& s = mutable_stage(t, "unroll");
  leaf_position(s, var, "unroll");
  s.annotations[var.get()] = loop_kind::unrolled;
}

bool schedule::reads_effectively(const expr& e, const tensor_node* t) const {
  if (!e)
    return false;
  if (e->op == expr_op::tensor_read) {
    if (e->source.get() == t)
      return true;
    auto found = by_handle_.find(e->source.get());
    if (found != by_handle_.end() && found->second->attach == attach_kind::inlined
        && reads_effectively(found->second->op->body, t))
      return true;
  }
  for (auto& arg : e->args)
    if (reads_effectively(arg, t))
      return true;
  return false;
}

void schedule::tensorize(const tensor& t, const expr& var, const tensor_intrinsic& intrinsic) {
  auto& s = mutable_stage(t, "tensorize");
  leaf_position(s, var, "tensorize");
  if (!intrinsic.declaration || intrinsic.declaration->kind != tensor_kind::compute)
    throw compile_error(fmt::format("tensorize in stage '{}': intrinsic '{}' has no declaration",
                                    t->name, intrinsic.name));
  if (intrinsic.symbol.empty())
    throw compile_error(fmt::format("tensorize in stage '{}': intrinsic '{}' names no kernel",
                                    t->name, intrinsic.name));
  s.tensorize_var = var;
  s.intrinsic = std::make_shared<const tensor_intrinsic>(intrinsic);
}

std::vector<const stage*> schedule::consumers(const tensor& t) const {
  std::vector<const stage*> result;
  for (auto& s : stages_)
    if (s->op->kind == tensor_kind::compute && s->attach != attach_kind::inlined
        && reads_effectively(s->op->body, t.get()))
      result.push_back(s.get());
  return result;
}

void schedule::compute_inline(const tensor& t) {
  auto& s = mutable_stage(t, "compute_inline");
  if (!reduction_axes(s.op).empty())
    throw compile_error(fmt::format("compute_inline: '{}' is a reduction and cannot be inlined",
                                    t->name));
  if (std::find(outputs_.begin(), outputs_.end(), t) != outputs_.end())
    throw compile_error(fmt::format("compute_inline: '{}' is an output of the schedule", t->name));
  s.attach = attach_kind::inlined;
  s.attach_stage = nullptr;
  s.attach_var = nullptr;
}

void schedule::compute_root(const tensor& t) {
  auto& s = mutable_stage(t, "compute_root");
  s.attach = attach_kind::root;
  s.attach_stage = nullptr;
  s.attach_var = nullptr;
}

void schedule::compute_at(const tensor& producer, const tensor& consumer, const expr& var) {
  auto& p = mutable_stage(producer, "compute_at");
  auto& c = mutable_stage(consumer, "compute_at");
  if (std::find(outputs_.begin(), outputs_.end(), producer) != outputs_.end())
    throw compile_error(fmt::format("compute_at: '{}' is an output of the schedule",
                                    producer->name));
  if (!reads_effectively(c.op->body, producer.get()))
    throw compile_error(fmt::format("compute_at: stage '{}' does not read '{}'", consumer->name,
                                    producer->name));
  auto readers = consumers(producer);
  if (readers.size() != 1)
    throw compile_error(fmt::format("compute_at: '{}' has {} consumers; it can be computed inside "
                                    "a loop of only one", producer->name, readers.size()));
  if (std::find(c.leaf_vars.begin(), c.leaf_vars.end(), var) == c.leaf_vars.end())
    throw compile_error(fmt::format("compute_at: '{}' is not among the loops of consumer '{}', so "
                                    "'{}' would be computed outside the consumer's loops",
                                    var ? var->name : "<null>", consumer->name, producer->name));
  if (c.attach == attach_kind::inlined)
    throw compile_error(fmt::format("compute_at: consumer '{}' is inlined and has no loops",
                                    consumer->name));
  p.attach = attach_kind::at;
  p.attach_stage = consumer;
  p.attach_var = var;
}

tensor schedule::cache_write(const tensor& t, const std::string& suffix) {
  auto& s = mutable_stage(t, "cache_write");
  if (!s.relations.empty() || !s.annotations.empty())
    throw compile_error(fmt::format("cache_write: stage '{}' is already transformed; call "
                                    "cache_write first", t->name));
  auto local = std::make_shared<tensor_node>(*s.op);
  local->name = t->name + "." + suffix;
  var_map renames;
  for (auto& axis : local->axes) {
    auto fresh = make_var(local->name + "." + axis.var->name.substr(axis.var->name.rfind('.') + 1));
    renames[axis.var.get()] = fresh;
    axis.var = fresh;
  }
  for (auto& axis : reduction_axes(s.op))
    renames[axis.var.get()] = make_var(axis.var->name);
  local->body = substitute(s.op->body, renames);

  auto new_stage = std::make_unique<stage>();
  new_stage->handle = local;
  new_stage->op = local;
  for (auto& axis : local->axes) {
    new_stage->leaf_vars.push_back(axis.var);
    extents_[axis.var.get()] = axis.extent;
  }
  for (auto& axis : reduction_axes(local)) {
    new_stage->leaf_vars.push_back(axis.var);
    new_stage->is_reduction[axis.var.get()] = true;
    extents_[axis.var.get()] = axis.extent;
  }

  std::vector<expr> indices;
  for (auto& axis : t->axes)
    indices.push_back(axis.var);
  s.op = with_body(s.op, read(local, indices));
  s.leaf_vars = indices;
  s.is_reduction.clear();

  by_handle_[local.get()] = new_stage.get();
  stages_.push_back(std::move(new_stage));
  return local;
}

tensor schedule::cache_read(const tensor& t, const std::vector<tensor>& readers,
                            const std::string& suffix) {
  if (!t || !by_handle_.count(t.get()))
    throw compile_error("cache_read: the tensor is not part of this schedule");
  auto copy = compute(t->shape, [&](const std::vector<expr>& i) { return read(t, i); },
                      t->name + "." + suffix);
  auto new_stage = std::make_unique<stage>();
  new_stage->handle = copy;
  new_stage->op = copy;
  for (auto& axis : copy->axes) {
    new_stage->leaf_vars.push_back(axis.var);
    extents_[axis.var.get()] = axis.extent;
  }
  for (auto& reader : readers) {
    auto& r = mutable_stage(reader, "cache_read");
    if (!reads_tensor(r.op->body, t.get()))
      throw compile_error(fmt::format("cache_read: '{}' does not read '{}'", reader->name,
                                      t->name));
    r.op = with_body(r.op, replace_reads(r.op->body, t.get(), copy));
  }
  by_handle_[copy.get()] = new_stage.get();
  stages_.push_back(std::move(new_stage));
  return copy;
}

std::vector<const stage*> schedule::stages() const {
  std::vector<const stage*> order;
  std::set<const stage*> done;
  std::function<void(const stage*)> visit = [&](const stage* s) {
    if (!done.insert(s).second)
      return;
    if (s->op->kind == tensor_kind::compute)
      for (auto& input : direct_inputs(s->op))
        visit(by_handle_.at(input.get()));
    order.push_back(s);
  };
  for (auto& s : stages_)
    visit(s.get());
  return order;
}

} // namespace troupe::compiler
