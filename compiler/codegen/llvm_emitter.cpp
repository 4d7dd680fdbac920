// llvm_emitter's setup and everything below the statement level: the entry
// function and its parameters, types, alias scopes, buffers, and expressions
// (arithmetic, comparisons, casts, intrinsic calls, loads). Statements are in
// llvm_emit_statements.cpp, loops in llvm_emit_loops.cpp.
#include "compiler/codegen/llvm_emitter.hpp"

#include "compiler/codegen/loop_analysis.hpp"
#include "compiler/ir/compile_error.hpp"

#include <fmt/format.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <unordered_map>

namespace troupe::compiler::detail {

// -- construction -------------------------------------------------------------

llvm_emitter::llvm_emitter(llvm::Module& module)
    : module_(module), context_(module.getContext()), builder_(context_) {
  llvm::FastMathFlags flags;
  flags.setAllowContract(true);
  builder_.setFastMathFlags(flags);
}

void llvm_emitter::run(const lowered_func& func) {
  if (func.name.empty())
    throw compile_error("a lowered function needs a name");
  if (!func.body)
    throw compile_error(fmt::format("function '{}' has no body", func.name));
  if (module_.getFunction(func.name))
    throw compile_error(fmt::format("function '{}' is defined twice", func.name));
  func_name_ = func.name;
  auto* type = llvm::FunctionType::get(builder_.getVoidTy(), {builder_.getPtrTy()}, false);
  auto* function =
      llvm::Function::Create(type, llvm::Function::ExternalLinkage, func.name, module_);
  function->addFnAttr(llvm::Attribute::NoUnwind);
  function->addParamAttr(0, llvm::Attribute::NoCapture);
  function->addParamAttr(0, llvm::Attribute::ReadOnly);
  function->getArg(0)->setName("args");
  start_function(function);

  make_alias_scopes(func);
  for (size_t i = 0; i < func.params.size(); ++i) {
    auto& param = func.params[i];
    if (!param)
      throw compile_error(fmt::format("function '{}': parameter {} is missing", func.name, i));
    auto* slot = builder_.CreateConstInBoundsGEP1_64(builder_.getPtrTy(), function->getArg(0), i);
    buffers_[param.get()] = builder_.CreateLoad(builder_.getPtrTy(), slot, param->name);
  }
  emit(func.body);
  builder_.CreateRetVoid();
  verify(function);
}

// -- types and helpers --------------------------------------------------------

llvm::Type* llvm_emitter::scalar_type(dtype type) {
  switch (type) {
    case dtype::f32: return builder_.getFloatTy();
    case dtype::i64: return builder_.getInt64Ty();
    case dtype::boolean: return builder_.getInt1Ty();
  }
  return nullptr;
}

llvm::Type* llvm_emitter::memory_type(dtype type) {
  return type == dtype::boolean ? builder_.getInt8Ty() : scalar_type(type);
}

int64_t llvm_emitter::element_bytes(dtype type) {
  return type == dtype::boolean ? 1 : type == dtype::f32 ? 4 : 8;
}

bool llvm_emitter::is_vector(Value* v) {
  return v->getType()->isVectorTy();
}

Value* llvm_emitter::widen(Value* v) {
  if (lanes_ == 1 || is_vector(v))
    return v;
  return builder_.CreateVectorSplat(static_cast<unsigned>(lanes_), v);
}

void llvm_emitter::match(Value*& a, Value*& b) {
  if (is_vector(a) || is_vector(b)) {
    a = widen(a);
    b = widen(b);
  }
}

void llvm_emitter::start_function(llvm::Function* function) {
  function_ = function;
  builder_.SetInsertPoint(llvm::BasicBlock::Create(context_, "entry", function));
}

void llvm_emitter::verify(llvm::Function* function) {
  std::string problems;
  llvm::raw_string_ostream out(problems);
  if (llvm::verifyFunction(*function, &out))
    throw compile_error(fmt::format(
        "internal error: LLVM rejects the code generated for '{}': {}", func_name_, out.str()));
}

// -- alias scopes and buffers -------------------------------------------------

void llvm_emitter::make_alias_scopes(const lowered_func& func) {
  references refs;
  refs.add(func.body);
  std::vector<const buffer_node*> all;
  for (auto& param : func.params)
    if (param)
      all.push_back(param.get());
  for (auto* buf : refs.buffers)
    all.push_back(buf);
  llvm::MDBuilder md(context_);
  auto* domain = md.createAnonymousAliasScopeDomain(func.name);
  std::unordered_map<const buffer_node*, llvm::MDNode*> scopes;
  for (auto* buf : all)
    if (!scopes.count(buf))
      scopes[buf] = md.createAnonymousAliasScope(domain, buf->name);
  for (auto& [buf, scope] : scopes) {
    alias_scope_[buf] = llvm::MDNode::get(context_, {scope});
    std::vector<llvm::Metadata*> others;
    for (auto& [other, other_scope] : scopes)
      if (other != buf)
        others.push_back(other_scope);
    if (!others.empty())
      noalias_[buf] = llvm::MDNode::get(context_, others);
  }
}

void llvm_emitter::tag(llvm::Instruction* access, const buffer_node* buf) {
  if (auto it = alias_scope_.find(buf); it != alias_scope_.end())
    access->setMetadata(llvm::LLVMContext::MD_alias_scope, it->second);
  if (auto it = noalias_.find(buf); it != noalias_.end())
    access->setMetadata(llvm::LLVMContext::MD_noalias, it->second);
}

Value* llvm_emitter::buffer_pointer(const buffer& buf) {
  auto it = buffers_.find(buf.get());
  if (it == buffers_.end())
    throw compile_error(
        fmt::format("function '{}': buffer '{}' is neither a parameter nor "
                    "allocated",
                    func_name_, buf->name));
  return it->second;
}

// -- expressions --------------------------------------------------------------

Value* llvm_emitter::emit(const expr& e) {
  switch (e->op) {
    case expr_op::int_imm: return builder_.getInt64(static_cast<uint64_t>(e->int_value));
    case expr_op::float_imm:
      return llvm::ConstantFP::get(builder_.getFloatTy(), static_cast<float>(e->float_value));
    case expr_op::bool_imm: return builder_.getInt1(e->int_value != 0);
    case expr_op::var: {
      auto it = vars_.find(e.get());
      if (it == vars_.end())
        throw compile_error(
            fmt::format("function '{}': variable '{}' is not bound by an "
                        "enclosing loop",
                        func_name_, e->name));
      return it->second;
    }
    case expr_op::add:
    case expr_op::sub:
    case expr_op::mul:
    case expr_op::div:
    case expr_op::mod:
    case expr_op::min:
    case expr_op::max: return emit_arithmetic(*e);
    case expr_op::lt:
    case expr_op::le:
    case expr_op::eq:
    case expr_op::ne: return emit_comparison(*e);
    case expr_op::logical_and:
    case expr_op::logical_or: {
      Value* a = emit(e->args[0]);
      Value* b = emit(e->args[1]);
      match(a, b);
      return e->op == expr_op::logical_and ? builder_.CreateAnd(a, b) : builder_.CreateOr(a, b);
    }
    case expr_op::logical_not: return builder_.CreateNot(emit(e->args[0]));
    case expr_op::select: {
      Value* condition = emit(e->args[0]);
      Value* if_true = emit(e->args[1]);
      Value* if_false = emit(e->args[2]);
      if (is_vector(condition)) {
        if_true = widen(if_true);
        if_false = widen(if_false);
      }
      match(if_true, if_false);
      return builder_.CreateSelect(condition, if_true, if_false);
    }
    case expr_op::cast: return emit_cast(*e);
    case expr_op::call: return emit_call(*e);
    case expr_op::load: return emit_load(*e);
    case expr_op::tensor_read:
    case expr_op::reduce:
      throw compile_error(
          fmt::format("function '{}': a {} is left over from lowering; code "
                      "generation takes loads and stores only",
                      func_name_, e->op == expr_op::reduce ? "reduce" : "tensor read"));
  }
  throw compile_error("unknown expression");
}

Value* llvm_emitter::emit_arithmetic(const expr_node& e) {
  bool is_float = e.type == dtype::f32;
  int64_t divisor = 0;
  bool power_of_two =
      is_const_int(e.args[1], &divisor) && divisor > 0 && (divisor & (divisor - 1)) == 0;
  Value* a = emit(e.args[0]);
  Value* b = emit(e.args[1]);
  match(a, b);
  switch (e.op) {
    case expr_op::add: return is_float ? builder_.CreateFAdd(a, b) : builder_.CreateNSWAdd(a, b);
    case expr_op::sub: return is_float ? builder_.CreateFSub(a, b) : builder_.CreateNSWSub(a, b);
    case expr_op::mul: return is_float ? builder_.CreateFMul(a, b) : builder_.CreateNSWMul(a, b);
    case expr_op::div:
      if (is_float)
        return builder_.CreateFDiv(a, b);
      if (power_of_two)  // an arithmetic shift is floor division
        return builder_.CreateAShr(
            a,
            llvm::ConstantInt::get(a->getType(), llvm::Log2_64(static_cast<uint64_t>(divisor))));
      return floor_div_mod(a, b, true);
    case expr_op::mod:
      if (power_of_two)  // the low bits are the floor modulo
        return builder_.CreateAnd(
            a, llvm::ConstantInt::get(a->getType(), static_cast<uint64_t>(divisor - 1)));
      return floor_div_mod(a, b, false);
    case expr_op::min:
      if (is_float)
        return builder_.CreateSelect(builder_.CreateFCmpOLT(a, b), a, b);
      return builder_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, a, b);
    case expr_op::max:
      if (is_float)
        return builder_.CreateSelect(builder_.CreateFCmpOGT(a, b), a, b);
      return builder_.CreateBinaryIntrinsic(llvm::Intrinsic::smax, a, b);
    default: throw compile_error("not an arithmetic operator");
  }
}

