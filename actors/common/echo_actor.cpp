#include "actors/common/echo_actor.hpp"

#include <caf/typed_event_based_actor.hpp>

#include "messages/tensor_chunks.hpp"
#include "runtime/node_metrics.hpp"

namespace troupe {

namespace {

struct echo_state {
  std::string node_name;
  std::shared_ptr<node_metrics> metrics;  // keeps the counters alive
  actor_counters counters;
  tensor_assembler uploads;
  static inline const char* name = "troupe.echo";

  void count() { counters.count(); }
};

echo_actor::behavior_type echo_impl(echo_actor::stateful_pointer<echo_state> self,
                                    std::string node_name,
                                    std::shared_ptr<node_metrics> metrics) {
  self->state.node_name = std::move(node_name);
  self->state.counters = counters_for(metrics, "echo");
  self->state.metrics = std::move(metrics);
  return {
    [self](echo_atom, std::string& text) -> caf::result<std::string, std::string> {
      self->state.count();
      return {std::move(text), self->state.node_name};
    },
    [self](echo_atom, uint64_t x) -> uint64_t {
      self->state.count();
      return x;
    },
    [self](echo_atom, tensor_chunk& chunk) -> caf::result<chunk_ack> {
      self->state.count();
      auto id = chunk.transfer_id;
      auto count = chunk.count;
      auto done = self->state.uploads.add(std::move(chunk));
      if (!done)
        return done.error();
      chunk_ack ack{id, self->state.uploads.received(id), false, 0};
      if (*done) {
        auto& x = **done;
        ack.complete = true;
        ack.received = count;
        ack.checksum = fnv1a(x.bytes.data(), x.bytes.size());
      }
      return ack;
    },
  };
}

} // namespace

echo_actor spawn_echo(caf::actor_system& sys, std::string node_name,
                      std::shared_ptr<node_metrics> metrics) {
  return sys.spawn(echo_impl, std::move(node_name), std::move(metrics));
}

} // namespace troupe
