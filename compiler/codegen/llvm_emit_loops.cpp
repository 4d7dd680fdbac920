// llvm_emitter's loops, one emitter per loop_kind: serial, unrolled,
// vectorized (the body once over vectors, falling back to a serial loop) and
// parallel (the body outlined into a function run by troupe_parallel_for).
#include "compiler/codegen/llvm_emitter.hpp"

#include "compiler/codegen/loop_analysis.hpp"

#include <fmt/format.h>
#include <llvm/IR/Module.h>

#include <utility>
#include <vector>

namespace troupe::compiler::detail {

void llvm_emitter::emit_serial_loop(const expr_node* var, Value* min, Value* extent,
                                    const stmt& body) {
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

void llvm_emitter::emit_unrolled_loop(const stmt_node& s) {
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

void llvm_emitter::emit_vectorized_loop(const stmt_node& s) {
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
void llvm_emitter::emit_parallel_loop(const stmt_node& s) {
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

} // namespace troupe::compiler::detail
