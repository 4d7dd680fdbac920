// Expressions of Troupe's loop IR: one small node type and one op enum
// (after tinygrad), immutable and shared. The same nodes serve the tensor
// expression language (tensor_read, reduce: indices into multi-dimensional
// tensors) and the lowered loop program (load: a flat index into a buffer),
// so that lowering is a rewrite, not a translation between two IRs.
//
// Integer arithmetic is 64-bit and div/mod round towards negative infinity
// (floor), as index arithmetic wants. Variables are compared by identity:
// two vars with the same name are different variables.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace troupe::compiler {

enum class dtype : uint8_t { f32, i64, boolean };

const char* to_string(dtype type);

enum class expr_op : uint8_t {
  int_imm,     ///< int_value (dtype i64)
  float_imm,   ///< float_value (dtype f32)
  bool_imm,    ///< int_value 0 or 1
  var,         ///< name; identity is the node
  add, sub, mul,
  div,         ///< floor division for i64, IEEE division for f32
  mod,         ///< floor modulo for i64
  min, max,
  lt, le, eq, ne,                     ///< -> boolean
  logical_and, logical_or, logical_not,
  select,      ///< args: condition, if_true, if_false
  cast,        ///< args[0] converted to `type`
  call,        ///< pure math intrinsic `name` on args: exp, log, sqrt, tanh, fabs, erf
  load,        ///< buffer[args[0]] (flat element index)
  tensor_read, ///< tensor(args...) before lowering (multi-dimensional)
  reduce,      ///< combiner `reduce_kind` of args[0] over `axes`, starting at args[1]
};

enum class reduce_kind : uint8_t { sum, max, min };

struct expr_node;
using expr = std::shared_ptr<const expr_node>;

struct buffer_node;
using buffer = std::shared_ptr<const buffer_node>;

struct tensor_node;
using tensor = std::shared_ptr<const tensor_node>;

/// A flat array of one dtype: a function parameter or a local allocation.
struct buffer_node {
  std::string name;
  dtype type = dtype::f32;
  int64_t elements = 0;
};

buffer make_buffer(std::string name, dtype type, int64_t elements);

/// An iteration variable with its range [0, extent): a loop axis of a
/// compute, or a reduction axis.
struct iter_var {
  expr var;
  int64_t extent = 0;
  bool is_reduction = false;
};

struct expr_node {
  expr_op op = expr_op::int_imm;
  dtype type = dtype::i64;
  int64_t int_value = 0;
  double float_value = 0;
  std::string name;          ///< var name or intrinsic name
  std::vector<expr> args;
  buffer target;             ///< load
  tensor source;             ///< tensor_read
  reduce_kind combiner = reduce_kind::sum;  ///< reduce
  std::vector<iter_var> axes;               ///< reduce: the reduction axes
};

// -- constructors (they check operand types and throw compile_error) ------

expr int_imm(int64_t value);
expr float_imm(double value);
expr bool_imm(bool value);
expr make_var(std::string name, dtype type = dtype::i64);
expr binary(expr_op op, expr a, expr b);
expr logical_not(expr a);
expr select(expr condition, expr if_true, expr if_false);
expr cast(dtype type, expr value);
expr call(std::string intrinsic, std::vector<expr> args);
expr load(buffer target, expr index);
expr min_of(expr a, expr b);
expr max_of(expr a, expr b);

expr operator+(expr a, expr b);
expr operator-(expr a, expr b);
expr operator*(expr a, expr b);
expr operator/(expr a, expr b);
expr operator%(expr a, expr b);
expr operator+(expr a, int64_t b);
expr operator-(expr a, int64_t b);
expr operator*(expr a, int64_t b);
expr operator/(expr a, int64_t b);
expr operator%(expr a, int64_t b);
expr operator<(expr a, expr b);
expr operator<=(expr a, expr b);
expr operator>(expr a, expr b);
expr operator>=(expr a, expr b);
expr operator&&(expr a, expr b);
expr operator||(expr a, expr b);

// -- queries -----------------------------------------------------------------

/// Structural equality: same ops, constants, variables (by identity),
/// buffers and tensors, recursively.
bool structurally_equal(const expr& a, const expr& b);

/// True when `e` is an integer constant; stores it in `*value` if given.
bool is_const_int(const expr& e, int64_t* value = nullptr);
/// True when `e` is the integer constant `value`.
bool is_const_value(const expr& e, int64_t value);
bool is_constant(const expr& e);

} // namespace troupe::compiler