// Floor division and modulo from LLVM's truncating ones: when the
// remainder is nonzero and its sign differs from the divisor's, the
// quotient is one less and the remainder one divisor more.
Value* llvm_emitter::floor_div_mod(Value* a, Value* b, bool want_quotient) {
  Value* quotient = builder_.CreateSDiv(a, b);
  Value* remainder = builder_.CreateSRem(a, b);
  Value* zero = llvm::Constant::getNullValue(a->getType());
  Value* adjust =
      builder_.CreateAnd(builder_.CreateICmpNE(remainder, zero),
                         builder_.CreateICmpSLT(builder_.CreateXor(remainder, b), zero));
  if (want_quotient)
    return builder_.CreateSub(quotient, builder_.CreateZExt(adjust, a->getType()));
  return builder_.CreateAdd(remainder, builder_.CreateSelect(adjust, b, zero));
}

Value* llvm_emitter::emit_comparison(const expr_node& e) {
  Value* a = emit(e.args[0]);
  Value* b = emit(e.args[1]);
  match(a, b);
  if (e.args[0]->type == dtype::f32) {
    switch (e.op) {
      case expr_op::lt: return builder_.CreateFCmpOLT(a, b);
      case expr_op::le: return builder_.CreateFCmpOLE(a, b);
      case expr_op::eq: return builder_.CreateFCmpOEQ(a, b);
      default: return builder_.CreateFCmpUNE(a, b);
    }
  }
  bool is_signed = e.args[0]->type == dtype::i64;
  switch (e.op) {
    case expr_op::lt:
      return is_signed ? builder_.CreateICmpSLT(a, b) : builder_.CreateICmpULT(a, b);
    case expr_op::le:
      return is_signed ? builder_.CreateICmpSLE(a, b) : builder_.CreateICmpULE(a, b);
    case expr_op::eq: return builder_.CreateICmpEQ(a, b);
    default: return builder_.CreateICmpNE(a, b);
  }
}

