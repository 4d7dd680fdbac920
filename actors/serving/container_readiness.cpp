#include "actors/serving/container_readiness.hpp"

#include <caf/event_based_actor.hpp>

#include "actors/serving/container_supervisor.hpp"
#include "messages/type_ids.hpp"

namespace troupe::serving {

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

struct watch_state {
  caf::response_promise waiting;
  bool answered = false;
};

void answer(caf::stateful_actor<watch_state>* self, bool ready) {
  if (self->state.answered)
    return;
  self->state.answered = true;
  self->state.waiting.deliver(ready);
  self->quit();
}

caf::behavior watch(caf::stateful_actor<watch_state>* self, caf::actor supervisor,
                    std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  auto poll = [self, supervisor, deadline] {
    if (clock_type::now() >= deadline)
      return answer(self, false);
    self
      ->request(caf::actor_cast<container_supervisor_actor>(supervisor), 1s, stats_atom::value)
      .then(
        [self](uint64_t, uint32_t pid) {
          if (pid != 0)
            answer(self, true);
          else
            self->delayed_send(self, 20ms, caf::tick_atom::value);
        },
        [self](caf::error&) { self->delayed_send(self, 20ms, caf::tick_atom::value); });
  };
  return {
    [self, poll](caf::get_atom) {
      self->state.waiting = self->make_response_promise();
      poll();
      return self->state.waiting;
    },
    [poll](caf::tick_atom) { poll(); },
  };
}

} // namespace

caf::actor spawn_readiness_watch(caf::actor_system& sys, caf::actor supervisor,
                                 std::chrono::milliseconds timeout) {
  return sys.spawn(watch, std::move(supervisor), timeout);
}

} // namespace troupe::serving
