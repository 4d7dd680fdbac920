#include "compiler/ir/mutate.hpp"

namespace troupe::compiler {

expr with_args(const expr& e, std::vector<expr> args) {
  bool same = args.size() == e->args.size();
  for (size_t i = 0; same && i < args.size(); ++i)
    same = args[i] == e->args[i];
  if (same)
    return e;
  auto copy = std::make_shared<expr_node>(*e);
  copy->args = std::move(args);
  return copy;
}

expr transform(const expr& e, const std::function<expr(const expr&)>& rewrite) {
  if (!e)
    return e;
  std::vector<expr> args;
  args.reserve(e->args.size());
  for (auto& arg : e->args)
    args.push_back(transform(arg, rewrite));
  return rewrite(with_args(e, std::move(args)));
}

expr substitute(const expr& e, const var_map& replacements) {
  if (replacements.empty())
    return e;
  return transform(e, [&](const expr& node) -> expr {
    if (node->op == expr_op::var) {
      auto found = replacements.find(node.get());
      return found == replacements.end() ? node : found->second;
    }
    if (node->op == expr_op::reduce) {
      bool renamed = false;
      auto axes = node->axes;
      for (auto& axis : axes) {
        auto found = replacements.find(axis.var.get());
        if (found != replacements.end() && found->second->op == expr_op::var) {
          axis.var = found->second;
          renamed = true;
        }
      }
      if (renamed) {
        auto copy = std::make_shared<expr_node>(*node);
        copy->axes = std::move(axes);
        return copy;
      }
    }
    return node;
  });
}

bool uses_var(const expr& e, const expr_node* var) {
  if (!e)
    return false;
  if (e.get() == var)
    return true;
  for (auto& arg : e->args)
    if (uses_var(arg, var))
      return true;
  return false;
}

} // namespace troupe::compiler
