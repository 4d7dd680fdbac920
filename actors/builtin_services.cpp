#include "actors/builtin_services.hpp"

#include "actors/common/echo_actor.hpp"
#include "runtime/node.hpp"

namespace troupe {

const service_registry& builtin_services() {
  static const service_registry registry = [] {
    service_registry r;
    r.add("echo", "answers echo requests with the node's name; for demos and health checks",
          [](node& host) -> caf::expected<caf::actor> {
            return caf::actor_cast<caf::actor>(
              spawn_echo(host.system(), host.info().name, host.metrics()));
          });
    return r;
  }();
  return registry;
}

} // namespace troupe
