#include "compiler/tuning/features.hpp"

#include "compiler/ir/compile_error.hpp"
#include "compiler/ir/linear_form.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace troupe::compiler {

namespace {

constexpr size_t max_levels = 8;
constexpr size_t level_slots = 7;
constexpr size_t max_buffers = 4;
constexpr size_t buffer_slots = 7;

double log_scale(double x) {
  return std::log2(1.0 + std::max(0.0, x));
}

double element_bytes(dtype type) {
  switch (type) {
  case dtype::f32: return 4;
  case dtype::i64: return 8;
  case dtype::boolean: return 1;
  }
  return 4;
}

struct loop_info {
  const expr_node* var = nullptr;
  double extent = 1;
  loop_kind kind = loop_kind::serial;
};

/// One load or store (or a kernel call's pointer argument), with the loops
/// around it.
struct access {
  buffer target;
  expr index;
  double trips = 1;
  std::vector<loop_info> loops;
  /// Elements one execution touches: 1 for a load or store; for a kernel
  /// call's pointer, (m n k)^(2/3) of its last three arguments.
  double span = 1;
};

void collect_vars(const expr& e, std::set<const expr_node*>& vars) {
  if (!e)
    return;
  if (e->op == expr_op::var)
    vars.insert(e.get());
  for (auto& a : e->args)
    collect_vars(a, vars);
}

/// Distinct elements `a` touches over the iterations of its loops from
/// `from` inward: the product of the extents its index depends on.
double distinct_elements(const access& a, size_t from) {
  std::set<const expr_node*> vars;
  collect_vars(a.index, vars);
  double n = a.span;
  for (size_t i = from; i < a.loops.size(); ++i)
    if (vars.count(a.loops[i].var))
      n *= a.loops[i].extent;
  return std::min(n, static_cast<double>(std::max<int64_t>(1, a.target->elements)));
}

/// The stride of `a`'s index along its innermost loop: 0, 1 or 2 (other).
int innermost_stride(const access& a) {
  if (a.loops.empty())
    return 0;
  auto var = a.loops.back().var;
  auto form = to_linear_form(a.index);
  int64_t coefficient = 0;
  for (auto& t : form.terms) {
    if (t.term.get() == var) {
      coefficient += t.coefficient;
    } else {
      std::set<const expr_node*> vars;
      collect_vars(t.term, vars);
      if (vars.count(var))
        return 2;
    }
  }
  return coefficient == 0 ? 0 : coefficient == 1 ? 1 : 2;
}

struct op_counts {
  double f_add = 0, f_mul = 0, f_fma = 0, f_other = 0, int_ops = 0, compare = 0, loads = 0,
         stores = 0;
};

class feature_walker {
public:
  void run(const lowered_func& func) {
    if (!func.body)
      return;
    auto top = func.body;
    while (top && top->op == stmt_op::allocate) {
      note_allocation(top->target);
      top = top->body.empty() ? nullptr : top->body[0];
    }
    top_level_ = top ? (top->op == stmt_op::seq ? static_cast<double>(top->body.size()) : 1) : 0;
    if (top)
      walk(top);
  }

  std::vector<float> features() const;

private:
  void note_allocation(const buffer& b) {
    double bytes = static_cast<double>(b->elements) * element_bytes(b->type);
    ++allocations_;
    alloc_total_ += bytes;
    alloc_largest_ = std::max(alloc_largest_, bytes);
    locals_.insert(b.get());
  }

  void walk(const stmt& s) {
    if (!s)
      return;
    switch (s->op) {
    case stmt_op::for_loop: {
      int64_t extent = 1;
      if (!is_const_int(s->extent, &extent)) {
        var_ranges ranges;
        auto b = bounds_of(s->extent, ranges);
        extent = b.bounded ? b.hi : 1;
      }
      count(s->extent, 1.0);
      loop_info loop{s->loop_var.get(), static_cast<double>(std::max<int64_t>(1, extent)), s->kind};
      ++loop_count_;
      if (s->kind == loop_kind::parallel) {
        if (parallel_loops_ == 0)
          first_parallel_ = loop.extent;
        ++parallel_loops_;
      }
      loops_.push_back(loop);
      double outer_trips = trips_;
      trips_ *= loop.extent;
      for (auto& b : s->body)
        walk(b);
      trips_ = outer_trips;
      loops_.pop_back();
      return;
    }
    case stmt_op::seq:
      for (auto& b : s->body)
        walk(b);
      return;
    case stmt_op::allocate:
      note_allocation(s->target);
      for (auto& b : s->body)
        walk(b);
      return;
    case stmt_op::if_then_else:
      count(s->condition, trips_);
      for (auto& b : s->body)
        walk(b);
      return;
    case stmt_op::store: {
      auto begin = accesses_.size();
      count(s->index, trips_);
      auto before = float_work();
      count(s->value, trips_);
      counts_.stores += trips_;
      accesses_.push_back({s->target, s->index, trips_, loops_});
      consider_hot(trips_ + float_work() - before, begin);
      return;
    }
    case stmt_op::call_extern: {
      auto begin = accesses_.size();
      extern_calls_ += trips_;
      std::vector<double> dims;
      for (auto& scalar : s->call_scalars) {
        int64_t v = 0;
        if (is_const_int(scalar, &v))
          dims.push_back(static_cast<double>(v));
      }
      while (dims.size() < 3)
        dims.insert(dims.begin(), 1.0);
      dims.erase(dims.begin(), dims.end() - 3);
      double per_call = dims[0] * dims[1] * dims[2];
      double span = std::pow(per_call, 2.0 / 3.0);
      for (size_t i = 0; i < s->call_buffers.size(); ++i) {
        auto offset = i < s->call_offsets.size() ? s->call_offsets[i] : int_imm(0);
        count(offset, trips_);
        accesses_.push_back({s->call_buffers[i], offset, trips_ * span, loops_, span});
      }
      double work = trips_ * per_call;
      extern_work_ += work;
      if (work > extern_best_) {
        extern_best_ = work;
        extern_dims_ = dims;
      }
      consider_hot(work, begin);
      return;
    }
    }
  }

