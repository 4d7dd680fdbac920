// The ONNX frontend: a graph from an ONNX model (as torch.onnx.export
// writes them, opsets 11 to 13 tested), for inference with fixed shapes.
//
// Graph inputs become "input" nodes, float32 initializers "constant" nodes,
// and each supported ONNX node one graph node named after its output tensor
// (sanitized: "/layer1/layer1.0/conv1/Conv_output_0" becomes
// "layer1.layer1.0.conv1.Conv"), so that later errors name it. Identity and
// Dropout are aliases and create no node.
//
//   ONNX                          graph
//   Conv                          conv2d (symmetric pads, dilation 1)
//   Gemm                          dense (a transB=0 constant B is transposed)
//   MatMul                        matmul (2-D)
//   Relu / Add / Mul / Sub        relu / add / multiply / subtract
//   MaxPool / AveragePool         max_pool2d / avg_pool2d
//   GlobalAveragePool             global_avg_pool2d
//   Flatten(axis 1), Reshape [N, -1]   flatten
//   BatchNormalization            batch_norm (inference)
//   Softmax (last axis)           softmax
//   Constant                      constant (int64 ones only as Reshape shapes)
//
// Everything else (other operators, dynamic dimensions, non-float data,
// attributes the graph cannot express) throws compile_error naming the
// tensor or node and what was wrong.
#pragma once

#include "compiler/graph/graph.hpp"

#include <string>

namespace troupe::compiler {

/// The graph of the ONNX model in the file at `path`; throws compile_error
/// naming the path when it cannot be read or is not an ONNX model.
graph import_onnx(const std::string& path);

/// The graph of a serialized ONNX ModelProto (the bytes of a .onnx file).
graph import_onnx_bytes(const std::string& bytes);

} // namespace troupe::compiler
