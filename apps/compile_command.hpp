// troupe compile: an ONNX model to a compiled-model artifact (see
// compiler/executor/artifact.hpp) that the "compiled" serving backend runs.
// The demo calls compile_model in process.
#pragma once

#include <iosfwd>
#include <string>

namespace troupe {

struct compile_model_options {
  std::string model;     ///< the .onnx file
  std::string artifact;  ///< where to write the compiled model
  bool fuse = true;
  bool transform_layout = true;
  bool print_graph = false;  ///< the optimized graph, to `out`
  bool print_ir = false;     ///< every group's lowered program, to `out`
  /// A tuning records store (troupe tune): each task of the model with a
  /// valid record compiles with its best config.
  std::string records = {};
};

/// Imports, optimizes, compiles and saves; progress lines go to `out`, the
/// error (naming the file or node) to `err`. Returns an exit_code.
int compile_model(const compile_model_options& options, std::ostream& out, std::ostream& err);

} // namespace troupe