Value* llvm_emitter::emit_cast(const expr_node& e) {
  Value* value = emit(e.args[0]);
  dtype from = e.args[0]->type;
  llvm::Type* to = scalar_type(e.type);
  if (is_vector(value))
    to = llvm::VectorType::get(to,
                               llvm::cast<llvm::VectorType>(value->getType())->getElementCount());
  if (from == e.type)
    return value;
  switch (e.type) {
    case dtype::f32:
      return from == dtype::i64 ? builder_.CreateSIToFP(value, to)
                                : builder_.CreateUIToFP(value, to);
    case dtype::i64:
      return from == dtype::f32 ? builder_.CreateFPToSI(value, to)
                                : builder_.CreateZExt(value, to);
    case dtype::boolean:
      if (from == dtype::f32)
        return builder_.CreateFCmpUNE(value, llvm::Constant::getNullValue(value->getType()));
      return builder_.CreateICmpNE(value, llvm::Constant::getNullValue(value->getType()));
  }
  return value;
}

Value* llvm_emitter::emit_call(const expr_node& e) {
  Value* x = emit(e.args[0]);
  static const std::pair<const char*, llvm::Intrinsic::ID> intrinsics[] = {
      {"exp", llvm::Intrinsic::exp},
      {"log", llvm::Intrinsic::log},
      {"sqrt", llvm::Intrinsic::sqrt},
      {"fabs", llvm::Intrinsic::fabs},
  };
  for (auto& [name, id] : intrinsics)
    if (e.name == name)
      return builder_.CreateUnaryIntrinsic(id, x);
  const char* libm_name = e.name == "tanh" ? "tanhf" : e.name == "erf" ? "erff" : nullptr;
  if (!libm_name)
    throw compile_error(
        fmt::format("function '{}': no code generation for intrinsic '{}'", func_name_, e.name));
  auto callee = module_.getOrInsertFunction(
      libm_name, llvm::FunctionType::get(builder_.getFloatTy(), {builder_.getFloatTy()}, false));
  if (auto* declared = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
    declared->setDoesNotThrow();
    declared->setDoesNotAccessMemory();
    declared->setWillReturn();
  }
  if (!is_vector(x))
    return builder_.CreateCall(callee, {x});
  // One libm call per lane.
  Value* result = llvm::PoisonValue::get(x->getType());
  for (int64_t lane = 0; lane < lanes_; ++lane) {
    Value* element = builder_.CreateExtractElement(x, static_cast<uint64_t>(lane));
    result = builder_.CreateInsertElement(result, builder_.CreateCall(callee, {element}),
                                          static_cast<uint64_t>(lane));
  }
  return result;
}

