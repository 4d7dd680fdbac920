// Kinds of actors a node can start from its configuration (node.services).
// The runtime knows none itself: apps hand it a registry (see
// actors/builtin_services.hpp), so that new subsystems plug in without
// touching the runtime.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>

namespace troupe {

class node;

/// Starts one service on `host` and returns the actor to register.
using service_factory = std::function<caf::expected<caf::actor>(node& host)>;

class service_registry {
public:
  struct entry {
    std::string kind;
    std::string help;
    service_factory factory;
  };

  /// Adds a kind. REQUIRES: `kind` is not yet registered.
  void add(std::string kind, std::string help, service_factory factory);

  /// The entry for `kind`, or nullptr.
  const entry* find(const std::string& kind) const;

  /// All kinds, sorted by name.
  std::vector<const entry*> entries() const;

private:
  std::map<std::string, entry> entries_;
};

/// A parsed node.services item "kind[=name]"; the name defaults to the kind.
struct service_spec {
  std::string kind;
  std::string name;
};

/// Parses "kind[=name]"; invalid_config naming the item on a bad form.
caf::expected<service_spec> parse_service_spec(const std::string& text);

} // namespace troupe
