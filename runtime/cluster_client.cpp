#include "runtime/cluster_client.hpp"

#include <caf/scoped_actor.hpp>

#include "messages/errors.hpp"
#include "runtime/agent_connect.hpp"
#include "runtime/node_config.hpp"

namespace troupe {

caf::expected<cluster_client> cluster_client::connect(caf::actor_system& sys,
                                                      const std::string& address,
                                                      caf::timespan timeout) {
  auto hp = parse_host_port(address, "cluster address");
  if (!hp)
    return hp.error();
  auto agent = connect_node_agent(sys, hp->first, hp->second, timeout);
  if (!agent)
    return agent.error();
  return cluster_client{sys, std::move(*agent), timeout};
}

template <class Result, class... Ts>
caf::expected<Result> cluster_client::ask(const node_agent_actor& agent, Ts&&... xs) {
  caf::scoped_actor self{*sys_};
  caf::expected<Result> result = make_error(errc::timeout, "no answer");
  self->request(agent, timeout_, std::forward<Ts>(xs)...)
    .receive([&](Result& x) { result = std::move(x); },
             [&](caf::error& err) {
               if (err == caf::sec::request_timeout)
                 result = make_error(errc::timeout, "the cluster member did not answer in time");
               else
                 result = std::move(err);
             });
  return result;
}

caf::expected<member_list> cluster_client::members() {
  return ask<member_list>(agent_, caf::get_atom::value, members_atom::value);
}

caf::expected<directory_list> cluster_client::directory() {
  return ask<directory_list>(agent_, caf::get_atom::value, directory_atom::value);
}

caf::expected<directory_entry> cluster_client::lookup(const std::string& name) {
  auto entry = ask<directory_entry>(agent_, lookup_atom::value, name);
  if (!entry)
    return entry.error();
  // Ask the owner itself, so the handle rides a direct connection that does
  // not depend on the member we first contacted.
  auto owner = connect_node_agent(*sys_, entry->node_host, entry->node_port, timeout_);
  if (!owner)
    return owner.error();
  return ask<directory_entry>(*owner, lookup_atom::value, name);
}

} // namespace troupe
