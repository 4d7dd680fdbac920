#include "compiler/ir/interpreter.hpp"

#include "compiler/ir/compile_error.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <unordered_map>

namespace troupe::compiler {

namespace {

struct value {
  int64_t i = 0;
  double f = 0;
};

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

class interpreter {
public:
  value eval(const expr& e) {
    switch (e->op) {
      case expr_op::int_imm:
      case expr_op::bool_imm: return {e->int_value, 0};
      case expr_op::float_imm: return {0, static_cast<float>(e->float_value)};
      case expr_op::var: {
        auto found = vars_.find(e.get());
        if (found == vars_.end())
          throw compile_error(fmt::format("interpreter: variable '{}' is not bound", e->name));
        return {found->second, 0};
      }
      case expr_op::select:
        return eval(e->args[0]).i ? eval(e->args[1]) : eval(e->args[2]);
      case expr_op::logical_not: return {!eval(e->args[0]).i, 0};
      case expr_op::logical_and: return {eval(e->args[0]).i && eval(e->args[1]).i, 0};
      case expr_op::logical_or: return {eval(e->args[0]).i || eval(e->args[1]).i, 0};
      case expr_op::cast: {
        auto v = eval(e->args[0]);
        auto from = e->args[0]->type;
        if (e->type == dtype::f32)
          return {0, from == dtype::f32 ? v.f : static_cast<float>(v.i)};
        if (e->type == dtype::boolean)
          return {from == dtype::f32 ? v.f != 0 : v.i != 0, 0};
        return {from == dtype::f32 ? static_cast<int64_t>(v.f) : v.i, 0};
      }
      case expr_op::call: {
        float x = static_cast<float>(eval(e->args[0]).f);
        float r = 0;
        if (e->name == "exp") r = std::exp(x);
        else if (e->name == "log") r = std::log(x);
        else if (e->name == "sqrt") r = std::sqrt(x);
        else if (e->name == "tanh") r = std::tanh(x);
        else if (e->name == "fabs") r = std::fabs(x);
        else if (e->name == "erf") r = std::erf(x);
        return {0, r};
      }
      case expr_op::load: {
        auto* data = buffer_data(e->target);
        int64_t index = eval(e->args[0]).i;
        check_index(e->target, index);
        switch (e->target->type) {
          case dtype::f32: return {0, static_cast<float*>(data)[index]};
          case dtype::i64: return {static_cast<int64_t*>(data)[index], 0};
          case dtype::boolean: return {static_cast<uint8_t*>(data)[index], 0};
        }
        return {};
      }
      case expr_op::tensor_read:
      case expr_op::reduce:
        throw compile_error("interpreter: the function is not lowered (tensor read or reduce left)");
      default:
        break;
    }
    auto a = eval(e->args[0]);
    auto b = eval(e->args[1]);
    if (e->args[0]->type == dtype::f32) {
      float x = static_cast<float>(a.f), y = static_cast<float>(b.f);
      switch (e->op) {
        case expr_op::add: return {0, static_cast<float>(x + y)};
        case expr_op::sub: return {0, static_cast<float>(x - y)};
        case expr_op::mul: return {0, static_cast<float>(x * y)};
        case expr_op::div: return {0, static_cast<float>(x / y)};
        case expr_op::min: return {0, std::min(x, y)};
        case expr_op::max: return {0, std::max(x, y)};
        case expr_op::lt: return {x < y, 0};
        case expr_op::le: return {x <= y, 0};
        case expr_op::eq: return {x == y, 0};
        case expr_op::ne: return {x != y, 0};
        default: break;
      }
    } else {
      int64_t x = a.i, y = b.i;
      switch (e->op) {
        case expr_op::add: return {x + y, 0};
        case expr_op::sub: return {x - y, 0};
        case expr_op::mul: return {x * y, 0};
        case expr_op::div: return {floor_div(x, y), 0};
        case expr_op::mod: return {x - floor_div(x, y) * y, 0};
        case expr_op::min: return {std::min(x, y), 0};
        case expr_op::max: return {std::max(x, y), 0};
        case expr_op::lt: return {x < y, 0};
        case expr_op::le: return {x <= y, 0};
        case expr_op::eq: return {x == y, 0};
        case expr_op::ne: return {x != y, 0};
        default: break;
      }
    }
    throw compile_error("interpreter: unsupported operation");
  }

  void run(const stmt& s) {
    switch (s->op) {
      case stmt_op::for_loop: {
        int64_t min = eval(s->min).i, extent = eval(s->extent).i;
        for (int64_t i = min; i < min + extent; ++i) {
          vars_[s->loop_var.get()] = i;
          run(s->body[0]);
        }
        vars_.erase(s->loop_var.get());
        break;
      }
      case stmt_op::store: {
        auto* data = buffer_data(s->target);
        int64_t index = eval(s->index).i;
        check_index(s->target, index);
        auto v = eval(s->value);
        switch (s->target->type) {
          case dtype::f32: static_cast<float*>(data)[index] = static_cast<float>(v.f); break;
          case dtype::i64: static_cast<int64_t*>(data)[index] = v.i; break;
          case dtype::boolean: static_cast<uint8_t*>(data)[index] = v.i != 0; break;
        }
        break;
      }
      case stmt_op::seq:
        for (auto& child : s->body)
          run(child);
        break;
      case stmt_op::allocate: {
        // NaN-filled, so that reading an element never written shows.
        std::vector<double> storage(static_cast<size_t>(s->target->elements),
                                    std::numeric_limits<double>::quiet_NaN());
        if (s->target->type == dtype::f32) {
          auto* f = reinterpret_cast<float*>(storage.data());
          for (int64_t i = 0; i < s->target->elements; ++i)
            f[i] = std::numeric_limits<float>::quiet_NaN();
        }
        buffers_[s->target.get()] = storage.data();
        run(s->body[0]);
        buffers_.erase(s->target.get());
        break;
      }
      case stmt_op::call_extern:
        throw compile_error(fmt::format("interpreter: '{}' is a native kernel (a tensorized "
                                        "region); compile the function to run it", s->callee));
      case stmt_op::if_then_else:
        if (eval(s->condition).i)
          run(s->body[0]);
        else if (s->body.size() > 1)
          run(s->body[1]);
        break;
    }
  }

  std::unordered_map<const buffer_node*, void*> buffers_;

private:
  void* buffer_data(const buffer& b) {
    auto found = buffers_.find(b.get());
    if (found == buffers_.end())
      throw compile_error(fmt::format("interpreter: buffer '{}' is neither a parameter nor "
                                      "allocated here", b->name));
    return found->second;
  }

  static void check_index(const buffer& b, int64_t index) {
    if (index < 0 || index >= b->elements)
      throw compile_error(fmt::format("interpreter: index {} out of bounds of '{}' ({} elements)",
                                      index, b->name, b->elements));
  }

  std::unordered_map<const expr_node*, int64_t> vars_;
};

} // namespace

void interpret(const lowered_func& func, const std::vector<void*>& args) {
  if (args.size() != func.params.size())
    throw compile_error(fmt::format("'{}' takes {} arguments, got {}", func.name,
                                    func.params.size(), args.size()));
  interpreter machine;
  for (size_t i = 0; i < args.size(); ++i)
    machine.buffers_[func.params[i].get()] = args[i];
  machine.run(func.body);
}

} // namespace troupe::compiler
