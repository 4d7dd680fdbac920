#include "compiler/codegen/llvm_codegen.hpp"

#include "compiler/codegen/loop_analysis.hpp"
#include "compiler/ir/compile_error.hpp"

#include <fmt/format.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <unordered_map>

namespace troupe::compiler {

namespace {

using llvm::Value;

// Buffers this small live on the stack; larger ones on the heap.
constexpr int64_t max_stack_allocation = 64 * 1024;
// Vectorized loops wider than this are emitted as scalar loops.
constexpr int64_t max_vector_lanes = 256;
constexpr unsigned allocation_alignment = 64;

// -- code generation ---------------------------------------------------------

class codegen {
public:
  explicit codegen(llvm::Module& module)
      : module_(module), context_(module.getContext()), builder_(context_) {
    llvm::FastMathFlags flags;
    flags.setAllowContract(true);
    builder_.setFastMathFlags(flags);
  }

  void run(const lowered_func& func) {
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

private:
  // -- types and helpers ------------------------------------------------------

  llvm::Type* scalar_type(dtype type) {
    switch (type) {
      case dtype::f32: return builder_.getFloatTy();
      case dtype::i64: return builder_.getInt64Ty();
      case dtype::boolean: return builder_.getInt1Ty();
    }
    return nullptr;
  }

  // Booleans are bytes in memory.
  llvm::Type* memory_type(dtype type) {
    return type == dtype::boolean ? builder_.getInt8Ty() : scalar_type(type);
  }

  static int64_t element_bytes(dtype type) {
    return type == dtype::boolean ? 1 : type == dtype::f32 ? 4 : 8;
  }

  static bool is_vector(Value* v) { return v->getType()->isVectorTy(); }

  Value* widen(Value* v) {
    if (lanes_ == 1 || is_vector(v))
      return v;
    return builder_.CreateVectorSplat(static_cast<unsigned>(lanes_), v);
  }

  // Splats whichever of a, b is scalar when the other is a vector.
  void match(Value*& a, Value*& b) {
    if (is_vector(a) || is_vector(b)) {
      a = widen(a);
      b = widen(b);
    }
  }

  void start_function(llvm::Function* function) {
    function_ = function;
    builder_.SetInsertPoint(llvm::BasicBlock::Create(context_, "entry", function));
  }

  void verify(llvm::Function* function) {
    std::string problems;
    llvm::raw_string_ostream out(problems);
    if (llvm::verifyFunction(*function, &out))
      throw compile_error(fmt::format(
          "internal error: LLVM rejects the code generated for '{}': {}", func_name_, out.str()));
  }

  // Every buffer gets its own alias scope: an access to one buffer is
  // declared not to alias the others.
  void make_alias_scopes(const lowered_func& func) {
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

  void tag(llvm::Instruction* access, const buffer_node* buf) {
    if (auto it = alias_scope_.find(buf); it != alias_scope_.end())
      access->setMetadata(llvm::LLVMContext::MD_alias_scope, it->second);
    if (auto it = noalias_.find(buf); it != noalias_.end())
      access->setMetadata(llvm::LLVMContext::MD_noalias, it->second);
  }

  Value* buffer_pointer(const buffer& buf) {
    auto it = buffers_.find(buf.get());
    if (it == buffers_.end())
      throw compile_error(
          fmt::format("function '{}': buffer '{}' is neither a parameter nor "
                      "allocated",
                      func_name_, buf->name));
    return it->second;
  }

  // Binds var to value until the guard goes out of scope.
  struct binding {
    binding(codegen& gen, const expr_node* var, Value* value) : gen_(gen), var_(var) {
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
    codegen& gen_;
    const expr_node* var_;
    Value* previous_ = nullptr;
  };

  // -- expressions --------------------------------------------------------------

  Value* emit(const expr& e) {
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

  Value* emit_arithmetic(const expr_node& e) {
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
  Value* floor_div_mod(Value* a, Value* b, bool want_quotient) {
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

  Value* emit_comparison(const expr_node& e) {
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

  Value* emit_cast(const expr_node& e) {
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

  Value* emit_call(const expr_node& e) {
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

  // The index at the first lane of the vectorized loop, as a scalar.
  Value* emit_first_lane(const expr& index) {
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

  llvm::Align element_align(dtype type) {
    return llvm::Align(static_cast<uint64_t>(element_bytes(type)));
  }

  Value* from_memory(Value* loaded, dtype type) {
    if (type != dtype::boolean)
      return loaded;
    return builder_.CreateICmpNE(loaded, llvm::Constant::getNullValue(loaded->getType()));
  }

  Value* to_memory(Value* value, dtype type) {
    if (type != dtype::boolean)
      return value;
    llvm::Type* byte = builder_.getInt8Ty();
    if (is_vector(value))
      byte = llvm::VectorType::get(
          byte, llvm::cast<llvm::VectorType>(value->getType())->getElementCount());
    return builder_.CreateZExt(value, byte);
  }

  Value* emit_load(const expr_node& e) {
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

  // -- statements ----------------------------------------------------------------

  void emit(const stmt& s) {
    switch (s->op) {
      case stmt_op::seq:
        for (auto& child : s->body)
          emit(child);
        return;
      case stmt_op::store: emit_store(*s); return;
      case stmt_op::allocate: emit_allocate(*s); return;
      case stmt_op::if_then_else: emit_if(*s); return;
      case stmt_op::call_extern: emit_call_extern(*s); return;
      case stmt_op::for_loop:
        switch (s->kind) {
          case loop_kind::serial:
            emit_serial_loop(s->loop_var.get(), emit(s->min), emit(s->extent), s->body[0]);
            return;
          case loop_kind::unrolled: emit_unrolled_loop(*s); return;
          case loop_kind::vectorized: emit_vectorized_loop(*s); return;
          case loop_kind::parallel: emit_parallel_loop(*s); return;
        }
    }
    throw compile_error("unknown statement");
  }

  // A native kernel (tensorized region): void callee(ptr..., i64...).
  void emit_call_extern(const stmt_node& s) {
    if (lanes_ > 1)
      throw compile_error(fmt::format("'{}' (a native kernel) cannot be called inside a "
                                      "vectorized loop", s.callee));
    std::vector<llvm::Type*> params;
    std::vector<Value*> args;
    for (size_t i = 0; i < s.call_buffers.size(); ++i) {
      auto& buf = s.call_buffers[i];
      Value* base = buffer_pointer(buf);
      args.push_back(builder_.CreateInBoundsGEP(memory_type(buf->type), base, emit(s.call_offsets[i])));
      params.push_back(args.back()->getType());
    }
    for (auto& scalar : s.call_scalars) {
      args.push_back(emit(scalar));
      params.push_back(args.back()->getType());
    }
    auto* type = llvm::FunctionType::get(builder_.getVoidTy(), params, false);
    auto callee = module_.getOrInsertFunction(s.callee, type);
    builder_.CreateCall(callee, args);
  }

  void emit_store(const stmt_node& s) {
    const buffer_node* buf = s.target.get();
    Value* base = buffer_pointer(s.target);
    llvm::Type* element = memory_type(buf->type);
    Value* value = to_memory(emit(s.value), buf->type);
    llvm::Instruction* access = nullptr;
    if (lanes_ > 1 && depends_on(s.index, vector_var_)) {
      auto stride = stride_of(s.index, vector_var_);
      value = widen(value);
      if (stride && *stride == 1) {
        Value* address = builder_.CreateInBoundsGEP(element, base, emit_first_lane(s.index));
        if (mask_)
          access = builder_.CreateMaskedStore(value, address, element_align(buf->type), mask_);
        else
          access = builder_.CreateAlignedStore(value, address, element_align(buf->type));
      } else {
        // Scatter: lanes that hit one address store in lane order, as the
        // scalar loop would.
        Value* addresses = builder_.CreateInBoundsGEP(element, base, widen(emit(s.index)));
        access = builder_.CreateMaskedScatter(value, addresses, element_align(buf->type), mask_);
      }
    } else {
      if (is_vector(value))  // an invariant value computed over lanes: all equal
        value = builder_.CreateExtractElement(value, static_cast<uint64_t>(lanes_ - 1));
      llvm::BasicBlock* after = nullptr;
      if (mask_) {  // under a vector condition: store when any lane would
        auto* any = llvm::BasicBlock::Create(context_, "any_lane", function_);
        after = llvm::BasicBlock::Create(context_, "after_store", function_);
        builder_.CreateCondBr(builder_.CreateOrReduce(mask_), any, after);
        builder_.SetInsertPoint(any);
      }
      Value* address = builder_.CreateInBoundsGEP(element, base, emit(s.index));
      access = builder_.CreateAlignedStore(value, address, element_align(buf->type));
      if (after) {
        builder_.CreateBr(after);
        builder_.SetInsertPoint(after);
      }
    }
    tag(access, buf);
  }

  void emit_allocate(const stmt_node& s) {
    const buffer_node* buf = s.target.get();
    if (buffers_.count(buf))
      throw compile_error(
          fmt::format("function '{}': buffer '{}' is allocated twice", func_name_, buf->name));
    int64_t bytes = buf->elements * element_bytes(buf->type);
    llvm::Type* element = memory_type(buf->type);
    if (bytes <= max_stack_allocation) {
      llvm::IRBuilder<> entry(&function_->getEntryBlock(), function_->getEntryBlock().begin());
      auto* slot = entry.CreateAlloca(
          llvm::ArrayType::get(element, static_cast<uint64_t>(buf->elements)), nullptr, buf->name);
      slot->setAlignment(llvm::Align(allocation_alignment));
      buffers_[buf] = slot;
      emit(s.body[0]);
      buffers_.erase(buf);
      return;
    }
    // aligned_alloc wants a size that is a multiple of the alignment.
    int64_t rounded =
        (bytes + allocation_alignment - 1) / allocation_alignment * allocation_alignment;
    auto allocate = module_.getOrInsertFunction(
        "aligned_alloc",
        llvm::FunctionType::get(builder_.getPtrTy(), {builder_.getInt64Ty(), builder_.getInt64Ty()},
                                false));
    auto release = module_.getOrInsertFunction(
        "free", llvm::FunctionType::get(builder_.getVoidTy(), {builder_.getPtrTy()}, false));
    Value* data = builder_.CreateCall(allocate,
                                      {builder_.getInt64(allocation_alignment),
                                       builder_.getInt64(static_cast<uint64_t>(rounded))},
                                      buf->name);
    buffers_[buf] = data;
    emit(s.body[0]);
    buffers_.erase(buf);
    builder_.CreateCall(release, {data});
  }

  void emit_if(const stmt_node& s) {
    Value* condition = emit(s.condition);
    if (is_vector(condition)) {
      emit_masked_if(s, condition);
      return;
    }
    auto* then_block = llvm::BasicBlock::Create(context_, "then", function_);
    auto* else_block =
        s.body.size() > 1 ? llvm::BasicBlock::Create(context_, "else", function_) : nullptr;
    auto* after = llvm::BasicBlock::Create(context_, "endif", function_);
    builder_.CreateCondBr(condition, then_block, else_block ? else_block : after);
    builder_.SetInsertPoint(then_block);
    emit(s.body[0]);
    builder_.CreateBr(after);
    if (else_block) {
      builder_.SetInsertPoint(else_block);
      emit(s.body[1]);
      builder_.CreateBr(after);
    }
    builder_.SetInsertPoint(after);
  }

  // An if whose condition varies across the lanes of a vectorized loop:
  // both branches run, their loads and stores masked to the lanes that
  // take them (a remainder guard becomes a masked store, not a scalar loop).
  void emit_masked_if(const stmt_node& s, Value* condition) {
    Value* outer = mask_;
    mask_ = outer ? builder_.CreateAnd(outer, condition) : condition;
    emit(s.body[0]);
    if (s.body.size() > 1) {
      Value* otherwise = builder_.CreateNot(condition);
      mask_ = outer ? builder_.CreateAnd(outer, otherwise) : otherwise;
      emit(s.body[1]);
    }
    mask_ = outer;
  }

  void emit_serial_loop(const expr_node* var, Value* min, Value* extent, const stmt& body) {
    Value* end = builder_.CreateNSWAdd(min, extent, var->name + ".end");
    auto* before = builder_.GetInsertBlock();
    auto* header = llvm::BasicBlock::Create(context_, var->name + ".header", function_);
    auto* body_block = llvm::BasicBlock::Create(context_, var->name + ".body", function_);
    auto* exit = llvm::BasicBlock::Create(context_, var->name + ".exit", function_);
    builder_.CreateBr(header);
    builder_.SetInsertPoint(header);
    auto* counter = builder_.CreatePHI(builder_.getInt64Ty(), 2, var->name);
    counter->addIncoming(min, before);
    builder_.CreateCondBr(builder_.CreateICmpSLT(counter, end), body_block, exit);
    builder_.SetInsertPoint(body_block);
    {
      binding bound(*this, var, counter);
      emit(body);
    }
    counter->addIncoming(builder_.CreateNSWAdd(counter, builder_.getInt64(1)),
                         builder_.GetInsertBlock());
    builder_.CreateBr(header);
    builder_.SetInsertPoint(exit);
  }

  void emit_unrolled_loop(const stmt_node& s) {
    int64_t extent = 0;
    is_const_int(s.extent, &extent);
    Value* min = emit(s.min);
    for (int64_t i = 0; i < extent; ++i) {
      binding bound(
          *this, s.loop_var.get(),
          i == 0 ? min : builder_.CreateNSWAdd(min, builder_.getInt64(static_cast<uint64_t>(i))));
      emit(s.body[0]);
    }
  }

  void emit_vectorized_loop(const stmt_node& s) {
    int64_t lanes = 0;
    is_const_int(s.extent, &lanes);
    const expr_node* var = s.loop_var.get();
    Value* min = emit(s.min);
    if (lanes <= 0)
      return;
    if (lanes == 1) {
      binding bound(*this, var, min);
      emit(s.body[0]);
      return;
    }
    if (lanes_ > 1 || lanes > max_vector_lanes || !vectorizable(s.body[0], var)) {
      emit_serial_loop(var, min, builder_.getInt64(static_cast<uint64_t>(lanes)), s.body[0]);
      return;
    }
    std::vector<llvm::Constant*> steps;
    for (int64_t i = 0; i < lanes; ++i)
      steps.push_back(builder_.getInt64(static_cast<uint64_t>(i)));
    lanes_ = lanes;
    vector_var_ = var;
    vector_min_ = min;
    Value* ramp = builder_.CreateNSWAdd(widen(min), llvm::ConstantVector::get(steps), var->name);
    {
      binding bound(*this, var, ramp);
      emit(s.body[0]);
    }
    lanes_ = 1;
    vector_var_ = nullptr;
    vector_min_ = nullptr;
  }

  // The body becomes `void f(i64 begin, i64 end, ptr closure)`; the closure
  // is an array of 8-byte slots: the loop's min, then every enclosing
  // variable and buffer the body mentions.
  void emit_parallel_loop(const stmt_node& s) {
    const expr_node* var = s.loop_var.get();
    Value* min = emit(s.min);
    Value* extent = emit(s.extent);
    references refs;
    refs.add(s.body[0]);
    std::vector<const expr_node*> vars;
    for (auto* v : refs.vars)
      if (v != var && vars_.count(v))
        vars.push_back(v);
    std::vector<const buffer_node*> bufs;
    for (auto* buf : refs.buffers)
      if (buffers_.count(buf))
        bufs.push_back(buf);

    size_t slots = 1 + vars.size() + bufs.size();
    llvm::IRBuilder<> entry(&function_->getEntryBlock(), function_->getEntryBlock().begin());
    auto* closure = entry.CreateAlloca(llvm::ArrayType::get(builder_.getInt64Ty(), slots), nullptr,
                                       var->name + ".closure");
    auto slot = [&](Value* base, size_t i) {
      return builder_.CreateConstInBoundsGEP1_64(builder_.getInt64Ty(), base, i);
    };
    builder_.CreateStore(min, slot(closure, 0));
    for (size_t i = 0; i < vars.size(); ++i)
      builder_.CreateStore(vars_.at(vars[i]), slot(closure, 1 + i));
    for (size_t i = 0; i < bufs.size(); ++i)
      builder_.CreateStore(buffers_.at(bufs[i]), slot(closure, 1 + vars.size() + i));

    auto* i64 = builder_.getInt64Ty();
    auto* body_type =
        llvm::FunctionType::get(builder_.getVoidTy(), {i64, i64, builder_.getPtrTy()}, false);
    auto* body =
        llvm::Function::Create(body_type, llvm::Function::InternalLinkage,
                               fmt::format("{}.{}.parallel", func_name_, var->name), module_);
    body->addFnAttr(llvm::Attribute::NoUnwind);
    body->addParamAttr(2, llvm::Attribute::NoCapture);
    body->addParamAttr(2, llvm::Attribute::ReadOnly);

    // Emit the body function with its own bindings, then come back.
    auto saved_point = builder_.saveIP();
    auto* saved_function = function_;
    auto saved_vars = std::move(vars_);
    auto saved_buffers = std::move(buffers_);
    vars_.clear();
    buffers_.clear();
    start_function(body);
    Value* arg_closure = body->getArg(2);
    Value* body_min = builder_.CreateLoad(i64, slot(arg_closure, 0), var->name + ".min");
    for (size_t i = 0; i < vars.size(); ++i)
      vars_[vars[i]] = builder_.CreateLoad(i64, slot(arg_closure, 1 + i), vars[i]->name);
    for (size_t i = 0; i < bufs.size(); ++i)
      buffers_[bufs[i]] = builder_.CreateLoad(
          builder_.getPtrTy(), slot(arg_closure, 1 + vars.size() + i), bufs[i]->name);
    Value* begin = body->getArg(0);
    Value* end = body->getArg(1);
    emit_serial_loop(var, builder_.CreateNSWAdd(body_min, begin), builder_.CreateNSWSub(end, begin),
                     s.body[0]);
    builder_.CreateRetVoid();
    verify(body);
    function_ = saved_function;
    vars_ = std::move(saved_vars);
    buffers_ = std::move(saved_buffers);
    builder_.restoreIP(saved_point);

    auto runtime = module_.getOrInsertFunction(
        "troupe_parallel_for",
        llvm::FunctionType::get(builder_.getVoidTy(),
                                {i64, builder_.getPtrTy(), builder_.getPtrTy()}, false));
    builder_.CreateCall(runtime, {extent, body, closure});
  }

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

}  // namespace

void generate_llvm(const lowered_func& func, llvm::Module& module) {
  codegen(module).run(func);
}

std::unique_ptr<llvm::Module> generate_llvm(const std::vector<lowered_func>& funcs,
                                            llvm::LLVMContext& context) {
  auto module =
      std::make_unique<llvm::Module>(funcs.empty() ? "troupe" : funcs.front().name, context);
  for (auto& func : funcs)
    generate_llvm(func, *module);
  return module;
}

}  // namespace troupe::compiler
