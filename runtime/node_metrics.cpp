#include "runtime/node_metrics.hpp"

#include <prometheus/exposer.h>

#include "messages/errors.hpp"

namespace troupe {

caf::expected<std::shared_ptr<node_metrics>>
node_metrics::make(const std::string& node_name, const std::string& host,
                   int32_t port) {
  std::shared_ptr<node_metrics> m{new node_metrics};
  m->registry_ = std::make_shared<prometheus::Registry>();
  auto& reg = *m->registry_;
  const prometheus::Labels node_label{{"node", node_name}};
  m->messages_ = &prometheus::BuildCounter()
                    .Name("troupe_actor_messages_total")
                    .Help("Messages handled, by kind of actor")
                    .Labels(node_label)
                    .Register(reg);
  m->errors_ = &prometheus::BuildCounter()
                  .Name("troupe_actor_errors_total")
                  .Help("Requests answered with an error, by kind of actor")
                  .Labels(node_label)
                  .Register(reg);
  m->members_ = &prometheus::BuildGauge()
                   .Name("troupe_cluster_members")
                   .Help("Live cluster members seen by this node, itself included")
                   .Labels(node_label)
                   .Register(reg)
                   .Add({});
  m->names_ = &prometheus::BuildGauge()
                 .Name("troupe_directory_names")
                 .Help("Names in this node's view of the actor directory")
                 .Labels(node_label)
                 .Register(reg)
                 .Add({});
  m->actors_running_ = &prometheus::BuildGauge()
                          .Name("troupe_actors_running")
                          .Help("Actors alive in this node's actor system")
                          .Labels(node_label)
                          .Register(reg)
                          .Add({});
  m->members_down_ = &prometheus::BuildCounter()
                        .Name("troupe_members_down_total")
                        .Help("Peers this node saw go down")
                        .Labels(node_label)
                        .Register(reg)
                        .Add({});
  if (port >= 0) {
    auto address = host + ":" + std::to_string(port);
    try {
      m->exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
      m->exposer_->RegisterCollectable(m->registry_);
      auto ports = m->exposer_->GetListeningPorts();
      m->port_ = ports.empty() ? port : ports.front();
    } catch (const std::exception& e) {
      return make_error(errc::unavailable, "metrics endpoint " + address
                                             + " cannot be bound: " + e.what());
    }
  }
  return m;
}

node_metrics::~node_metrics() = default;

actor_counters counters_for(const std::shared_ptr<node_metrics>& metrics,
                            const std::string& actor) {
  if (!metrics)
    return {};
  return {&metrics->messages(actor), &metrics->errors(actor)};
}

prometheus::Counter& node_metrics::messages(const std::string& actor) {
  return messages_->Add({{"actor", actor}});
}

prometheus::Counter& node_metrics::errors(const std::string& actor) {
  return errors_->Add({{"actor", actor}});
}

} // namespace troupe
