// The one place where every type that crosses an actor boundary is given a
// CAF type ID. A type missing here fails loudly when a typed interface is
// checked, instead of silently when an untyped message is dropped.
#pragma once

#include <caf/type_id.hpp>

#include "messages/cluster_types.hpp"
#include "messages/serving_specs.hpp"
#include "messages/serving_types.hpp"
#include "messages/store_types.hpp"
#include "messages/tensor.hpp"
#include "messages/tensor_chunks.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(troupe, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(troupe, (troupe::member_info))
  CAF_ADD_TYPE_ID(troupe, (std::vector<troupe::member_info>))
  CAF_ADD_TYPE_ID(troupe, (troupe::directory_entry))
  CAF_ADD_TYPE_ID(troupe, (std::vector<troupe::directory_entry>))
  CAF_ADD_TYPE_ID(troupe, (troupe::store_entry))
  CAF_ADD_TYPE_ID(troupe, (std::vector<troupe::store_entry>))
  CAF_ADD_TYPE_ID(troupe, (troupe::dtype))
  CAF_ADD_TYPE_ID(troupe, (troupe::tensor))
  CAF_ADD_TYPE_ID(troupe, (troupe::tensor_chunk))
  CAF_ADD_TYPE_ID(troupe, (troupe::chunk_ack))
  CAF_ADD_TYPE_ID(troupe, (std::vector<int64_t>))
  CAF_ADD_TYPE_ID(troupe, (troupe::input_kind))
  CAF_ADD_TYPE_ID(troupe, (troupe::query_input))
  CAF_ADD_TYPE_ID(troupe, (std::vector<troupe::query_input>))
  CAF_ADD_TYPE_ID(troupe, (troupe::prediction))
  CAF_ADD_TYPE_ID(troupe, (std::vector<troupe::prediction>))
  CAF_ADD_TYPE_ID(troupe, (troupe::feedback))
  CAF_ADD_TYPE_ID(troupe, (troupe::batcher_stats))
  CAF_ADD_TYPE_ID(troupe, (std::vector<troupe::batcher_stats>))
  CAF_ADD_TYPE_ID(troupe, (troupe::app_spec))
  CAF_ADD_TYPE_ID(troupe, (troupe::model_spec))
  CAF_ADD_TYPE_ID(troupe, (std::vector<std::string>))
  CAF_ADD_TYPE_ID(troupe, (std::vector<double>))

CAF_END_TYPE_ID_BLOCK(troupe)

namespace caf {
class actor_system_config;
}

namespace troupe {

/// Registers Troupe's message types and error category with an actor system
/// configuration. Every process that runs Troupe actors calls this once.
void register_message_types(caf::actor_system_config& cfg);

} // namespace troupe
