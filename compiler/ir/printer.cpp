#include "compiler/ir/printer.hpp"

#include "compiler/te/tensor.hpp"

#include <fmt/format.h>

#include <sstream>

namespace troupe::compiler {

namespace {

const char* infix(expr_op op) {
  switch (op) {
    case expr_op::add: return " + ";
    case expr_op::sub: return " - ";
    case expr_op::mul: return "*";
    case expr_op::div: return "/";
    case expr_op::mod: return " % ";
    case expr_op::lt: return " < ";
    case expr_op::le: return " <= ";
    case expr_op::eq: return " == ";
    case expr_op::ne: return " != ";
    case expr_op::logical_and: return " && ";
    case expr_op::logical_or: return " || ";
    default: return nullptr;
  }
}

void print_stmt(std::ostringstream& out, const stmt& s, int depth) {
  std::string pad(static_cast<size_t>(depth) * 2, ' ');
  if (!s) {
    out << pad << "<null>\n";
    return;
  }
  switch (s->op) {
    case stmt_op::for_loop:
      out << pad << to_string(s->kind) << " (" << s->loop_var->name << ", " << print(s->min)
          << ", " << print(s->extent) << ") {\n";
      print_stmt(out, s->body[0], depth + 1);
      out << pad << "}\n";
      break;
    case stmt_op::store:
      out << pad << s->target->name << "[" << print(s->index) << "] = " << print(s->value)
          << "\n";
      break;
    case stmt_op::seq:
      for (auto& child : s->body)
        print_stmt(out, child, depth);
      break;
    case stmt_op::allocate:
      out << pad << "allocate " << s->target->name << "[" << to_string(s->target->type) << " * "
          << s->target->elements << "]\n";
      print_stmt(out, s->body[0], depth);
      break;
    case stmt_op::call_extern: {
      out << pad << s->callee << "(";
      for (size_t i = 0; i < s->call_buffers.size(); ++i)
        out << (i ? ", " : "") << "&" << s->call_buffers[i]->name << "[" << print(s->call_offsets[i])
            << "]";
      for (size_t i = 0; i < s->call_scalars.size(); ++i)
        out << ", " << print(s->call_scalars[i]);
      out << ")\n";
      break;
    }
    case stmt_op::if_then_else:
      out << pad << "if (" << print(s->condition) << ") {\n";
      print_stmt(out, s->body[0], depth + 1);
      if (s->body.size() > 1) {
        out << pad << "} else {\n";
        print_stmt(out, s->body[1], depth + 1);
      }
      out << pad << "}\n";
      break;
  }
}

} // namespace

std::string print(const expr& e) {
  if (!e)
    return "<null>";
  if (auto* op = infix(e->op))
    return "(" + print(e->args[0]) + op + print(e->args[1]) + ")";
  switch (e->op) {
    case expr_op::int_imm: return std::to_string(e->int_value);
    case expr_op::float_imm: return fmt::format("{}f", e->float_value);
    case expr_op::bool_imm: return e->int_value ? "true" : "false";
    case expr_op::var: return e->name;
    case expr_op::min: return "min(" + print(e->args[0]) + ", " + print(e->args[1]) + ")";
    case expr_op::max: return "max(" + print(e->args[0]) + ", " + print(e->args[1]) + ")";
    case expr_op::logical_not: return "!" + print(e->args[0]);
    case expr_op::select:
      return "select(" + print(e->args[0]) + ", " + print(e->args[1]) + ", "
             + print(e->args[2]) + ")";
    case expr_op::cast: return std::string(to_string(e->type)) + "(" + print(e->args[0]) + ")";
    case expr_op::call: return e->name + "(" + print(e->args[0]) + ")";
    case expr_op::load: return e->target->name + "[" + print(e->args[0]) + "]";
    case expr_op::tensor_read: {
      std::string text = e->source->name + "(";
      for (size_t i = 0; i < e->args.size(); ++i)
        text += (i ? ", " : "") + print(e->args[i]);
      return text + ")";
    }
    case expr_op::reduce: {
      static const char* names[] = {"sum", "max", "min"};
      std::string text = names[static_cast<int>(e->combiner)];
      text += "(" + print(e->args[0]) + ", over";
      for (auto& axis : e->axes)
        text += fmt::format(" {}<{}", axis.var->name, axis.extent);
      return text + ")";
    }
    default: return "<?>";
  }
}

std::string print(const stmt& s) {
  std::ostringstream out;
  print_stmt(out, s, 0);
  return out.str();
}

std::string print(const lowered_func& func) {
  std::ostringstream out;
  out << "func " << func.name << "(";
  for (size_t i = 0; i < func.params.size(); ++i)
    out << (i ? ", " : "") << to_string(func.params[i]->type) << "* " << func.params[i]->name;
  out << ") {\n";
  print_stmt(out, func.body, 1);
  out << "}\n";
  return out.str();
}

} // namespace troupe::compiler
