// Precompiled header for the few TUs that use libtorch: torch/torch.h alone
// costs ~15 s per TU to parse.
#pragma once

#include <caf/all.hpp>
#include <torch/torch.h>
