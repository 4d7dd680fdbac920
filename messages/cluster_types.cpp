#include "messages/cluster_types.hpp"

namespace troupe {

std::string to_string(const member_info& x) {
  return x.name + "@" + x.host + ":" + std::to_string(x.port);
}

} // namespace troupe