Value* llvm_emitter::emit_first_lane(const expr& index) {
  const expr_node* var = vector_var_;
  int64_t lanes = lanes_;
  vector_var_ = nullptr;
  lanes_ = 1;
  Value* result = nullptr;
  {
    binding first(*this, var, vector_min_);
    result = emit(index);
  }
  vector_var_ = var;
  lanes_ = lanes;
  return result;
}

llvm::Align llvm_emitter::element_align(dtype type) {
  return llvm::Align(static_cast<uint64_t>(element_bytes(type)));
}

Value* llvm_emitter::from_memory(Value* loaded, dtype type) {
  if (type != dtype::boolean)
    return loaded;
  return builder_.CreateICmpNE(loaded, llvm::Constant::getNullValue(loaded->getType()));
}

Value* llvm_emitter::to_memory(Value* value, dtype type) {
  if (type != dtype::boolean)
    return value;
  llvm::Type* byte = builder_.getInt8Ty();
  if (is_vector(value))
    byte = llvm::VectorType::get(
        byte, llvm::cast<llvm::VectorType>(value->getType())->getElementCount());
  return builder_.CreateZExt(value, byte);
}

Value* llvm_emitter::emit_load(const expr_node& e) {
  const buffer_node* buf = e.target.get();
  Value* base = buffer_pointer(e.target);
  llvm::Type* element = memory_type(buf->type);
  const expr& index = e.args[0];
  llvm::Instruction* access = nullptr;
  if (lanes_ > 1 && depends_on(index, vector_var_)) {
    auto stride = stride_of(index, vector_var_);
    auto* vector_type = llvm::FixedVectorType::get(element, static_cast<unsigned>(lanes_));
    if (stride && *stride == 1) {
      Value* address = builder_.CreateInBoundsGEP(element, base, emit_first_lane(index));
      if (mask_)
        access = builder_.CreateMaskedLoad(vector_type, address, element_align(buf->type), mask_);
      else
        access = builder_.CreateAlignedLoad(vector_type, address, element_align(buf->type));
    } else if (stride && *stride == 0) {
      Value* address = builder_.CreateInBoundsGEP(element, base, emit_first_lane(index));
      access = builder_.CreateAlignedLoad(element, address, element_align(buf->type));
    } else {
      Value* addresses = builder_.CreateInBoundsGEP(element, base, widen(emit(index)));
      access =
          builder_.CreateMaskedGather(vector_type, addresses, element_align(buf->type), mask_);
    }
  } else {
    Value* address = builder_.CreateInBoundsGEP(element, base, emit(index));
    access = builder_.CreateAlignedLoad(element, address, element_align(buf->type));
  }
  tag(access, buf);
  return from_memory(access, buf->type);
}

} // namespace troupe::compiler::detail
