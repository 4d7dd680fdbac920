// Statements of the lowered loop program: loops (with how each runs),
// stores into flat buffers, local allocations, conditionals. A lowered_func
// is what code generation consumes: a body over its parameter buffers.
#pragma once

#include "compiler/ir/expr.hpp"

namespace troupe::compiler {

enum class stmt_op : uint8_t { for_loop, store, seq, allocate, if_then_else, call_extern };

/// How a loop runs. `vectorized` loops have a constant extent and become
/// SIMD code; `parallel` loops are split over the runtime's thread pool;
/// `unrolled` loops have a constant extent and are fully unrolled.
enum class loop_kind : uint8_t { serial, parallel, vectorized, unrolled };

const char* to_string(loop_kind kind);

struct stmt_node;
using stmt = std::shared_ptr<const stmt_node>;

struct stmt_node {
  stmt_op op = stmt_op::seq;
  // for_loop: for (loop_var = min; loop_var < min + extent; ++loop_var) body[0]
  expr loop_var;
  expr min;
  expr extent;
  loop_kind kind = loop_kind::serial;
  // store: target[index] = value
  buffer target;  ///< also allocate's buffer
  expr index;
  expr value;
  // if_then_else: if (condition) body[0] else body[1] (body[1] may be absent)
  expr condition;
  /// seq: the statements in order; for_loop / allocate: body[0].
  std::vector<stmt> body;
  // call_extern: callee(&call_buffers[0][call_offsets[0]], ..., call_scalars...)
  // A native kernel (a tensorized region): pointers first, then i64 values.
  std::string callee;
  std::vector<buffer> call_buffers;
  std::vector<expr> call_offsets;
  std::vector<expr> call_scalars;
};

stmt for_loop(expr loop_var, expr min, expr extent, loop_kind kind, stmt body);
stmt store(buffer target, expr index, expr value);
stmt seq(std::vector<stmt> statements);
/// Declares `local` (uninitialized) for the duration of `body`.
stmt allocate(buffer local, stmt body);
stmt if_then_else(expr condition, stmt then_case, stmt else_case = nullptr);
/// A call of the native kernel `callee` with a pointer into each buffer (at
/// the element offset) and then the i64 scalars.
stmt call_extern(std::string callee, std::vector<buffer> buffers, std::vector<expr> offsets,
                 std::vector<expr> scalars);

/// A function ready for code generation: `void name(void** args)` where
/// args[i] points to the data of params[i].
struct lowered_func {
  std::string name;
  std::vector<buffer> params;
  stmt body;
};

} // namespace troupe::compiler