  double float_work() const {
    return counts_.f_add + counts_.f_mul + counts_.f_fma + counts_.f_other;
  }

  void consider_hot(double work, size_t first_access) {
    if (work <= hot_work_)
      return;
    hot_work_ = work;
    hot_loops_ = loops_;
    hot_trips_ = trips_;
    hot_accesses_.assign(accesses_.begin() + static_cast<std::ptrdiff_t>(first_access),
                         accesses_.end());
  }

  void count(const expr& e, double w) {
    if (!e)
      return;
    bool is_float = e->type == dtype::f32;
    switch (e->op) {
    case expr_op::add:
    case expr_op::sub:
      if (is_float) {
        // An add of a product is one fused multiply-add; the product's
        // operands are counted, not the product.
        for (size_t i = 0; i < 2; ++i) {
          auto& other = e->args[1 - i];
          if (e->args[i]->op == expr_op::mul && e->args[i]->type == dtype::f32) {
            counts_.f_fma += w;
            count(e->args[i]->args[0], w);
            count(e->args[i]->args[1], w);
            count(other, w);
            return;
          }
        }
        counts_.f_add += w;
      } else {
        counts_.int_ops += w;
      }
      break;
    case expr_op::mul:
      (is_float ? counts_.f_mul : counts_.int_ops) += w;
      break;
    case expr_op::div:
    case expr_op::mod:
    case expr_op::min:
    case expr_op::max:
      (is_float ? counts_.f_other : counts_.int_ops) += w;
      break;
    case expr_op::call:
      counts_.f_other += w;
      break;
    case expr_op::lt:
    case expr_op::le:
    case expr_op::eq:
    case expr_op::ne:
    case expr_op::select:
    case expr_op::logical_and:
    case expr_op::logical_or:
    case expr_op::logical_not:
      counts_.compare += w;
      break;
    case expr_op::load:
      counts_.loads += w;
      accesses_.push_back({e->target, e->args.empty() ? int_imm(0) : e->args[0], w, loops_});
      break;
    default:
      break;
    }
    for (auto& a : e->args)
      count(a, w);
  }

