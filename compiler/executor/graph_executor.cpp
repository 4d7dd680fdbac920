#include "compiler/executor/graph_executor.hpp"

#include "compiler/codegen/jit.hpp"
#include "compiler/graph/op_registry.hpp"
#include "compiler/ir/compile_error.hpp"
#include "compiler/ir/printer.hpp"
#include "compiler/lower/lower.hpp"
#include "compiler/passes/fold_batch_norm.hpp"
#include "compiler/passes/fold_constants.hpp"
#include "compiler/passes/fuse_operators.hpp"
#include "compiler/passes/transform_layout.hpp"
#include "compiler/schedules/auto_schedule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace troupe::compiler {

graph optimize_graph(const graph& g, const compile_options& options) {
  g.validate();
  graph result = g;
  if (options.fold_batch_norm)
    result = fold_batch_norm(result);
  if (options.transform_layout)
    result = transform_layout(result);
  result = fold_constants(result);
  if (options.fuse)
    return fuse_operators(result);
  int group = 0;
  for (auto& n : result.nodes)
    n.fusion_group = (n.op == "input" || n.op == "constant") ? -1 : group++;
  return result;
}

namespace {

struct group_function {
  std::string name;
  std::vector<int> arg_nodes;  ///< inputs, then the output
  compiled_func fn = nullptr;
};

struct aligned_free {
  void operator()(float* p) const { std::free(p); }
};

std::string sanitize(const std::string& name) {
  std::string out;
  for (char c : name)
    out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

} // namespace

struct graph_executor::impl {
  graph model;
  memory_plan plan;
  jit_module jit;
  std::vector<group_function> functions;
  std::vector<lowered_func> lowered;
  std::vector<std::unique_ptr<float, aligned_free>> storage;
  std::vector<float*> values;  ///< per node, during a run
  size_t tuned_functions = 0;

