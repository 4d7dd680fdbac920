// Gloo's rendezvous store over Troupe's state store: ranks meet through the
// cluster runtime (a state-store actor found by name), not through shared
// files or a Redis server. Gloo calls it only while connecting a group.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include <gloo/rendezvous/store.h>

#include "messages/store_protocol.hpp"

namespace troupe::collectives {

class store_rendezvous final : public gloo::rendezvous::Store {
public:
  /// Finds the state store named `store_name` through the cluster member at
  /// `address` (host:port). Every key this store touches is prefixed with
  /// `prefix`, so runs and groups sharing one state store never mix.
  static caf::expected<std::unique_ptr<store_rendezvous>>
  connect(caf::actor_system& sys, const std::string& address, const std::string& store_name,
          std::string prefix, std::chrono::milliseconds timeout);

  /// Writes `data` under `key`. Throws gloo::IoException if the store fails
  /// or does not answer within the timeout.
  void set(const std::string& key, const std::vector<char>& data) override;

  /// Waits (up to the timeout) until `key` is present and returns its value;
  /// Gloo's own stores block the same way. Throws gloo::IoException.
  std::vector<char> get(const std::string& key) override;

  /// Waits up to the timeout given at connect() for every key.
  void wait(const std::vector<std::string>& keys) override;

  /// Waits up to `timeout` for every key; gloo::IoException naming the
  /// missing keys when it passes.
  void wait(const std::vector<std::string>& keys,
            const std::chrono::milliseconds& timeout) override;

  /// Removes `keys` (best effort: the store is scratch space for one run).
  void erase(const std::vector<std::string>& keys);

private:
  store_rendezvous(caf::actor_system& sys, state_store_actor store, std::string prefix,
                   std::chrono::milliseconds timeout)
    : sys_(&sys), store_(std::move(store)), prefix_(std::move(prefix)), timeout_(timeout) {
    // nop
  }

  /// The value of `key`, empty if absent; throws on any other failure.
  std::optional<std::string> try_get(const std::string& key,
                                     std::chrono::milliseconds timeout);

  std::string full_key(const std::string& key) const { return prefix_ + key; }

  caf::actor_system* sys_;
  state_store_actor store_;
  std::string prefix_;
  std::chrono::milliseconds timeout_;
};

} // namespace troupe::collectives
