// The public entry points. The emitter itself (llvm_emitter.hpp) is split
// over llvm_emitter.cpp, llvm_emit_statements.cpp and llvm_emit_loops.cpp.
#include "compiler/codegen/llvm_codegen.hpp"

#include "compiler/codegen/llvm_emitter.hpp"

#include <llvm/IR/Module.h>

namespace troupe::compiler {

void generate_llvm(const lowered_func& func, llvm::Module& module) {
  detail::llvm_emitter(module).run(func);
}

std::unique_ptr<llvm::Module> generate_llvm(const std::vector<lowered_func>& funcs,
                                            llvm::LLVMContext& context) {
  auto module =
      std::make_unique<llvm::Module>(funcs.empty() ? "troupe" : funcs.front().name, context);
  for (auto& func : funcs)
    generate_llvm(func, *module);
  return module;
}

} // namespace troupe::compiler
