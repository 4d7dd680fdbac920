// Schedules, kept apart from the computation (after Halide and TVM): for
// each tensor a stage that says how its loops are split, fused, ordered
// and run, and where it is computed (at the root, inlined into its
// consumers, or inside one of a consumer's loops). The same tensor
// expressions with any legal schedule compute the same values; an illegal
// request throws compile_error naming the stage and the axis.
#pragma once

#include "compiler/ir/stmt.hpp"
#include "compiler/schedule/tensor_intrinsic.hpp"
#include "compiler/te/tensor.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace troupe::compiler {

enum class attach_kind : uint8_t { root, inlined, at };

/// parent = outer * factor + inner
struct split_relation {
  expr parent, outer, inner;
  int64_t factor = 0;
};

/// fused = outer * extent(inner) + inner
struct fuse_relation {
  expr outer, inner, fused;
};

struct loop_relation {
  bool is_split = true;
  split_relation split;
  fuse_relation fuse;
};

struct stage {
  /// The tensor users hold (reads of it name this node).
  tensor handle;
  /// Its current definition (cache_read/cache_write rewrite it).
  tensor op;
  /// The loops, outermost first; root axes until split or fused.
  std::vector<expr> leaf_vars;
  std::vector<loop_relation> relations;
  std::map<const expr_node*, loop_kind> annotations;
  /// Variables derived from reduction axes.
  std::map<const expr_node*, bool> is_reduction;
  /// tensorize: the loops from `tensorize_var` inward become `intrinsic`.
  expr tensorize_var;
  std::shared_ptr<const tensor_intrinsic> intrinsic;
  attach_kind attach = attach_kind::root;
  tensor attach_stage;  ///< the consumer's handle, for attach_kind::at
  expr attach_var;      ///< the consumer's loop
};

/// True when `var` (a loop of `s`) derives from a reduction axis.
bool is_reduction_loop(const stage& s, const expr& var);

class schedule {
public:
  /// A schedule for `outputs` and everything they depend on.
  explicit schedule(std::vector<tensor> outputs);

  // -- loop transformations (each returns the new loop variables) ----------

  std::pair<expr, expr> split(const tensor& t, const expr& var, int64_t factor);
  /// Two loops that are adjacent in the current order, outer first.
  expr fuse(const tensor& t, const expr& outer, const expr& inner);
  /// Splits x and y by the factors and orders x.o, y.o, x.i, y.i.
  std::vector<expr> tile(const tensor& t, const expr& x, const expr& y, int64_t x_factor,
                         int64_t y_factor);
  /// `vars` take the positions they occupied, in the given order.
  void reorder(const tensor& t, const std::vector<expr>& vars);
  void vectorize(const tensor& t, const expr& var);
  void parallel(const tensor& t, const expr& var);
  void unroll(const tensor& t, const expr& var);
  /// The loops of `t` from `var` inward are computed by `intrinsic`'s
  /// kernel. Whether they match its declaration is checked when lowering
  /// (a compile_error names what differs).
  void tensorize(const tensor& t, const expr& var, const tensor_intrinsic& intrinsic);

  // -- placement ---------------------------------------------------------

  void compute_inline(const tensor& t);
  /// Computes `producer` inside `consumer`'s loop `var`, only the region
  /// the consumer's iterations below `var` read.
  void compute_at(const tensor& producer, const tensor& consumer, const expr& var);
  void compute_root(const tensor& t);
  /// A stage that computes `t` into a local buffer; `t` then copies it.
  /// Call before any other transformation of `t`. Returns the new tensor.
  tensor cache_write(const tensor& t, const std::string& suffix = "local");
  /// A copy of `t` that the `readers` read instead of `t`.
  tensor cache_read(const tensor& t, const std::vector<tensor>& readers,
                    const std::string& suffix = "shared");

  // -- queries -------------------------------------------------------------

  const stage& at(const tensor& t) const;
  /// Stages in dependency order (producers first).
  std::vector<const stage*> stages() const;
  const std::vector<tensor>& outputs() const { return outputs_; }
  /// The extent of a loop variable of `t`'s stage (over its full domain).
  int64_t extent(const tensor& t, const expr& var) const;
  /// The stages that read `t`, directly or through inlined stages (which
  /// are not counted themselves).
  std::vector<const stage*> consumers(const tensor& t) const;

private:
  stage& mutable_stage(const tensor& t, const char* operation);
  /// Whether `e` reads `t`, looking through reads of inlined stages.
  bool reads_effectively(const expr& e, const tensor_node* t) const;
  size_t leaf_position(const stage& s, const expr& var, const char* operation) const;

  std::vector<tensor> outputs_;
  std::vector<std::unique_ptr<stage>> stages_;
  std::map<const tensor_node*, stage*> by_handle_;
  std::map<const expr_node*, int64_t> extents_;
};

} // namespace troupe::compiler
