// rendezvous_from_env: the rank's side of the contract with `troupe train`.
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "messages/errors.hpp"
#include "runtime/collectives/process_group.hpp"
#include "runtime/node_config.hpp"

namespace troupe::collectives {

namespace {

constexpr int64_t max_world_size = 1 << 20;

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0')
    return std::nullopt;
  return std::string{value};
}

caf::error missing(const char* name) {
  return make_error(errc::invalid_config,
                    std::string{name} + " is not set; start ranks with `troupe train`");
}

// The whole text must be a decimal integer in [min, max]: "2x" or "" is a
// typo to report, not a number to guess.
caf::expected<int64_t> parse_int(const char* name, const std::string& text, int64_t min,
                                 int64_t max) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    return make_error(errc::invalid_config,
                      std::string{name} + "='" + text + "' is not an integer");
  if (value < min || value > max)
    return make_error(errc::invalid_config, std::string{name} + "=" + text + " is out of range "
                                              + std::to_string(min) + ".."
                                              + std::to_string(max));
  return value;
}

caf::expected<int64_t> required_int(const char* name, int64_t min, int64_t max) {
  auto text = env(name);
  if (!text)
    return missing(name);
  return parse_int(name, *text, min, max);
}

} // namespace

caf::expected<rendezvous_info> rendezvous_from_env() {
  rendezvous_info info;
  auto rank = required_int("TROUPE_RANK", 0, max_world_size - 1);
  if (!rank)
    return rank.error();
  auto world_size = required_int("TROUPE_WORLD_SIZE", 1, max_world_size);
  if (!world_size)
    return world_size.error();
  if (*rank >= *world_size)
    return make_error(errc::invalid_config,
                      "TROUPE_RANK=" + std::to_string(*rank)
                        + " is out of range for TROUPE_WORLD_SIZE="
                        + std::to_string(*world_size) + " (0.."
                        + std::to_string(*world_size - 1) + ")");
  info.rank = static_cast<int>(*rank);
  info.world_size = static_cast<int>(*world_size);
  auto address = env("TROUPE_RENDEZVOUS");
  if (!address)
    return missing("TROUPE_RENDEZVOUS");
  if (auto hp = parse_host_port(*address, "TROUPE_RENDEZVOUS"); !hp)
    return hp.error();
  info.address = *address;
  auto store = env("TROUPE_RENDEZVOUS_STORE");
  if (!store)
    return missing("TROUPE_RENDEZVOUS_STORE");
  info.store_name = *store;
  auto run_id = env("TROUPE_RUN_ID");
  if (!run_id)
    return missing("TROUPE_RUN_ID");
  info.run_id = *run_id;
  if (auto backend = env("TROUPE_BACKEND"))
    info.backend = *backend;
  if (auto host = env("TROUPE_INTERFACE_HOST"))
    info.interface_host = *host;
  if (auto text = env("TROUPE_COLLECTIVE_TIMEOUT_MS")) {
    auto ms = parse_int("TROUPE_COLLECTIVE_TIMEOUT_MS", *text, 1, 24LL * 3600 * 1000);
    if (!ms)
      return ms.error();
    info.timeout = std::chrono::milliseconds{*ms};
  }
  if (auto text = env("TROUPE_DEBUG_COLLECTIVES"))
    info.debug = *text == "1";
  return info;
}

} // namespace troupe::collectives
