#include "runtime/service_registry.hpp"

#include "messages/errors.hpp"
#include "runtime/node_agent.hpp"

namespace troupe {

void service_registry::add(std::string kind, std::string help, service_factory factory) {
  auto key = kind;
  entries_.emplace(std::move(key), entry{std::move(kind), std::move(help), std::move(factory)});
}

const service_registry::entry* service_registry::find(const std::string& kind) const {
  auto i = entries_.find(kind);
  return i == entries_.end() ? nullptr : &i->second;
}

std::vector<const service_registry::entry*> service_registry::entries() const {
  std::vector<const entry*> result;
  for (auto& [_, e] : entries_)
    result.push_back(&e);
  return result;
}

caf::expected<service_spec> parse_service_spec(const std::string& text) {
  auto eq = text.find('=');
  service_spec spec;
  spec.kind = text.substr(0, eq);
  spec.name = eq == std::string::npos ? spec.kind : text.substr(eq + 1);
  if (spec.kind.empty() || !valid_actor_name(spec.name))
    return make_error(errc::invalid_config,
                      "node.services: '" + text + "' is not kind or kind=name");
  return spec;
}

} // namespace troupe
