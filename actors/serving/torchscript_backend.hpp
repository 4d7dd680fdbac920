// A TorchScript model (torch::jit::save'd file) as a model_backend. The
// only serving file that includes libtorch; it lives in troupe_serving_torch,
// whose linking also registers "torchscript" with open_backend.
#pragma once

#include <memory>
#include <string>

#include "actors/serving/model_backend.hpp"

namespace troupe::serving {

/// Opens the TorchScript module at `path` for inference on one thread. Its
/// input length is shape[1] of its first 2-D parameter (the first linear
/// layer's weight); its output per input is the argmax of the module's
/// [batch, classes] result as a decimal label. A missing file gives
/// errc::not_found naming it; an unreadable one errc::invalid_argument.
caf::expected<backend_ptr> open_torchscript_backend(const std::string& path);

} // namespace troupe::serving
