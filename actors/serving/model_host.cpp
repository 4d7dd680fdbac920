#include "actors/serving/model_host.hpp"

#include <map>
#include <vector>

#include <caf/typed_event_based_actor.hpp>

#include "messages/errors.hpp"
#include "messages/type_ids.hpp"

namespace troupe::serving {

namespace {

struct host_state {
  replica_placement where;
  /// Replicas by the owner that asked for them.
  std::map<caf::actor_addr, std::vector<caf::actor>> replicas;
  static inline const char* name = "model_host";
};

using host_pointer = model_host_actor::stateful_pointer<host_state>;

model_host_actor::behavior_type host_impl(host_pointer self, replica_placement where) {
  self->state.where = std::move(where);
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto i = self->state.replicas.find(msg.source);
    if (i == self->state.replicas.end())
      return;
    for (auto& r : i->second)
      caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
    self->state.replicas.erase(i);
  });
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    for (auto& [owner, rs] : self->state.replicas)
      for (auto& r : rs)
        caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
    self->quit(msg.reason);
  });
  return {
    [self](start_replica_atom, const model_spec& spec, uint32_t index,
           const caf::actor& owner) -> caf::result<caf::actor> {
      if (!owner)
        return make_error(errc::invalid_argument, "a replica needs an owner to answer to");
      auto container = start_replica_container(self->system(), spec, index, self->state.where);
      if (!container)
        return container.error();
      auto& list = self->state.replicas[owner.address()];
      if (list.empty())
        self->monitor(owner);
      list.push_back(*container);
      return *container;
    },
  };
}

} // namespace

model_host_actor spawn_model_host(caf::actor_system& sys, replica_placement where) {
  return sys.spawn(host_impl, std::move(where));
}

} // namespace troupe::serving