  std::vector<loop_info> loops_;
  double trips_ = 1;
  op_counts counts_;
  std::vector<access> accesses_;
  std::set<const buffer_node*> locals_;
  double allocations_ = 0, alloc_total_ = 0, alloc_largest_ = 0;
  double loop_count_ = 0, parallel_loops_ = 0, first_parallel_ = 0, top_level_ = 0;
  double extern_calls_ = 0, extern_work_ = 0, extern_best_ = 0;
  std::vector<double> extern_dims_{0, 0, 0};
  double hot_work_ = 0, hot_trips_ = 0;
  std::vector<loop_info> hot_loops_;
  std::vector<access> hot_accesses_;
};

struct buffer_stats {
  const buffer_node* target = nullptr;
  std::string name;
  size_t first_seen = 0;
  double accesses = 0, bytes = 0, distinct = 0, heaviest = -1;
  int stride = 0;
  bool local = false;
};

std::vector<float> feature_walker::features() const {
  std::vector<float> f;
  f.reserve(feature_count());
  auto push = [&](double x) { f.push_back(static_cast<float>(x)); };

  // levels: the hot chain, innermost first
  for (size_t l = 0; l < max_levels; ++l) {
    if (l >= hot_loops_.size()) {
      for (size_t i = 0; i < level_slots; ++i)
        push(0);
      continue;
    }
    size_t depth = hot_loops_.size() - 1 - l;
    auto& loop = hot_loops_[depth];
    push(log_scale(loop.extent));
    push(loop.kind == loop_kind::serial);
    push(loop.kind == loop_kind::parallel);
    push(loop.kind == loop_kind::vectorized);
    push(loop.kind == loop_kind::unrolled);
    push(static_cast<double>(depth));
    std::map<const buffer_node*, double> footprint;
    for (auto& a : hot_accesses_) {
      auto& bytes = footprint[a.target.get()];
      double cap = static_cast<double>(a.target->elements) * element_bytes(a.target->type);
      bytes = std::min(cap, bytes + distinct_elements(a, depth) * element_bytes(a.target->type));
    }
    double total = 0;
    for (auto& [b, bytes] : footprint)
      total += bytes;
    push(log_scale(total));
  }

  // hot statement
  double unrolled = 1, vectorized = 1;
  for (auto& loop : hot_loops_) {
    if (loop.kind == loop_kind::unrolled)
      unrolled *= loop.extent;
    if (loop.kind == loop_kind::vectorized)
      vectorized *= loop.extent;
  }
  push(static_cast<double>(hot_loops_.size()));
  push(log_scale(hot_trips_));
  push(log_scale(unrolled));
  push(log_scale(vectorized));

  // ops
  for (double c : {counts_.f_add, counts_.f_mul, counts_.f_fma, counts_.f_other, counts_.int_ops,
                   counts_.compare, counts_.loads, counts_.stores})
    push(log_scale(c));

  // parallel
  push(log_scale(first_parallel_));
  push(parallel_loops_);

  // buffers, in order of first access; then the heaviest four
  std::vector<buffer_stats> buffers;
  std::map<const buffer_node*, size_t> slot;
  for (auto& a : accesses_) {
    auto [it, fresh] = slot.emplace(a.target.get(), buffers.size());
    if (fresh) {
      buffer_stats b;
      b.target = a.target.get();
      b.name = a.target->name;
      b.first_seen = buffers.size();
      b.local = locals_.count(a.target.get()) != 0;
      buffers.push_back(b);
    }
    auto& b = buffers[it->second];
    double size = element_bytes(a.target->type);
    b.accesses += a.trips;
    b.bytes += a.trips * size;
    b.distinct += distinct_elements(a, 0);
    if (a.trips > b.heaviest) {
      b.heaviest = a.trips;
      b.stride = innermost_stride(a);
    }
  }
  for (auto& b : buffers)
    b.distinct =
      std::min(b.distinct, static_cast<double>(std::max<int64_t>(1, b.target->elements)));
  auto heavier = [](const buffer_stats& x, const buffer_stats& y) {
    if (x.bytes != y.bytes)
      return x.bytes > y.bytes;
    if (x.name != y.name)
      return x.name < y.name;
    return x.first_seen < y.first_seen;
  };
  std::stable_sort(buffers.begin(), buffers.end(), heavier);
  for (size_t i = 0; i < max_buffers; ++i) {
    if (i >= buffers.size()) {
      for (size_t j = 0; j < buffer_slots; ++j)
        push(0);
      continue;
    }
    auto& b = buffers[i];
    double size = element_bytes(b.target->type);
    push(log_scale(b.bytes));
    push(log_scale(b.distinct * size));
    push(log_scale(b.accesses / std::max(1.0, b.distinct)));
    push(b.stride == 0);
    push(b.stride == 1);
    push(b.stride == 2);
    push(b.local);
  }

  // allocations
  push(allocations_);
  push(log_scale(alloc_total_));
  push(log_scale(alloc_largest_));

  // externs
  push(log_scale(extern_calls_));
  push(log_scale(extern_work_));
  for (double d : extern_dims_)
    push(log_scale(d));

  // shape
  push(loop_count_);
  push(top_level_);
  return f;
}

std::vector<std::string> make_names() {
  std::vector<std::string> names;
  for (size_t l = 0; l < max_levels; ++l)
    for (const char* slot : {"extent", "serial", "parallel", "vectorized", "unrolled", "depth",
                             "footprint"})
      names.push_back(fmt::format("level{}_{}", l, slot));
  for (const char* n : {"hot_depth", "hot_trips", "hot_unrolled", "hot_vectorized", "f32_add",
                        "f32_mul", "f32_fma", "f32_other", "int_ops", "compares", "loads", "stores",
                        "parallel_extent", "parallel_loops"})
    names.emplace_back(n);
  for (size_t b = 0; b < max_buffers; ++b)
    for (const char* slot : {"bytes", "distinct_bytes", "reuse", "stride0", "stride1",
                             "stride_other", "local"})
      names.push_back(fmt::format("buffer{}_{}", b, slot));
  for (const char* n : {"allocations", "alloc_bytes", "alloc_largest", "extern_calls",
                        "extern_work", "extern_dim0", "extern_dim1", "extern_dim2", "loops",
                        "top_level_statements"})
    names.emplace_back(n);
  return names;
}

} // namespace

const std::vector<std::string>& feature_names() {
  static const std::vector<std::string> names = make_names();
  return names;
}

size_t feature_count() {
  return feature_names().size();
}

std::vector<float> extract_features(const lowered_func& func) {
  feature_walker walker;
  walker.run(func);
  auto f = walker.features();
  if (f.size() != feature_count())
    throw compile_error(fmt::format("extract_features: {} values for {} slots", f.size(),
                                    feature_count()));
  return f;
}

} // namespace troupe::compiler
