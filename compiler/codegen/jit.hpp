// Compiling lowered functions to native code for the host CPU: in memory
// through LLVM's ORC JIT (jit_module), or to an object file for ahead-of-time
// use. Both optimize at O3 for the host (its CPU name and features, 512-bit
// vectors preferred where the CPU has AVX-512). LLVM stays behind a pimpl:
// including this header costs nothing.
#pragma once

#include "compiler/ir/stmt.hpp"

#include <memory>
#include <string>
#include <vector>

namespace troupe::compiler {

/// A compiled `void name(void** args)`: args[i] points to params[i]'s data.
using compiled_func = void (*)(void** args);

/// Functions compiled into this process. The function pointers it hands
/// out stay valid while the jit_module lives. Not thread-safe: one thread
/// adds and looks up at a time (calling compiled functions is free for all).
class jit_module {
public:
  jit_module();
  ~jit_module();
  jit_module(const jit_module&) = delete;
  jit_module& operator=(const jit_module&) = delete;

  /// Compiles `funcs` (one LLVM module) and makes them callable. Throws
  /// compile_error, e.g. when a name is already taken.
  void add(const std::vector<lowered_func>& funcs);
  void add(const lowered_func& func) { add(std::vector<lowered_func>{func}); }

  /// Links native object code (from object_code(), for this host) and
  /// makes the functions `names` it defines callable: nothing is compiled.
  /// Throws compile_error when a name is already taken or the bytes are not
  /// an object file; unresolved symbols surface at lookup().
  void add_object(const std::string& object, const std::vector<std::string>& names);

  /// The compiled function `name`; throws compile_error when there is none.
  compiled_func lookup(const std::string& name);

  /// Compiles `func` and returns it: add() then lookup().
  compiled_func compile(const lowered_func& func);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Writes `funcs` as a native object file (host CPU) to `path`. The object
/// needs troupe_parallel_for (thread_pool.hpp), libm and aligned_alloc/free.
void emit_object_file(const std::vector<lowered_func>& funcs, const std::string& path);

/// The native object code of `funcs` (what emit_object_file writes), as bytes.
std::string object_code(const std::vector<lowered_func>& funcs);

/// The host's target triple, CPU name and features ("+avx2,-avx512f,..."),
/// space-separated: what object code compiled here assumes of the CPU.
std::string host_target();

/// The features `target` (a host_target() string) requires that this host
/// lacks, e.g. "+avx512f"; empty when code compiled for it runs here.
std::vector<std::string> missing_features(const std::string& target);

/// The optimized LLVM IR of `funcs`, as text: for debugging and tests.
std::string optimized_ir(const std::vector<lowered_func>& funcs);

/// The host assembly of `funcs`: for debugging and tests.
std::string assembly(const std::vector<lowered_func>& funcs);

} // namespace troupe::compiler
