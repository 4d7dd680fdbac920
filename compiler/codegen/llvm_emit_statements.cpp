// llvm_emitter's statements: sequences, stores (vector, masked, scattered or
// scalar), allocations (stack or heap), ifs (branches, or masks when the
// condition varies across lanes) and calls to native kernels. Loops are in
// llvm_emit_loops.cpp.
#include "compiler/codegen/llvm_emitter.hpp"

#include "compiler/codegen/loop_analysis.hpp"
#include "compiler/ir/compile_error.hpp"

#include <fmt/format.h>
#include <llvm/IR/Module.h>

#include <vector>

namespace troupe::compiler::detail {

void llvm_emitter::emit(const stmt& s) {
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

void llvm_emitter::emit_call_extern(const stmt_node& s) {
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

void llvm_emitter::emit_store(const stmt_node& s) {
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

void llvm_emitter::emit_allocate(const stmt_node& s) {
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

void llvm_emitter::emit_if(const stmt_node& s) {
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
void llvm_emitter::emit_masked_if(const stmt_node& s, Value* condition) {
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

} // namespace troupe::compiler::detail
