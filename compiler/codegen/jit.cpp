#include "compiler/codegen/jit.hpp"

#include "compiler/codegen/microkernels.hpp"

#include "compiler/codegen/llvm_codegen.hpp"
#include "compiler/codegen/thread_pool.hpp"
#include "compiler/ir/compile_error.hpp"

#include <fmt/format.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <unordered_set>

namespace troupe::compiler {

namespace {

void initialize_llvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

std::string message(llvm::Error error) {
  return llvm::toString(std::move(error));
}

// The host CPU with all its features, optimizing aggressively and fusing
// multiply-adds wherever the IR allows contraction.
llvm::orc::JITTargetMachineBuilder host_machine(bool position_independent) {
  initialize_llvm();
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    throw compile_error("LLVM cannot describe the host CPU: " + message(builder.takeError()));
  builder->setCodeGenOptLevel(llvm::CodeGenOpt::Aggressive);
  builder->getOptions().AllowFPOpFusion = llvm::FPOpFusion::Fast;
  if (position_independent)
    builder->setRelocationModel(llvm::Reloc::PIC_);
  return std::move(*builder);
}

std::unique_ptr<llvm::TargetMachine> target_machine(llvm::orc::JITTargetMachineBuilder& builder) {
  auto machine = builder.createTargetMachine();
  if (!machine)
    throw compile_error("LLVM cannot make a target machine for the host: "
                        + message(machine.takeError()));
  return std::move(*machine);
}

// Tells every function which CPU it runs on; on AVX-512 CPUs LLVM would
// otherwise split 512-bit vectors in two.
void target_host(llvm::Module& module, llvm::TargetMachine& machine) {
  module.setTargetTriple(machine.getTargetTriple().str());
  module.setDataLayout(machine.createDataLayout());
  std::string cpu = machine.getTargetCPU().str();
  std::string features = machine.getTargetFeatureString().str();
  bool avx512 = features.find("+avx512f") != std::string::npos;
  for (auto& function : module) {
    if (function.isDeclaration())
      continue;
    function.addFnAttr("target-cpu", cpu);
    function.addFnAttr("target-features", features);
    if (avx512) {
      function.addFnAttr("prefer-vector-width", "512");
      function.addFnAttr("min-legal-vector-width", "512");
    }
  }
}

void optimize(llvm::Module& module, llvm::TargetMachine& machine) {
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager cgscc;
  llvm::ModuleAnalysisManager modules;
  llvm::PassBuilder passes(&machine);
  passes.registerModuleAnalyses(modules);
  passes.registerCGSCCAnalyses(cgscc);
  passes.registerFunctionAnalyses(functions);
  passes.registerLoopAnalyses(loops);
  passes.crossRegisterProxies(loops, functions, cgscc, modules);
  passes.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(module, modules);
}

// Generates, targets and optimizes `funcs` in `context`.
std::unique_ptr<llvm::Module> build(const std::vector<lowered_func>& funcs,
                                    llvm::LLVMContext& context, llvm::TargetMachine& machine) {
  auto module = generate_llvm(funcs, context);
  target_host(*module, machine);
  optimize(*module, machine);
  return module;
}

std::string emit_native(const std::vector<lowered_func>& funcs, llvm::CodeGenFileType type) {
  auto builder = host_machine(true);
  auto machine = target_machine(builder);
  llvm::LLVMContext context;
  auto module = build(funcs, context, *machine);
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream out(buffer);
  llvm::legacy::PassManager passes;
  if (machine->addPassesToEmitFile(passes, out, nullptr, type))
    throw compile_error("LLVM cannot emit this kind of file for the host");
  passes.run(*module);
  return std::string(buffer.begin(), buffer.end());
}

}  // namespace

// -- jit_module ----------------------------------------------------------------

struct jit_module::impl {
  llvm::orc::JITTargetMachineBuilder builder = host_machine(false);
  std::unique_ptr<llvm::TargetMachine> machine = target_machine(builder);
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::unordered_set<std::string> names;

