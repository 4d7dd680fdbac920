#include "actors/serving/container_proxy.hpp"

#include <memory>
#include <unordered_map>

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/serving/container_connection.hpp"

namespace troupe::serving {

namespace {

struct proxy_state {
  std::unique_ptr<container_connection> connection;
  uint64_t next_id = 1;
  std::unordered_map<uint64_t, caf::typed_response_promise<model_outputs>> predictions;
  std::unordered_map<uint64_t, caf::typed_response_promise<caf::pong_atom>> heartbeats;
  static inline const char* name = "troupe.container_proxy";
};

using proxy_pointer = container_proxy_actor::stateful_pointer<proxy_state>;

// The RPC thread answers with a message to the proxy (a response promise
// belongs to the actor's own thread). A weak handle: calls in flight must
// not keep a proxy alive that nobody else holds.
template <class T>
void answer(const caf::weak_actor_ptr& proxy, uint64_t id, T&& value) {
  if (auto strong = caf::actor_cast<caf::strong_actor_ptr>(proxy))
    caf::anon_send(caf::actor_cast<container_proxy_actor>(strong), id, std::forward<T>(value));
}

container_proxy_actor::behavior_type proxy(proxy_pointer self, std::string host, uint16_t port,
                                           std::chrono::milliseconds timeout) {
  self->state.connection = std::make_unique<container_connection>(std::move(host), port, timeout);
  return {
    [self](predict_atom, query_inputs& inputs) -> caf::result<model_outputs> {
      auto id = self->state.next_id++;
      auto rp = self->make_response_promise<model_outputs>();
      self->state.predictions.emplace(id, rp);
      auto weak = caf::actor_cast<caf::weak_actor_ptr>(self->ctrl());
      self->state.connection->predict(std::move(inputs),
                                      [weak, id](caf::expected<model_outputs> x) {
                                        if (x)
                                          answer(weak, id, std::move(*x));
                                        else
                                          answer(weak, id, std::move(x.error()));
                                      });
      return rp;
    },
    [self](caf::ping_atom) -> caf::result<caf::pong_atom> {
      auto id = self->state.next_id++;
      auto rp = self->make_response_promise<caf::pong_atom>();
      self->state.heartbeats.emplace(id, rp);
      auto weak = caf::actor_cast<caf::weak_actor_ptr>(self->ctrl());
      self->state.connection->heartbeat([weak, id](caf::error err) {
        if (err)
          answer(weak, id, std::move(err));
        else
          answer(weak, id, model_outputs{});
      });
      return rp;
    },
    [self](uint64_t id, model_outputs& outputs) {
      auto& st = self->state;
      if (auto i = st.predictions.find(id); i != st.predictions.end()) {
        i->second.deliver(std::move(outputs));
        st.predictions.erase(i);
      } else if (auto j = st.heartbeats.find(id); j != st.heartbeats.end()) {
        j->second.deliver(caf::pong_atom::value);
        st.heartbeats.erase(j);
      }
    },
    [self](uint64_t id, caf::error& err) {
      auto& st = self->state;
      if (auto i = st.predictions.find(id); i != st.predictions.end()) {
        i->second.deliver(std::move(err));
        st.predictions.erase(i);
      } else if (auto j = st.heartbeats.find(id); j != st.heartbeats.end()) {
        j->second.deliver(std::move(err));
        st.heartbeats.erase(j);
      }
    },
  };
}

} // namespace

container_proxy_actor spawn_container_proxy(caf::actor_system& sys, std::string host,
                                            uint16_t port, std::chrono::milliseconds timeout) {
  return sys.spawn(proxy, std::move(host), port, timeout);
}

} // namespace troupe::serving
