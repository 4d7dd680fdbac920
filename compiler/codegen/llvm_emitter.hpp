// Internal header, not part of the public API: included only by the code
// generation .cpp files (llvm_codegen.cpp, llvm_emitter.cpp,
// llvm_emit_statements.cpp, llvm_emit_loops.cpp). The public entry points are
// the generate_llvm functions in llvm_codegen.hpp, which also describes how
// each loop kind is emitted.
//
// llvm_emitter turns one lowered_func into LLVM IR. Its member functions are
// spread over three files: llvm_emitter.cpp (setup, helpers, alias scopes,
// buffers, expressions), llvm_emit_statements.cpp (statements) and
// llvm_emit_loops.cpp (the four loop kinds).
#pragma once

#include "compiler/ir/stmt.hpp"

#include <llvm/IR/IRBuilder.h>

#include <cstdint>
#include <string>
#include <unordered_map>

namespace troupe::compiler::detail {

using llvm::Value;

// Buffers this small live on the stack; larger ones on the heap.
inline constexpr int64_t max_stack_allocation = 64 * 1024;
// Vectorized loops wider than this are emitted as scalar loops.
inline constexpr int64_t max_vector_lanes = 256;
inline constexpr unsigned allocation_alignment = 64;

// -- code generation ----------------------------------------------------------

class llvm_emitter {
public:
  explicit llvm_emitter(llvm::Module& module);

  void run(const lowered_func& func);

private:
  // -- types and helpers (llvm_emitter.cpp) -----------------------------------

  llvm::Type* scalar_type(dtype type);
  // Booleans are bytes in memory.
  llvm::Type* memory_type(dtype type);
  static int64_t element_bytes(dtype type);
  static bool is_vector(Value* v);
  Value* widen(Value* v);
  // Splats whichever of a, b is scalar when the other is a vector.
  void match(Value*& a, Value*& b);
  void start_function(llvm::Function* function);
  void verify(llvm::Function* function);

  // Every buffer gets its own alias scope: an access to one buffer is
  // declared not to alias the others.
  void make_alias_scopes(const lowered_func& func);
  void tag(llvm::Instruction* access, const buffer_node* buf);
  Value* buffer_pointer(const buffer& buf);

  // Binds var to value until the guard goes out of scope.
  struct binding {
    binding(llvm_emitter& gen, const expr_node* var, Value* value) : gen_(gen), var_(var) {
      auto it = gen.vars_.find(var);
      if (it != gen.vars_.end())
        previous_ = it->second;
      gen.vars_[var] = value;
    }
    ~binding() {
      if (previous_)
        gen_.vars_[var_] = previous_;
      else
        gen_.vars_.erase(var_);
    }
    llvm_emitter& gen_;
    const expr_node* var_;
    Value* previous_ = nullptr;
  };

  // -- expressions (llvm_emitter.cpp) -----------------------------------------

  Value* emit(const expr& e);
  Value* emit_arithmetic(const expr_node& e);
  Value* floor_div_mod(Value* a, Value* b, bool want_quotient);
  Value* emit_comparison(const expr_node& e);
  Value* emit_cast(const expr_node& e);
  Value* emit_call(const expr_node& e);
  // The index at the first lane of the vectorized loop, as a scalar.
  Value* emit_first_lane(const expr& index);
  llvm::Align element_align(dtype type);
  Value* from_memory(Value* loaded, dtype type);
  Value* to_memory(Value* value, dtype type);
  Value* emit_load(const expr_node& e);

  // -- statements (llvm_emit_statements.cpp) ----------------------------------

  void emit(const stmt& s);
  // A native kernel (tensorized region): void callee(ptr..., i64...).
  void emit_call_extern(const stmt_node& s);
  void emit_store(const stmt_node& s);
  void emit_allocate(const stmt_node& s);
  void emit_if(const stmt_node& s);
  void emit_masked_if(const stmt_node& s, Value* condition);

  // -- loops (llvm_emit_loops.cpp) --------------------------------------------

  void emit_serial_loop(const expr_node* var, Value* min, Value* extent, const stmt& body);
  void emit_unrolled_loop(const stmt_node& s);
  void emit_vectorized_loop(const stmt_node& s);
  void emit_parallel_loop(const stmt_node& s);

  // -- state ------------------------------------------------------------------

  llvm::Module& module_;
  llvm::LLVMContext& context_;
  llvm::IRBuilder<> builder_;
  std::string func_name_;
  llvm::Function* function_ = nullptr;
  std::unordered_map<const expr_node*, Value*> vars_;
  std::unordered_map<const buffer_node*, Value*> buffers_;
  std::unordered_map<const buffer_node*, llvm::MDNode*> alias_scope_;
  std::unordered_map<const buffer_node*, llvm::MDNode*> noalias_;
  // The vectorized loop being emitted: its variable, lanes and first value.
  const expr_node* vector_var_ = nullptr;
  int64_t lanes_ = 1;
  Value* vector_min_ = nullptr;
  // Inside an if that varies across lanes: the lanes that run (else null).
  Value* mask_ = nullptr;
};

} // namespace troupe::compiler::detail
