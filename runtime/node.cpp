#include "runtime/node.hpp"

#include <chrono>

#include <unistd.h>

#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <spdlog/spdlog.h>

#include "messages/errors.hpp"
#include "messages/type_ids.hpp"
#include "runtime/node_agent.hpp"
#include "runtime/node_metrics.hpp"
#include "runtime/ready_file.hpp"
#include "runtime/state_store.hpp"

namespace troupe {

std::unique_ptr<caf::actor_system_config> make_actor_system_config(const node_config& cfg) {
  auto result = std::make_unique<caf::actor_system_config>();
  result->load<caf::io::middleman>();
  register_message_types(*result);
  // CAF 0.17 never notices a frozen peer without heartbeats.
  result->set("middleman.heartbeat-interval", caf::timespan{cfg.heartbeat_interval});
  result->set("middleman.connection-timeout", caf::timespan{cfg.connection_timeout});
  if (cfg.scheduler_threads > 0)
    result->set("scheduler.max-threads", static_cast<size_t>(cfg.scheduler_threads));
  result->set("work-stealing.moderate-poll-attempts",
              static_cast<size_t>(cfg.scheduler_poll_attempts));
  // CAF's own logger would print to the console; Troupe logs through spdlog.
  result->set("logger.console-verbosity", caf::atom("quiet"));
  result->set("logger.file-verbosity", caf::atom("quiet"));
  return result;
}

caf::expected<std::unique_ptr<node>> node::start(node_config cfg,
                                                 const service_registry& services) {
  std::unique_ptr<node> self{new node};
  self->config_ = std::move(cfg);
  auto& config = self->config_;
  self->system_config_ = make_actor_system_config(config);
  self->system_ = std::make_unique<caf::actor_system>(*self->system_config_);
  auto metrics = node_metrics::make(config.name, config.host, config.metrics_port);
  if (!metrics)
    return metrics.error();
  self->metrics_ = std::move(*metrics);
  if (!config.store_path.empty()) {
    state_store_options store_options{config.store_path, config.store_sync,
                                      config.store_max_value_bytes};
    auto store = spawn_state_store(*self->system_, store_options, self->metrics_);
    if (!store)
      return store.error();
    self->store_ = *store;
  }
  self->info_.name = config.name;
  self->info_.host = config.host;
  self->info_.pid = static_cast<int32_t>(getpid());
  self->info_.incarnation = static_cast<uint64_t>(
    std::chrono::system_clock::now().time_since_epoch().count());
  // The agent learns its port only after publishing; it must advertise the
  // real one, so publish a first time to learn it when port 0 was asked for.
  auto& mm = self->system_->middleman();
  node_agent_options agent_options;
  agent_options.request_timeout = config.request_timeout;
  agent_options.gossip_interval = config.gossip_interval;
  agent_options.join_timeout = config.join_timeout;
  uint16_t port = config.port;
  if (port == 0) {
    auto probe = mm.open(0, config.host.c_str(), false);
    if (!probe)
      return make_error(errc::unavailable, "cannot open a port on " + config.host + ": "
                                             + describe(probe.error()));
    port = *probe;
    mm.close(port);
  }
  self->info_.port = port;
  agent_options.self = self->info_;
  self->agent_ = spawn_node_agent(*self->system_, agent_options, self->metrics_);
  auto published = mm.publish(self->agent_, port, config.host.c_str(), true);
  if (!published)
    return make_error(errc::unavailable, "cannot listen on " + config.host + ":"
                                           + std::to_string(port) + ": "
                                           + describe(published.error()));
  if (auto err = self->start_services(services))
    return err;
  if (auto err = self->join_seed())
    return err;
  spdlog::info("node serving name={} address={}:{} metrics_port={} store={}", config.name,
               config.host, port, self->metrics_->port(),
               config.store_path.empty() ? "-" : config.store_path);
  if (!config.ready_file.empty()) {
    ready_info ready{config.name, config.host, port, self->metrics_->port(),
                     static_cast<int32_t>(getpid())};
    if (auto err = write_ready_file(config.ready_file, ready))
      return err;
  }
  return self;
}

caf::error node::start_services(const service_registry& services) {
  if (store_)
    if (auto err = register_actor("store@" + config_.name, caf::actor_cast<caf::actor>(*store_)))
      return err;
  for (auto& text : config_.services) {
    auto spec = parse_service_spec(text);
    if (!spec)
      return spec.error();
    auto entry = services.find(spec->kind);
    if (!entry) {
      std::string kinds;
      for (auto* e : services.entries())
        kinds += (kinds.empty() ? "" : ", ") + e->kind;
      return make_error(errc::invalid_config, "node.services: unknown kind '" + spec->kind
                                                + "' (known: " + kinds + ")");
    }
    auto handle = entry->factory(*this);
    if (!handle)
      return handle.error();
    services_.push_back(*handle);
    if (auto err = register_actor(spec->name, *handle))
      return err;
  }
  return caf::none;
}

caf::error node::join_seed() {
  if (config_.seed.empty())
    return caf::none;
  auto seed = parse_host_port(config_.seed, "node.seed");
  if (!seed)
    return seed.error();
  caf::scoped_actor self{*system_};
  caf::error result;
  // The agent answers by its join timeout; the margin covers the last attempt.
  auto timeout = config_.join_timeout + config_.request_timeout;
  self->request(agent_, timeout, join_cluster_atom::value, seed->first, seed->second)
    .receive([](caf::ok_atom) {}, [&](caf::error& err) { result = std::move(err); });
  return result;
}

caf::error node::register_actor(const std::string& name, const caf::actor& handle) {
  caf::scoped_actor self{*system_};
  caf::error result;
  self->request(agent_, config_.request_timeout, register_atom::value, name, handle)
    .receive([](caf::ok_atom) {}, [&](caf::error& err) { result = std::move(err); });
  return result;
}

node::~node() {
  if (!system_)
    return;
  for (auto& service : services_)
    caf::anon_send_exit(service, caf::exit_reason::user_shutdown);
  if (store_)
    caf::anon_send_exit(*store_, caf::exit_reason::user_shutdown);
  if (agent_)
    caf::anon_send_exit(agent_, caf::exit_reason::user_shutdown);
  // Drop our handles first: the store runs detached, and the system waits
  // for a detached actor's object to be destroyed, which a handle held here
  // would prevent forever.
  services_.clear();
  store_.reset();
  agent_ = nullptr;
  system_.reset();  // waits for every actor to finish
}

} // namespace troupe
