// troupe compile MODEL.onnx -o ARTIFACT: import, optimize (batch-norm
// folding, layouts, constant folding, fusion), compile every fused group
// to native code and save all of it as one file.
#include "apps/compile_command.hpp"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "apps/command.hpp"
#include "compiler/executor/artifact.hpp"
#include "compiler/frontend/onnx_import.hpp"
#include "compiler/ir/compile_error.hpp"
#include "compiler/tuning/graph_tasks.hpp"
#include "compiler/tuning/tuning_records.hpp"

namespace troupe {

namespace {

std::string kib(int64_t bytes) {
  return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024.0);
}

} // namespace

int compile_model(const compile_model_options& options, std::ostream& out, std::ostream& err) {
  using namespace compiler;
  using clock = std::chrono::steady_clock;
  try {
    auto start = clock::now();
    auto imported = import_onnx(options.model);
    size_t operators = 0;
    for (auto& n : imported.nodes)
      operators += n.op != "input" && n.op != "constant";
    out << fmt::format("imported {} nodes ({} operators) from {}\n", imported.nodes.size(),
                       operators, options.model);
    compile_options passes;
    passes.fuse = options.fuse;
    passes.transform_layout = options.transform_layout;
    auto optimized = optimize_graph(imported, passes);
    if (options.print_graph)
      out << print(optimized);
    tuned_configs tuned;
    if (!options.records.empty()) {
      tuning_records store(options.records);
      auto tasks = extract_tuning_tasks(optimized);
      for (auto& t : tasks)
        if (auto best = store.best(t.task))
          tuned[t.task.name()] = best->config;
      out << fmt::format("tuned schedules for {} of {} tasks from {}\n", tuned.size(), tasks.size(),
                         options.records);
    }
    graph_executor compiled(optimized, tuned);
    if (!tuned.empty())
      out << fmt::format("{} functions use a tuned schedule\n", compiled.tuned_function_count());
    auto seconds = std::chrono::duration<double>(clock::now() - start).count();
    out << fmt::format("optimized to {} {}functions, compiled in {:.2f} s\n",
                       compiled.function_count(), options.fuse ? "fused " : "", seconds);
    out << fmt::format("peak memory planned {} vs naive {}\n", kib(compiled.plan().planned_bytes),
                       kib(compiled.plan().naive_bytes));
    if (options.print_ir)
      out << compiled.lowered_text();
    save_artifact(compiled, options.artifact);
    out << fmt::format("wrote {} ({})\n", options.artifact,
                       kib(static_cast<int64_t>(std::filesystem::file_size(options.artifact))));
    return exit_ok;
  } catch (const std::exception& e) {
    err << "troupe compile: " << e.what() << "\n";
    return exit_failure;
  }
}

command_runner add_compile_command(CLI::App& app) {
  auto options = std::make_shared<compile_model_options>();
  auto* cmd = app.add_subcommand(
    "compile", "Compile an ONNX model to native code, as one file the \"compiled\" serving backend runs");
  cmd->add_option("model", options->model, "the ONNX model (fixed input shapes, float32)")
    ->required();
  cmd->add_option("-o,--output", options->artifact, "where to write the compiled model")
    ->required();
  auto* no_fuse = cmd->add_flag("--no-fuse", "one function per operator (no operator fusion)");
  auto* no_layout = cmd->add_flag(
    "--no-layout", "keep NCHW convolutions and unpacked dense weights (no layout transformation)");
  cmd->add_flag("--print-graph", options->print_graph, "print the optimized graph");
  cmd->add_flag("--print-ir", options->print_ir, "print every function's lowered program");
  cmd->add_option("--records", options->records,
                  "a tuning records store (troupe tune --store): every task of the model with a "
                  "valid record compiles with its best config");
  cmd->footer("The compiled model runs only on CPUs with the features of this one; its batch\n"
              "size is the ONNX model's (export it with a fixed batch dimension).");
  return [options, no_fuse, no_layout] {
    options->fuse = no_fuse->count() == 0;
    options->transform_layout = no_layout->count() == 0;
    return compile_model(*options, std::cout, std::cerr);
  };
}

} // namespace troupe
