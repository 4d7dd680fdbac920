// The admin API's JSON for apps and models, in Clipper's field names so that
// Clipper users recognize it:
//   app:   {"name", "input_type", "input_length", "latency_slo_micros",
//           "default_output", "selection_policy", "candidate_model_names"}
//   model: {"model_name", "model_version", "backend", "path", "replicas",
//           "max_batch_size", "batch_wait_timeout_micros"}
// The same JSON is what the store keeps (see serving_manager.hpp), so a
// restarted frontend reads back exactly what the admin API was given.
//
// Every parse validates: a bad field is errc::invalid_argument naming it.
#pragma once

#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "messages/serving_specs.hpp"

namespace troupe::serving {

/// Largest replica count of one model version (one replica is a core).
constexpr uint32_t max_replicas = 64;
/// Upper bound on model_spec::batches_in_flight: more only queues batches
/// inside the container, where the batcher can no longer drop expired ones.
constexpr uint32_t max_batches_in_flight = 8;

/// Checks a spec the way the admin API does (name characters, positive SLO,
/// known policy and input type); none if it is valid.
caf::error validate(const app_spec& spec);
caf::error validate(const model_spec& spec);

caf::expected<app_spec> parse_app_spec(std::string_view json);
caf::expected<model_spec> parse_model_spec(std::string_view json);

std::string render(const app_spec& spec);
std::string render(const model_spec& spec);

/// A name usable in URLs and store keys: 1-64 of [A-Za-z0-9_.-].
bool is_valid_name(std::string_view name);

} // namespace troupe::serving
