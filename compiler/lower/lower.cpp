#include "compiler/lower/lower.hpp"

#include "compiler/ir/compile_error.hpp"
#include "compiler/ir/linear_form.hpp"
#include "compiler/ir/mutate.hpp"
#include "compiler/ir/simplify.hpp"
#include "compiler/lower/region.hpp"
#include "compiler/lower/tensorize.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace troupe::compiler {

namespace {

struct buffer_info {
  buffer data;
  std::vector<expr> offsets;   ///< the region's first index per dimension
  std::vector<int64_t> shape;  ///< the region's extent per dimension
};

struct domain {
  std::vector<expr> mins;
  std::vector<int64_t> extents;
};

expr combine(reduce_kind kind, expr current, expr value) {
  switch (kind) {
    case reduce_kind::sum: return current + value;
    case reduce_kind::max: return max_of(current, value);
    case reduce_kind::min: return min_of(current, value);
  }
  return current;
}

expr conjunction(const std::vector<expr>& conditions) {
  expr all;
  for (auto& c : conditions)
    all = all ? (all && c) : c;
  return all;
}

stmt guarded(const std::vector<expr>& conditions, stmt body) {
  auto all = conjunction(conditions);
  return all ? if_then_else(all, body) : body;
}

class lowering {
public:
  explicit lowering(const schedule& s) : sched_(s) {
    for (auto* st : s.stages())
      if (st->attach == attach_kind::at)
        attached_to_[st->attach_stage.get()].push_back(st);
  }

  lowered_func run(const std::vector<tensor>& args, const std::string& name) {
    lowered_func func;
    func.name = name;
    for (auto& t : args) {
      auto& st = sched_.at(t);
      if (st.attach != attach_kind::root)
        throw compile_error(fmt::format("argument '{}' must be computed at the root, not inlined "
                                        "or inside another stage", t->name));
      auto data = make_buffer(t->name, t->type, element_count(t));
      func.params.push_back(data);
      buffers_[t.get()] = {data, zeros(t->shape.size()), t->shape};
    }
    for (auto& out : sched_.outputs())
      if (std::find(args.begin(), args.end(), out) == args.end())
        throw compile_error(fmt::format("output '{}' is missing from the function's arguments",
                                        out->name));
    std::vector<buffer> intermediates;
    std::vector<stmt> nests;
    for (auto* st : sched_.stages()) {
      if (st->op->kind == tensor_kind::placeholder) {
        if (!buffers_.count(st->handle.get()))
          throw compile_error(fmt::format("input '{}' is read but missing from the function's "
                                          "arguments", st->handle->name));
        continue;
      }
      if (st->attach != attach_kind::root)
        continue;
      if (!buffers_.count(st->handle.get())) {
        auto data = make_buffer(st->handle->name, st->handle->type, element_count(st->handle));
        intermediates.push_back(data);
        buffers_[st->handle.get()] = {data, zeros(st->handle->shape.size()), st->handle->shape};
      }
      domain full{zeros(st->handle->shape.size()), st->handle->shape};
      nests.push_back(build(*st, full));
    }
    stmt body = seq(std::move(nests));
    for (auto it = intermediates.rbegin(); it != intermediates.rend(); ++it)
      body = allocate(*it, body);
    func.body = simplify(body);
    if (!func.body)
      throw compile_error(fmt::format("function '{}' computes nothing", name));
    return func;
  }

private:
  static std::vector<expr> zeros(size_t n) { return std::vector<expr>(n, int_imm(0)); }

  // Reads of inlined stages become their formulas at the read's indices.
  expr inline_reads(const expr& e) {
    return transform(e, [&](const expr& node) -> expr {
      if (node->op != expr_op::tensor_read)
        return node;
      auto& producer = sched_.at(node->source);
      if (producer.attach != attach_kind::inlined)
        return node;
      var_map indices;
      for (size_t d = 0; d < producer.op->axes.size(); ++d)
        indices[producer.op->axes[d].var.get()] = node->args[d];
      return substitute(inline_reads(producer.op->body), indices);
    });
  }

  expr flat_index(const buffer_info& info, const std::vector<expr>& indices) {
    expr flat = int_imm(0);
    int64_t stride = 1;
    for (size_t d = info.shape.size(); d-- > 0;) {
      flat = flat + (indices[d] - info.offsets[d]) * int_imm(stride);
      stride *= info.shape[d];
    }
    return flat;
  }

  expr lower_reads(const expr& e) {
    return transform(e, [&](const expr& node) -> expr {
      if (node->op != expr_op::tensor_read)
        return node;
      auto found = buffers_.find(node->source.get());
      if (found == buffers_.end())
        throw compile_error(fmt::format("'{}' is read before it is computed (is it an argument, or "
                                        "computed at a loop that does not enclose its reader?)",
                                        node->source->name));
      return load(found->second.data, flat_index(found->second, node->args));
    });
  }

