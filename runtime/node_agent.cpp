#include "runtime/node_agent.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "messages/errors.hpp"
#include "runtime/agent_connect.hpp"
#include "runtime/node_metrics.hpp"

namespace troupe {

namespace {

using clock_type = std::chrono::steady_clock;

// Retry pace of a join that has callers waiting on it.
constexpr auto join_retry_interval = std::chrono::milliseconds{300};

struct peer_entry {
  member_info info;
  node_agent_actor handle;
  directory_list names;
};

// An ongoing (or finished) membership through the member at host:port.
struct join_target {
  std::string host;
  uint16_t port = 0;
  std::vector<caf::typed_response_promise<caf::ok_atom>> waiting;
  clock_type::time_point deadline;
  clock_type::time_point last_attempt;
  bool in_flight = false;
  caf::error last_error;
  std::string seed_member;  // who answered the last successful join
};

struct agent_state {
  node_agent_options options;
  std::shared_ptr<node_metrics> metrics;
  actor_counters counters;
  std::map<std::string, peer_entry> peers;        // by member name
  std::map<std::string, caf::actor> local_names;  // names this node owns
  std::set<std::string> dialing;                  // connects in flight
  std::optional<join_target> join;
  clock_type::time_point last_gossip;
  std::minstd_rand rng{std::random_device{}()};
  static inline const char* name = "troupe.node_agent";

