#include "messages/type_ids.hpp"

#include <caf/actor_system_config.hpp>

#include "messages/errors.hpp"

namespace troupe {

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::troupe>();
  register_error_category(cfg);
}

} // namespace troupe