  stmt build(const stage& st, const domain& dom) {
    auto& op = st.op;
    auto& reduce_axes = reduction_axes(op);
    // Extents of every loop variable of this stage over `dom`.
    std::map<const expr_node*, int64_t> extents;
    for (size_t d = 0; d < op->axes.size(); ++d)
      extents[op->axes[d].var.get()] = dom.extents[d];
    for (auto& axis : reduce_axes)
      extents[axis.var.get()] = axis.extent;
    for (auto& r : st.relations) {
      if (r.is_split) {
        int64_t parent = extents.at(r.split.parent.get());
        extents[r.split.outer.get()] = (parent + r.split.factor - 1) / r.split.factor;
        extents[r.split.inner.get()] = r.split.factor;
      } else {
        extents[r.fuse.fused.get()] = extents.at(r.fuse.outer.get()) * extents.at(r.fuse.inner.get());
      }
    }
    // The value of every variable in terms of the leaf loops.
    var_map values;
    for (auto& leaf : st.leaf_vars)
      values[leaf.get()] = leaf;
    for (auto it = st.relations.rbegin(); it != st.relations.rend(); ++it) {
      if (it->is_split) {
        auto& s = it->split;
        values[s.parent.get()] = values.at(s.outer.get()) * int_imm(s.factor) + values.at(s.inner.get());
      } else {
        auto& f = it->fuse;
        auto inner_extent = int_imm(extents.at(f.inner.get()));
        values[f.outer.get()] = values.at(f.fused.get()) / inner_extent;
        values[f.inner.get()] = values.at(f.fused.get()) % inner_extent;
      }
    }
    std::vector<expr> index;
    var_map root;
    std::vector<expr> data_guards, reduce_guards;
    auto& own_shape = st.handle->shape;
    for (size_t d = 0; d < op->axes.size(); ++d) {
      auto& value = values.at(op->axes[d].var.get());
      index.push_back(dom.mins[d] + value);
      root[op->axes[d].var.get()] = index.back();
      data_guards.push_back(value < int_imm(dom.extents[d]));
      if (st.attach == attach_kind::at) {
        data_guards.push_back(int_imm(0) <= index.back());
        data_guards.push_back(index.back() < int_imm(own_shape[d]));
      }
    }
    for (auto& axis : reduce_axes) {
      auto& value = values.at(axis.var.get());
      root[axis.var.get()] = value;
      reduce_guards.push_back(value < int_imm(axis.extent));
    }
    // A split whose factor does not divide its parent's extent overshoots:
    // guard the parent (nested splits need it beyond the root's guard).
    for (auto& r : st.relations) {
      if (!r.is_split || extents.at(r.split.parent.get()) % r.split.factor == 0)
        continue;
      auto in_range = values.at(r.split.parent.get()) < int_imm(extents.at(r.split.parent.get()));
      (is_reduction_loop(st, r.split.parent) ? reduce_guards : data_guards).push_back(in_range);
    }
    expr body = substitute(inline_reads(op->body), root);

    // Regions and buffers of the stages computed inside this one's loops.
    std::map<const expr_node*, std::vector<std::pair<const stage*, domain>>> attachments;
    auto attached = attached_to_.find(st.handle.get());
    if (attached != attached_to_.end()) {
      for (auto* producer : attached->second) {
        auto position = std::find(st.leaf_vars.begin(), st.leaf_vars.end(), producer->attach_var);
        if (position == st.leaf_vars.end())
          throw compile_error(fmt::format("compute_at: '{}' is no longer a loop of '{}' (split or "
                                          "fused after compute_at)", producer->attach_var->name,
                                          st.handle->name));
        var_ranges inner;
        for (auto leaf = position + 1; leaf != st.leaf_vars.end(); ++leaf)
          inner[leaf->get()] = {0, extents.at(leaf->get()) - 1, true};
        auto reg = required_region(producer->handle, body, inner);
        domain region_domain{reg.mins, reg.extents};
        int64_t elements = 1;
        for (auto e : reg.extents)
          elements *= e;
        auto data = make_buffer(producer->handle->name, producer->handle->type, elements);
        buffers_[producer->handle.get()] = {data, reg.mins, reg.extents};
        attachments[producer->attach_var.get()].push_back({producer, region_domain});
      }
    }

    auto& target = buffers_.at(st.handle.get());
    auto flat = flat_index(target, index);
    stmt core, init;
    if (body->op == expr_op::reduce) {
      auto source = lower_reads(body->args[0]);
      auto current = load(target.data, flat);
      auto all_guards = data_guards;
      all_guards.insert(all_guards.end(), reduce_guards.begin(), reduce_guards.end());
      core = guarded(all_guards, store(target.data, flat, combine(body->combiner, current, source)));
      init = guarded(data_guards, store(target.data, flat, body->args[1]));
    } else {
      core = guarded(data_guards, store(target.data, flat, lower_reads(body)));
    }

    size_t leaves = st.leaf_vars.size();
    size_t first_reduction = leaves;
    for (size_t i = 0; i < leaves; ++i)
      if (is_reduction_loop(st, st.leaf_vars[i])) {
        first_reduction = i;
        break;
      }
    auto kind_of = [&](const expr& leaf) {
      auto found = st.annotations.find(leaf.get());
      return found == st.annotations.end() ? loop_kind::serial : found->second;
    };
    auto loop = [&](size_t i, stmt inner) {
      auto& leaf = st.leaf_vars[i];
      return for_loop(leaf, int_imm(0), int_imm(extents.at(leaf.get())), kind_of(leaf), inner);
    };
    // A tensorized region: the loops from the tensorize loop inward become
    // one kernel call.
    size_t tensorize_at = leaves;
    stmt kernel_call;
    if (st.intrinsic) {
      auto found = std::find(st.leaf_vars.begin(), st.leaf_vars.end(), st.tensorize_var);
      if (found == st.leaf_vars.end())
        throw compile_error(fmt::format("tensorize: '{}' is no longer a loop of '{}' (split or "
                                        "fused after tensorize)", st.tensorize_var->name,
                                        st.handle->name));
      for (auto& r : st.relations)
        if (r.is_split && extents.at(r.split.parent.get()) % r.split.factor != 0)
          throw compile_error(fmt::format("tensorize of '{}': the split of '{}' by {} leaves a "
                                          "remainder, which the kernel cannot guard",
                                          st.handle->name, r.split.parent->name, r.split.factor));
      tensorize_at = static_cast<size_t>(found - st.leaf_vars.begin());
      tensorize_region region;
      region.stage_name = st.handle->name;
      region.intrinsic = st.intrinsic.get();
      for (size_t i = tensorize_at; i < leaves; ++i) {
        region.loops.push_back(st.leaf_vars[i]);
        region.extents.push_back(extents.at(st.leaf_vars[i].get()));
        region.is_reduction.push_back(is_reduction_loop(st, st.leaf_vars[i]));
      }
      region.body = body;
      region.output = st.handle;
      region.output_indices = index;
      region.locate = [&](const tensor& t, const std::vector<expr>& indices) {
        auto found_buffer = buffers_.find(t.get());
        if (found_buffer == buffers_.end())
          throw compile_error(fmt::format("tensorize of '{}': '{}' has no buffer here",
                                          st.handle->name, t->name));
        return std::make_pair(found_buffer->second.data, flat_index(found_buffer->second, indices));
      };
      kernel_call = tensorize(region);
    }
    // The init nest: the data-parallel loops at and below `from`, around
    // the identity store.
    auto init_nest = [&](size_t from) {
      stmt s = init;
      for (size_t i = leaves; i-- > from;)
        if (!(is_reduction_loop(st, st.leaf_vars[i])))
          s = loop(i, s);
      return s;
    };
    std::function<stmt(size_t, bool)> nest = [&](size_t i, bool init_placed) -> stmt {
      if (kernel_call && i == tensorize_at) {
        if (init && !init_placed)  // the first reduction loop is inside the region
          return seq({init_nest(tensorize_at), kernel_call});
        return kernel_call;
      }
      if (init && !init_placed && i == first_reduction)
        return seq({init_nest(first_reduction), nest(i, true)});
      if (i == leaves)
        return core;
      stmt inner = nest(i + 1, init_placed);
      auto found = attachments.find(st.leaf_vars[i].get());
      if (found != attachments.end()) {
        std::vector<stmt> producers;
        for (auto& [producer, region_domain] : found->second)
          producers.push_back(build(*producer, region_domain));
        producers.push_back(inner);
        inner = seq(std::move(producers));
        for (auto& [producer, region_domain] : found->second)
          inner = allocate(buffers_.at(producer->handle.get()).data, inner);
      }
      return loop(i, inner);
    };
    return nest(0, false);
  }

  const schedule& sched_;
  std::map<const tensor_node*, buffer_info> buffers_;
  std::map<const tensor_node*, std::vector<const stage*>> attached_to_;
};

} // namespace

lowered_func lower(const schedule& s, const std::vector<tensor>& args, const std::string& name) {
  return lowering(s).run(args, name);
}

} // namespace troupe::compiler