  const member_info& me() const { return options.self; }
};

using agent_pointer = node_agent_actor::stateful_pointer<agent_state>;

// -- helpers ------------------------------------------------------------------

void count(agent_pointer self) {
  self->state.counters.count();
}

caf::error failed(agent_pointer self, caf::error err) {
  self->state.counters.count_error();
  return err;
}

caf::timespan connect_timeout(agent_pointer self) {
  return std::min<caf::timespan>(self->state.options.request_timeout,
                                 std::chrono::seconds{2});
}

directory_list own_names(agent_pointer self) {
  directory_list result;
  auto& me = self->state.me();
  for (auto& [name, handle] : self->state.local_names)
    result.push_back({name, handle, me.name, me.host, me.port});
  return result;
}

member_list all_members(agent_pointer self) {
  member_list result{self->state.me()};
  for (auto& [name, peer] : self->state.peers)
    result.push_back(peer.info);
  return result;
}

void update_gauges(agent_pointer self) {
  auto& st = self->state;
  if (!st.metrics)
    return;
  size_t names = st.local_names.size();
  for (auto& [_, peer] : st.peers)
    names += peer.names.size();
  st.metrics->members().Set(static_cast<double>(st.peers.size() + 1));
  st.metrics->names().Set(static_cast<double>(names));
  st.metrics->actors_running().Set(static_cast<double>(self->system().registry().running()));
}

void broadcast_names(agent_pointer self) {
  auto names = own_names(self);
  for (auto& [_, peer] : self->state.peers)
    self->send(peer.handle, names_atom::value, self->state.me(), names);
  update_gauges(self);
}

// Adds or refreshes a member. A different handle under a known name is a
// new incarnation (a restarted node): it replaces the old one.
void add_peer(agent_pointer self, const member_info& info, const node_agent_actor& handle,
              std::optional<directory_list> names) {
  auto& peers = self->state.peers;
  auto i = peers.find(info.name);
  if (i != peers.end() && i->second.handle.address() == handle.address()) {
    i->second.info = info;
    if (names)
      i->second.names = std::move(*names);
    update_gauges(self);
    return;
  }
  if (i != peers.end()) {
    spdlog::info("member replaced member={} old={} new={}", info.name,
                 to_string(i->second.info), to_string(info));
    self->demonitor(i->second.handle.address());
    peers.erase(i);
  }
  self->monitor(handle);
  peers.emplace(info.name, peer_entry{info, handle, names ? std::move(*names) : directory_list{}});
  spdlog::info("member up member={} members={}", to_string(info), peers.size() + 1);
  update_gauges(self);
}

// Opens a direct connection to a member and introduces this node. By
// convention the member with the smaller name dials; see node_protocol.hpp.
void dial(agent_pointer self, const member_info& info) {
  auto& st = self->state;
  if (info.name == st.me().name || st.dialing.count(info.name) > 0)
    return;
  auto known = st.peers.find(info.name);
  if (known != st.peers.end() && known->second.info.incarnation >= info.incarnation)
    return;
  st.dialing.insert(info.name);
  connect_node_agent(self, info.host, info.port, connect_timeout(self),
                     [self, info](caf::expected<node_agent_actor> handle) {
                       self->state.dialing.erase(info.name);
                       if (!handle) {
                         spdlog::debug("dial failed member={} error=\"{}\"",
                                       to_string(info), describe(handle.error()));
                         return;
                       }
                       add_peer(self, info, *handle, std::nullopt);
                       self->send(*handle, hello_atom::value, self->state.me(),
                                  own_names(self));
                     });
}

void learn_member(agent_pointer self, const member_info& info) {
  if (info.name < self->state.me().name)
    return;  // the smaller name dials; it will reach us
  dial(self, info);
}

// -- joining --------------------------------------------------------------------

void finish_join(agent_pointer self, const caf::error& err) {
  auto& join = *self->state.join;
  for (auto& rp : join.waiting) {
    if (err)
      rp.deliver(err);
    else
      rp.deliver(caf::ok_atom::value);
  }
  join.waiting.clear();
}

void join_failed(agent_pointer self, caf::error err) {
  auto& join = *self->state.join;
  join.in_flight = false;
  spdlog::debug("join attempt failed seed={}:{} error=\"{}\"", join.host, join.port,
                describe(err));
  join.last_error = std::move(err);
  if (!join.waiting.empty() && clock_type::now() >= join.deadline) {
    auto what = "could not join the cluster through " + join.host + ":"
                + std::to_string(join.port) + ": " + describe(join.last_error);
    finish_join(self, make_error(errc::join_refused, std::move(what)));
  }
}

void joined(agent_pointer self, const node_agent_actor& seed, member_list view) {
  auto& join = *self->state.join;
  join.in_flight = false;
  if (view.empty()) {
    join_failed(self, make_error(errc::join_refused, "the seed answered an empty membership"));
    return;
  }
  join.seed_member = view.front().name;
  add_peer(self, view.front(), seed, std::nullopt);
  self->send(seed, hello_atom::value, self->state.me(), own_names(self));
  for (size_t i = 1; i < view.size(); ++i)
    learn_member(self, view[i]);
  spdlog::info("joined cluster seed={} members={}", to_string(view.front()), view.size() + 1);
  finish_join(self, caf::none);
}

void attempt_join(agent_pointer self) {
  auto& join = *self->state.join;
  join.in_flight = true;
  join.last_attempt = clock_type::now();
  connect_node_agent(
    self, join.host, join.port, connect_timeout(self),
    [self](caf::expected<node_agent_actor> seed) {
      if (!seed) {
        join_failed(self, seed.error());
        return;
      }
      self->request(*seed, self->state.options.request_timeout, caf::join_atom::value,
                    self->state.me())
        .then([self, handle = *seed](member_list& view) { joined(self, handle, std::move(view)); },
              [self](caf::error& err) { join_failed(self, err); });
    });
}

bool seed_alive(agent_pointer self) {
  auto& join = *self->state.join;
  return !join.seed_member.empty() && self->state.peers.count(join.seed_member) > 0;
}

// -- housekeeping ---------------------------------------------------------------

void housekeeping(agent_pointer self) {
  auto& st = self->state;
  auto now = clock_type::now();
  if (st.join && !st.join->in_flight) {
    auto& join = *st.join;
    if (!join.waiting.empty()) {
      if (now >= join.deadline)
        join_failed(self, join.last_error ? join.last_error
                                          : make_error(errc::timeout, "join timed out"));
      else if (now - join.last_attempt >= join_retry_interval)
        attempt_join(self);
    } else if (!join.seed_member.empty() && !seed_alive(self)
               && now - join.last_attempt >= st.options.gossip_interval) {
      // Our seed is gone (it died, or we were cut off): rejoin through it
      // once it is back, so that partitions heal.
      attempt_join(self);
    }
  }
  if (!st.peers.empty() && now - st.last_gossip >= st.options.gossip_interval) {
    st.last_gossip = now;
    auto pick = std::uniform_int_distribution<size_t>{0, st.peers.size() - 1}(st.rng);
    auto it = std::next(st.peers.begin(), static_cast<ptrdiff_t>(pick));
    self->send(it->second.handle, gossip_atom::value, all_members(self));
  }
  update_gauges(self);
}

void on_down(agent_pointer self, const caf::down_msg& dm) {
  auto& st = self->state;
  for (auto i = st.peers.begin(); i != st.peers.end(); ++i) {
    if (i->second.handle.address() == dm.source) {
      spdlog::warn("member down member={} reason=\"{}\" names_dropped={}",
                   to_string(i->second.info), describe(dm.reason), i->second.names.size());
      st.peers.erase(i);
      if (st.metrics)
        st.metrics->members_down().Increment();
      update_gauges(self);
      return;
    }
  }
  for (auto i = st.local_names.begin(); i != st.local_names.end(); ++i) {
    if (i->second.address() == dm.source) {
      spdlog::info("registered actor down name={} reason=\"{}\"", i->first,
                   describe(dm.reason));
      st.local_names.erase(i);
      broadcast_names(self);
      return;
    }
  }
}

// Who owns `name`: this node (empty string), a peer's name, or nullopt.
std::optional<directory_entry> find_name(agent_pointer self, const std::string& name) {
  auto& st = self->state;
  if (auto i = st.local_names.find(name); i != st.local_names.end())
    return directory_entry{name, i->second, st.me().name, st.me().host, st.me().port};
  for (auto& [_, peer] : st.peers)
    for (auto& entry : peer.names)
      if (entry.name == name)
        return entry;
  return std::nullopt;
}

std::string some_known_names(agent_pointer self) {
  std::vector<std::string> names;
  for (auto& [name, _] : self->state.local_names)
    names.push_back(name);
  for (auto& [_, peer] : self->state.peers)
    for (auto& entry : peer.names)
      names.push_back(entry.name);
  if (names.empty())
    return "the directory is empty";
  std::sort(names.begin(), names.end());
  std::string result = "known names:";
  for (size_t i = 0; i < names.size() && i < 8; ++i)
    result += " " + names[i];
  if (names.size() > 8)
    result += " ...";
  return result;
}

node_agent_actor::behavior_type agent_impl(agent_pointer self, node_agent_options options,
                                           std::shared_ptr<node_metrics> metrics) {
  self->state.options = std::move(options);
  self->state.metrics = std::move(metrics);
  self->state.counters = counters_for(self->state.metrics, "node_agent");
  self->set_down_handler([self](const caf::down_msg& dm) { on_down(self, dm); });
  self->send(self, caf::tick_atom::value);
  update_gauges(self);
  return {
    // -- membership -----------------------------------------------------------------
    [self](caf::join_atom, const member_info& joiner) -> caf::result<member_list> {
      count(self);
      auto& st = self->state;
      if (joiner.name == st.me().name)
        return failed(self, make_error(errc::join_refused,
                                       "node name '" + joiner.name
                                         + "' is already taken by " + to_string(st.me())));
      if (auto i = st.peers.find(joiner.name); i != st.peers.end()) {
        auto& old = i->second.info;
        bool same_address = old.host == joiner.host && old.port == joiner.port;
        if (old.incarnation != joiner.incarnation && !same_address)
          return failed(self, make_error(errc::join_refused,
                                         "node name '" + joiner.name
                                           + "' is already taken by live member "
                                           + to_string(old)));
      }
      auto sender = caf::actor_cast<node_agent_actor>(self->current_sender());
      if (!sender)
        return failed(self, make_error(errc::invalid_argument,
                                       "a join must come from the joiner's node agent"));
      auto view = all_members(self);
      view.erase(std::remove_if(view.begin(), view.end(),
                                [&](const member_info& m) { return m.name == joiner.name; }),
                 view.end());
      add_peer(self, joiner, sender, std::nullopt);
      self->send(sender, names_atom::value, st.me(), own_names(self));
      for (auto& [name, peer] : st.peers)
        if (name != joiner.name)
          self->send(peer.handle, member_up_atom::value, joiner);
      return view;
    },
    [self](member_up_atom, const member_info& info) {
      count(self);
      learn_member(self, info);
    },
    [self](hello_atom, const member_info& info, directory_list& names) {
      count(self);
      if (info.name == self->state.me().name) {
        spdlog::error("a node with this node's name '{}' introduced itself from {}",
                      info.name, to_string(info));
        return;
      }
      auto sender = caf::actor_cast<node_agent_actor>(self->current_sender());
      if (!sender)
        return;
      add_peer(self, info, sender, std::move(names));
      self->send(sender, names_atom::value, self->state.me(), own_names(self));
    },
    [self](gossip_atom, const member_list& members) {
      count(self);
      for (auto& info : members)
        if (info.name != self->state.me().name)
          learn_member(self, info);
    },
    [self](caf::get_atom, members_atom) -> member_list {
      count(self);
      return all_members(self);
    },
    [self](join_cluster_atom, const std::string& host,
           uint16_t port) -> caf::typed_response_promise<caf::ok_atom> {
      count(self);
      auto& st = self->state;
      auto rp = self->make_response_promise<caf::ok_atom>();
      if (!st.join || st.join->host != host || st.join->port != port) {
        st.join.emplace();
        st.join->host = host;
        st.join->port = port;
      }
      st.join->deadline = clock_type::now() + st.options.join_timeout;
      st.join->waiting.push_back(rp);
      if (!st.join->in_flight)
        attempt_join(self);
      return rp;
    },
    [self](caf::tick_atom) {
      housekeeping(self);
      self->delayed_send(self, self->state.options.tick_interval, caf::tick_atom::value);
    },
    // -- directory --------------------------------------------------------------------
    [self](register_atom, const std::string& name,
           const caf::actor& handle) -> caf::result<caf::ok_atom> {
      count(self);
      if (!valid_actor_name(name))
        return failed(self, make_error(errc::invalid_argument,
                                       "'" + name.substr(0, 64)
                                         + "' is not a valid actor name (1-256 "
                                           "printable characters, no spaces)"));
      if (!handle)
        return failed(self, make_error(errc::invalid_argument,
                                       "cannot register an invalid actor as '" + name + "'"));
      if (auto owner = find_name(self, name)) {
        if (owner->handle == handle)
          return caf::ok_atom::value;
        return failed(self, make_error(errc::already_exists,
                                       "name '" + name + "' is already registered on node "
                                         + owner->node));
      }
      self->state.local_names.emplace(name, handle);
      self->monitor(handle);
      spdlog::info("registered name={}", name);
      broadcast_names(self);
      return caf::ok_atom::value;
    },
    [self](unregister_atom, const std::string& name) -> caf::result<caf::ok_atom> {
      count(self);
      auto& st = self->state;
      if (auto i = st.local_names.find(name); i != st.local_names.end()) {
        self->demonitor(i->second.address());
        st.local_names.erase(i);
        broadcast_names(self);
        return caf::ok_atom::value;
      }
      if (auto owner = find_name(self, name))
        return failed(self, make_error(errc::invalid_argument,
                                       "name '" + name + "' is owned by node " + owner->node
                                         + "; unregister it there"));
      return failed(self, make_error(errc::not_found, "no actor named '" + name
                                                        + "' is registered"));
    },
    [self](lookup_atom, const std::string& name) -> caf::result<directory_entry> {
      count(self);
      if (auto entry = find_name(self, name))
        return *entry;
      return failed(self, make_error(errc::not_found,
                                     "no actor named '" + name.substr(0, 256)
                                       + "' in the cluster (" + some_known_names(self)
                                       + ")"));
    },
    [self](caf::get_atom, directory_atom) -> directory_list {
      count(self);
      auto result = own_names(self);
      for (auto& [_, peer] : self->state.peers)
        result.insert(result.end(), peer.names.begin(), peer.names.end());
      return result;
    },
    [self](names_atom, const member_info& info, directory_list& names) {
      count(self);
      auto i = self->state.peers.find(info.name);
      auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
      if (i == self->state.peers.end() || i->second.handle.address() != sender)
        return;  // stale: from an incarnation we no longer track
      i->second.info = info;
      i->second.names = std::move(names);
      update_gauges(self);
    },
  };
}

} // namespace

bool valid_actor_name(const std::string& name) {
  if (name.empty() || name.size() > 256)
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return static_cast<unsigned char>(c) > 32 && static_cast<unsigned char>(c) < 127;
  });
}

node_agent_actor spawn_node_agent(caf::actor_system& sys, node_agent_options options,
                                  std::shared_ptr<node_metrics> metrics) {
  return sys.spawn(agent_impl, std::move(options), std::move(metrics));
}

} // namespace troupe
