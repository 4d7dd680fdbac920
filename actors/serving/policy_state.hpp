// The JSON form of a policy's learned weights, shared by the policies:
//   {"policy": "exp3", "weights": [0.7, 0.3]}
#pragma once

#include <string>
#include <vector>

#include <caf/error.hpp>

namespace troupe::serving {

std::string save_weights(const std::string& policy, const std::vector<double>& weights);

/// Reads weights saved by `policy` for `models` models into `weights`;
/// an error names what does not match.
caf::error restore_weights(const std::string& policy, size_t models, const std::string& state,
                           std::vector<double>& weights);

/// Scales weights so the largest is 1: repeated multiplicative updates
/// would otherwise underflow to 0 for every model.
void rescale(std::vector<double>& weights);

} // namespace troupe::serving
