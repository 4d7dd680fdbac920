// A compiled model (an artifact of `troupe compile`, see
// compiler/executor/artifact.hpp) as a model_backend: native code, no
// interpreter and no libtorch. It lives in troupe_serving_compiled, whose
// linking registers "compiled" with open_backend.
#pragma once

#include <string>

#include "actors/serving/model_backend.hpp"

namespace troupe::serving {

/// Opens the compiled model at `path`. Its input length is the per-row
/// element count of its one input (shape [B, F] gives F); a batch runs in
/// chunks of the compiled batch size B, the last one padded with zeros.
/// Its output per input is, as the torchscript backend answers, the argmax
/// of the row of its first output ([B, classes]) as a decimal label, or the
/// value itself when a row has one. A missing file gives errc::not_found
/// naming it; one that is no compiled model (or was compiled for CPU
/// features this host lacks) errc::invalid_argument with the reason.
caf::expected<backend_ptr> open_compiled_backend(const std::string& path);

} // namespace troupe::serving
