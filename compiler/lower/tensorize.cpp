#include "compiler/lower/tensorize.hpp"

#include "compiler/ir/compile_error.hpp"
#include "compiler/ir/linear_form.hpp"
#include "compiler/ir/mutate.hpp"
#include "compiler/ir/printer.hpp"
#include "compiler/ir/simplify.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace troupe::compiler {

namespace {

class matcher {
public:
  explicit matcher(const tensorize_region& region) : r_(region) {}

  stmt run() {
    auto& decl = r_.intrinsic->declaration;
    std::vector<iter_var> axes = decl->axes;
    for (auto& axis : reduction_axes(decl))
      axes.push_back(axis);
    if (axes.size() != r_.loops.size())
      fail(fmt::format("{} loops below, the intrinsic has {} axes", r_.loops.size(), axes.size()));
    for (size_t t = 0; t < axes.size(); ++t) {
      if (axes[t].extent != r_.extents[t] || axes[t].is_reduction != r_.is_reduction[t])
        fail(fmt::format("loop '{}' ({} < {}) does not match axis '{}' ({} < {})",
                         r_.loops[t]->name, r_.is_reduction[t] ? "reduction" : "data",
                         r_.extents[t], axes[t].var->name,
                         axes[t].is_reduction ? "reduction" : "data", axes[t].extent));
      to_decl_[r_.loops[t].get()] = axes[t].var;
      decl_vars_.push_back(axes[t].var.get());
      decl_ranges_[axes[t].var.get()] = {0, axes[t].extent - 1, true};
    }
    auto stage_body = substitute(r_.body, to_decl_);
    auto decl_body = decl->body;
    if ((stage_body->op == expr_op::reduce) != (decl_body->op == expr_op::reduce)
        || (stage_body->op == expr_op::reduce && stage_body->combiner != decl_body->combiner))
      fail("one is a reduction and the other is not, or their combiners differ");
    if (decl_body->op == expr_op::reduce) {
      stage_body = stage_body->args[0];
      decl_body = decl_body->args[0];
    }
    match(stage_body, decl_body);
    // The output, indexed by the declaration's data axes.
    std::vector<expr> out_indices;
    for (auto& index : r_.output_indices)
      out_indices.push_back(substitute(index, to_decl_));
    std::vector<expr> decl_out;
    for (auto& axis : decl->axes)
      decl_out.push_back(axis.var);
    bind(decl, r_.output, out_indices, decl_out);

    std::vector<buffer> buffers;
    std::vector<expr> offsets, scalars;
    auto add = [&](const tensor& placeholder_tensor) {
      auto found = bound_.find(placeholder_tensor.get());
      if (found == bound_.end())
        fail(fmt::format("the computation never reads '{}'", placeholder_tensor->name));
      buffers.push_back(found->second.data);
      offsets.push_back(found->second.offset);
      for (auto stride : found->second.strides)
        scalars.push_back(int_imm(stride));
    };
    add(decl);
    for (auto& input : r_.intrinsic->inputs)
      add(input);
    for (auto& axis : axes)
      scalars.push_back(int_imm(axis.extent));
    return call_extern(r_.intrinsic->symbol, buffers, offsets, scalars);
  }

private:
  struct binding {
    const tensor_node* source = nullptr;
    buffer data;
    expr offset;
    std::vector<int64_t> strides;
  };

  [[noreturn]] void fail(const std::string& what) const {
    throw compile_error(fmt::format("tensorize of stage '{}' at loop '{}' with intrinsic '{}': {}",
                                    r_.stage_name, r_.loops.front()->name, r_.intrinsic->name, what));
  }

  void match(const expr& mine, const expr& theirs) {
    if (theirs->op == expr_op::tensor_read) {
      if (mine->op != expr_op::tensor_read)
        fail(fmt::format("the stage computes {} where the intrinsic reads {}", print(mine),
                         print(theirs)));
      bind(theirs->source, mine->source, mine->args, theirs->args);
      return;
    }
    bool same = mine->op == theirs->op && mine->type == theirs->type
                && mine->args.size() == theirs->args.size() && mine->name == theirs->name;
    if (same && (mine->op == expr_op::int_imm || mine->op == expr_op::bool_imm))
      same = mine->int_value == theirs->int_value;
    if (same && mine->op == expr_op::float_imm)
      same = mine->float_value == theirs->float_value;
    if (!same)
      fail(fmt::format("the stage computes {}, the intrinsic {}", print(mine), print(theirs)));
    for (size_t i = 0; i < mine->args.size(); ++i)
      match(mine->args[i], theirs->args[i]);
  }

  // The declaration's `p` at `p_indices` is the stage's `actual` at
  // `indices`: a pointer to the region's first element and one stride per
  // dimension of `p`.
  void bind(const tensor& p, const tensor& actual, const std::vector<expr>& indices,
            const std::vector<expr>& p_indices) {
    std::vector<const expr_node*> dims;
    for (auto& index : p_indices) {
      if (index->op != expr_op::var)
        fail(fmt::format("the declaration reads '{}' at {}: only plain axes are supported",
                         p->name, print(index)));
      dims.push_back(index.get());
    }
    auto [data, flat] = r_.locate(actual, indices);
    // The axes' ranges let the simplifier resolve packed layouts' j / nr, j % nr.
    auto form = to_linear_form(simplify(flat, decl_ranges_));
    binding b;
    b.source = actual.get();
    b.data = data;
    b.strides.assign(dims.size(), 0);
    linear_form base;
    base.constant = form.constant;
    for (auto& [term, coefficient] : form.terms) {
      auto position = std::find(dims.begin(), dims.end(), term.get());
      if (position != dims.end()) {
        b.strides[static_cast<size_t>(position - dims.begin())] = coefficient;
        continue;
      }
      for (auto* v : decl_vars_)
        if (uses_var(term, v))
          fail(fmt::format("'{}' is read at {}, not an affine function of the intrinsic's axes",
                           actual->name, print(flat)));
      base.terms.push_back({term, coefficient});
    }
    b.offset = from_linear_form(base);
    auto existing = bound_.find(p.get());
    if (existing != bound_.end()) {
      if (existing->second.source != b.source || existing->second.strides != b.strides)
        fail(fmt::format("'{}' stands for two different tensors or layouts", p->name));
      return;
    }
    bound_[p.get()] = b;
  }

  const tensorize_region& r_;
  var_map to_decl_;
  std::vector<const expr_node*> decl_vars_;
  var_ranges decl_ranges_;
  std::map<const tensor_node*, binding> bound_;
};

} // namespace

stmt tensorize(const tensorize_region& region) { return matcher(region).run(); }

} // namespace troupe::compiler