  impl() {
    auto created = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(builder).create();
    if (!created)
      throw compile_error("LLVM cannot start a JIT: " + message(created.takeError()));
    jit = std::move(*created);
    auto& dylib = jit->getMainJITDylib();
    // The runtime and libm by address, so that they resolve in an
    // executable that does not export its symbols; the rest of the process
    // (libc's memset, ...) through dlsym.
    auto flags = llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable;
    auto symbol = [&](auto* function) {
      return llvm::JITEvaluatedSymbol(llvm::pointerToJITTargetAddress(function), flags);
    };
    llvm::orc::SymbolMap runtime;
    runtime[jit->mangleAndIntern("troupe_parallel_for")] = symbol(&troupe_parallel_for);
    runtime[jit->mangleAndIntern("tanhf")] = symbol(static_cast<float (*)(float)>(&::tanhf));
    runtime[jit->mangleAndIntern("erff")] = symbol(static_cast<float (*)(float)>(&::erff));
    runtime[jit->mangleAndIntern("expf")] = symbol(static_cast<float (*)(float)>(&::expf));
    runtime[jit->mangleAndIntern("logf")] = symbol(static_cast<float (*)(float)>(&::logf));
    runtime[jit->mangleAndIntern("aligned_alloc")] = symbol(&::aligned_alloc);
    runtime[jit->mangleAndIntern("free")] = symbol(&::free);
    for (auto& [name, address] : microkernel_symbols())
      runtime[jit->mangleAndIntern(name)] =
          llvm::JITEvaluatedSymbol(llvm::pointerToJITTargetAddress(address), flags);
    if (auto error = dylib.define(llvm::orc::absoluteSymbols(std::move(runtime))))
      throw compile_error("LLVM JIT: cannot define the runtime symbols: "
                          + message(std::move(error)));
    auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
        jit->getDataLayout().getGlobalPrefix());
    if (!process)
      throw compile_error("LLVM JIT: cannot search the process's symbols: "
                          + message(process.takeError()));
    dylib.addGenerator(std::move(*process));
  }
};

jit_module::jit_module() : impl_(std::make_unique<impl>()) {}

jit_module::~jit_module() = default;

void jit_module::add(const std::vector<lowered_func>& funcs) {
  for (auto& func : funcs)
    if (impl_->names.count(func.name))
      throw compile_error(fmt::format("jit: a function named '{}' is already compiled", func.name));
  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = build(funcs, *context, *impl_->machine);
  if (auto error = impl_->jit->addIRModule(
          llvm::orc::ThreadSafeModule(std::move(module), std::move(context))))
    throw compile_error("jit: cannot add the module: " + message(std::move(error)));
  for (auto& func : funcs)
    impl_->names.insert(func.name);
}

void jit_module::add_object(const std::string& object, const std::vector<std::string>& names) {
  for (auto& name : names)
    if (impl_->names.count(name))
      throw compile_error(fmt::format("jit: a function named '{}' is already compiled", name));
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(object, "artifact");
  if (auto parsed = llvm::object::ObjectFile::createObjectFile(buffer->getMemBufferRef()); !parsed)
    throw compile_error("jit: not an object file: " + message(parsed.takeError()));
  if (auto error = impl_->jit->addObjectFile(std::move(buffer)))
    throw compile_error("jit: cannot add the object file: " + message(std::move(error)));
  for (auto& name : names)
    impl_->names.insert(name);
}

compiled_func jit_module::lookup(const std::string& name) {
  if (!impl_->names.count(name))
    throw compile_error(fmt::format("jit: no compiled function named '{}'", name));
  auto address = impl_->jit->lookup(name);
  if (!address)
    throw compile_error(
        fmt::format("jit: cannot link '{}': {}", name, message(address.takeError())));
  return address->toPtr<compiled_func>();
}

compiled_func jit_module::compile(const lowered_func& func) {
  add(func);
  return lookup(func.name);
}

// -- ahead of time and debugging ------------------------------------------------

void emit_object_file(const std::vector<lowered_func>& funcs, const std::string& path) {
  std::string object = emit_native(funcs, llvm::CGFT_ObjectFile);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(object.data(), static_cast<std::streamsize>(object.size()));
  if (!out)
    throw compile_error(fmt::format("cannot write the object file '{}'", path));
}

std::string object_code(const std::vector<lowered_func>& funcs) {
  return emit_native(funcs, llvm::CGFT_ObjectFile);
}

std::string host_target() {
  auto builder = host_machine(true);
  auto machine = target_machine(builder);
  return machine->getTargetTriple().str() + " " + machine->getTargetCPU().str() + " "
         + machine->getTargetFeatureString().str();
}

std::vector<std::string> missing_features(const std::string& target) {
  auto features_of = [](const std::string& description) {
    std::unordered_set<std::string> enabled;
    auto space = description.rfind(' ');
    std::string list = space == std::string::npos ? description : description.substr(space + 1);
    size_t start = 0;
    while (start < list.size()) {
      auto comma = list.find(',', start);
      if (comma == std::string::npos)
        comma = list.size();
      auto feature = list.substr(start, comma - start);
      if (!feature.empty() && feature[0] == '+')
        enabled.insert(feature);
      start = comma + 1;
    }
    return enabled;
  };
  auto here = features_of(host_target());
  std::vector<std::string> missing;
  for (auto& feature : features_of(target))
    if (!here.count(feature))
      missing.push_back(feature);
  std::sort(missing.begin(), missing.end());
  return missing;
}

std::string optimized_ir(const std::vector<lowered_func>& funcs) {
  auto builder = host_machine(false);
  auto machine = target_machine(builder);
  llvm::LLVMContext context;
  auto module = build(funcs, context, *machine);
  std::string text;
  llvm::raw_string_ostream out(text);
  module->print(out, nullptr);
  return out.str();
}

std::string assembly(const std::vector<lowered_func>& funcs) {
  return emit_native(funcs, llvm::CGFT_AssemblyFile);
}

}  // namespace troupe::compiler
