#include "runtime/agent_connect.hpp"

#include <caf/scoped_actor.hpp>

namespace troupe {

caf::expected<node_agent_actor>
as_node_agent(caf::actor_system& sys, caf::strong_actor_ptr ptr,
              const std::set<std::string>& interface, const std::string& host,
              uint16_t port) {
  auto where = host + ":" + std::to_string(port);
  if (!ptr)
    return make_error(errc::not_found, "nothing is published at " + where);
  if (interface != sys.message_types<node_agent_actor>())
    return make_error(errc::interface_mismatch,
                      "the actor at " + where
                        + " is not a node agent of this Troupe version");
  return caf::actor_cast<node_agent_actor>(std::move(ptr));
}

caf::error unreachable(const std::string& host, uint16_t port, const caf::error& cause) {
  auto where = host + ":" + std::to_string(port);
  if (cause == caf::sec::request_timeout)
    return make_error(errc::timeout, "node " + where + " did not answer in time");
  return make_error(errc::unavailable,
                    "cannot reach node " + where + " (" + describe(cause) + ")");
}

caf::expected<node_agent_actor> connect_node_agent(caf::actor_system& sys,
                                                   const std::string& host,
                                                   uint16_t port, caf::timespan timeout) {
  caf::scoped_actor self{sys};
  caf::expected<node_agent_actor> result = make_error(errc::timeout, "no answer");
  auto mm = sys.middleman().actor_handle();
  self->request(mm, timeout, caf::connect_atom::value, host, port)
    .receive(
      [&](const caf::node_id&, caf::strong_actor_ptr& ptr,
          const std::set<std::string>& interface) {
        result = as_node_agent(sys, std::move(ptr), interface, host, port);
      },
      [&](caf::error& err) { result = unreachable(host, port, err); });
  return result;
}

} // namespace troupe