  /// Looks up every function and binds the planned buffers and constants.
  void link_and_allocate();
};

graph_executor::graph_executor(const graph& optimized, const tuned_configs& tuned)
  : impl_(std::make_unique<impl>()) {
  auto& m = impl_->model;
  m = optimized;
  m.validate();
  auto groups = groups_of(m);
  impl_->plan = plan_memory(m);
  for (size_t k = 0; k < groups.members.size(); ++k) {
    auto& members = groups.members[k];
    std::map<int, tensor> tensors;
    std::vector<tensor> params;
    group_function fn;
    std::string master_op;
    int master = -1;
    for (int id : members) {
      auto& n = m.node(id);
      std::vector<tensor> inputs;
      for (int input : n.inputs) {
        if (!tensors.count(input)) {
          auto& source = m.node(input);
          tensors[input] = placeholder(source.shape, sanitize(source.name));
          params.push_back(tensors[input]);
          fn.arg_nodes.push_back(input);
        }
        inputs.push_back(tensors.at(input));
      }
      try {
        tensors[id] = lookup_op(n.op).build(n, inputs);
      } catch (const compile_error& e) {
        throw compile_error(fmt::format("node '{}' ({}): {}", n.name, n.op, e.what()));
      }
      auto pattern = lookup_op(n.op).pattern;
      if (pattern == op_pattern::complex_out_fusable || pattern == op_pattern::reduction) {
        master_op = n.op;
        master = id;
      }
    }
    int output = groups.output[k];
    auto out = tensors.at(output);
    params.push_back(out);
    fn.arg_nodes.push_back(output);
    fn.name = fmt::format("g{}_{}", k, sanitize(m.node(output).name));
    template_knobs knobs;
    if (master >= 0 && !tuned.empty())
      if (auto task = tuning_task_of(m, m.node(master))) {
        auto found = tuned.find(task->name());
        // A config that does not fit (not from a valid record, or from an
        // older template) is ignored: the template's defaults apply.
        if (found != tuned.end())
          try {
            if (task->op == "depthwise_conv2d")
              knobs.depthwise = depthwise_config_of(*task, found->second);
            else
              knobs.conv = conv2d_config_of(*task, found->second);
            ++impl_->tuned_functions;
          } catch (const compile_error&) {
          }
      }
    schedule s({out});
    schedule_fused_group(s, out, master_op, knobs);
    impl_->lowered.push_back(lower(s, params, fn.name));
    impl_->functions.push_back(std::move(fn));
  }
  impl_->jit.add(impl_->lowered);
  impl_->link_and_allocate();
}

graph_executor::graph_executor(const graph& optimized, std::vector<group_signature> functions,
                               const std::string& object_code)
  : impl_(std::make_unique<impl>()) {
  auto& m = impl_->model;
  m = optimized;
  m.validate();
  impl_->plan = plan_memory(m);
  std::vector<std::string> names;
  for (auto& signature : functions) {
    for (int node : signature.arg_nodes)
      if (node < 0 || static_cast<size_t>(node) >= m.nodes.size())
        throw compile_error(fmt::format("function '{}' reads node {}, but the model has {} nodes",
                                        signature.name, node, m.nodes.size()));
    names.push_back(signature.name);
    impl_->functions.push_back({signature.name, std::move(signature.arg_nodes), nullptr});
  }
  impl_->jit.add_object(object_code, names);
  impl_->link_and_allocate();
}

void graph_executor::impl::link_and_allocate() {
  for (auto& fn : functions)
    fn.fn = jit.lookup(fn.name);
  for (auto bytes : plan.storage_bytes) {
    auto rounded = static_cast<size_t>((bytes + 63) / 64 * 64);
    auto* block = static_cast<float*>(std::aligned_alloc(64, rounded));
    if (!block)
      throw compile_error(fmt::format("out of memory allocating {} bytes for the model", bytes));
    storage.emplace_back(block);
  }
  values.assign(model.nodes.size(), nullptr);
  for (size_t id = 0; id < model.nodes.size(); ++id) {
    auto& n = model.nodes[id];
    if (n.op == "constant")
      values[id] = const_cast<float*>(n.data->data());
    else if (plan.storage_of[id] >= 0)
      values[id] = storage[static_cast<size_t>(plan.storage_of[id])].get();
  }
}

graph_executor::~graph_executor() = default;

void graph_executor::run(const std::vector<const float*>& inputs, const std::vector<float*>& outputs) {
  auto& m = impl_->model;
  if (inputs.size() != m.inputs.size() || outputs.size() != m.outputs.size())
    throw compile_error(fmt::format("the model takes {} inputs and {} outputs, got {} and {}",
                                    m.inputs.size(), m.outputs.size(), inputs.size(), outputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i)
    impl_->values[static_cast<size_t>(m.inputs[i])] = const_cast<float*>(inputs[i]);
  for (size_t i = 0; i < outputs.size(); ++i)
    impl_->values[static_cast<size_t>(m.outputs[i])] = outputs[i];
  std::vector<void*> args;
  for (auto& fn : impl_->functions) {
    args.clear();
    for (int node : fn.arg_nodes) {
      args.push_back(impl_->values[static_cast<size_t>(node)]);
      if (!args.back())
        throw compile_error(fmt::format("{}: node '{}' has no buffer (an internal planning error)",
                                        fn.name, m.node(node).name));
    }
    fn.fn(args.data());
  }
}

std::vector<std::vector<float>> graph_executor::run(const std::vector<std::vector<float>>& inputs) {
  auto& m = impl_->model;
  if (inputs.size() != m.inputs.size())
    throw compile_error(fmt::format("the model takes {} inputs, got {}", m.inputs.size(),
                                    inputs.size()));
  std::vector<const float*> in;
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto expected = m.elements(m.inputs[i]);
    if (static_cast<int64_t>(inputs[i].size()) != expected)
      throw compile_error(fmt::format("input '{}' needs {} values, got {}",
                                      m.node(m.inputs[i]).name, expected, inputs[i].size()));
    in.push_back(inputs[i].data());
  }
  std::vector<std::vector<float>> result;
  std::vector<float*> out;
  for (int id : m.outputs)
    result.emplace_back(static_cast<size_t>(m.elements(id)));
  for (auto& r : result)
    out.push_back(r.data());
  run(in, out);
  return result;
}

std::vector<std::pair<std::string, double>>
graph_executor::profile(const std::vector<std::vector<float>>& inputs, int repeats) {
  auto outputs = run(inputs);  // checks the inputs
  std::vector<const float*> in;
  for (auto& v : inputs)
    in.push_back(v.data());
  std::vector<float*> out;
  for (auto& v : outputs)
    out.push_back(v.data());
  run(in, out);  // binds the buffers the timed calls below use
  auto& fns = impl_->functions;
  std::vector<double> best(fns.size(), 1e30);
  std::vector<void*> args;
  for (int r = 0; r < repeats; ++r)
    for (size_t k = 0; k < fns.size(); ++k) {
      args.clear();
      for (int node : fns[k].arg_nodes)
        args.push_back(impl_->values[static_cast<size_t>(node)]);
      auto start = std::chrono::steady_clock::now();
      fns[k].fn(args.data());
      best[k] = std::min(best[k], std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  std::vector<std::pair<std::string, double>> result;
  for (size_t k = 0; k < fns.size(); ++k)
    result.emplace_back(fns[k].name, best[k]);
  return result;
}

const graph& graph_executor::model() const { return impl_->model; }
const memory_plan& graph_executor::plan() const { return impl_->plan; }
size_t graph_executor::function_count() const { return impl_->functions.size(); }
size_t graph_executor::tuned_function_count() const { return impl_->tuned_functions; }

const std::vector<lowered_func>& graph_executor::lowered_functions() const {
  return impl_->lowered;
}

std::vector<group_signature> graph_executor::signatures() const {
  std::vector<group_signature> result;
  for (auto& fn : impl_->functions)
    result.push_back({fn.name, fn.arg_nodes});
  return result;
}

std::string graph_executor::lowered_text() const {
  std::string text;
  for (auto& func : impl_->lowered)
    text += print(func);
  return text;
}

} // namespace troupe::compiler
