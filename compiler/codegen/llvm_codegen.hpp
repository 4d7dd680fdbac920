// Code generation: a lowered_func becomes LLVM IR, a function
// `void name(void** args)` where args[i] points to the data of params[i]
// (f32 -> float*, i64 -> int64_t*, boolean -> uint8_t*).
//
// How each loop kind is emitted:
//   serial      an ordinary loop.
//   unrolled    the body `extent` times, the loop variable a constant each time.
//   vectorized  the body once over vectors of `extent` lanes (after Halide):
//               an index affine in the loop variable with stride 1 becomes a
//               vector load/store, stride 0 a scalar load and a splat, other
//               indices a gather/scatter. An if whose condition varies over
//               the lanes masks the loads and stores of its branches. A body
//               holding a loop or an allocation, or storing a varying value to
//               an invariant index, is emitted as a scalar loop instead.
//   parallel    the body is outlined into `void body(i64 begin, i64 end,
//               void* closure)` and run by troupe_parallel_for (thread_pool.hpp);
//               the closure carries the buffers and enclosing loop variables.
//
// Semantics the IR leaves open, fixed here: f32 min/max are `a < b ? a : b`
// and `a > b ? a : b` (a NaN in either picks b); f32 -> i64 casts truncate;
// && and || evaluate both operands; floating-point ops may be contracted to
// FMA. Buffers are assumed not to overlap one another (the parameters are
// distinct arrays), which lets LLVM keep values in registers across stores.
//
// The emitter behind these functions is internal (llvm_emitter.hpp), its
// member functions spread over llvm_emitter.cpp, llvm_emit_statements.cpp and
// llvm_emit_loops.cpp.
#pragma once

#include "compiler/ir/stmt.hpp"

#include <memory>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace troupe::compiler {

/// Adds `func` (and the outlined bodies of its parallel loops) to `module`.
/// Throws compile_error naming what cannot be compiled: a buffer that is
/// neither a parameter nor allocated, a variable that no loop binds, a
/// tensor_read or reduce left over from lowering.
void generate_llvm(const lowered_func& func, llvm::Module& module);

/// A new module (named after the first function) holding `funcs`.
std::unique_ptr<llvm::Module> generate_llvm(const std::vector<lowered_func>& funcs,
                                            llvm::LLVMContext& context);

} // namespace troupe::compiler
