#include "runtime/collectives/make_process_group.hpp"

#include "runtime/collectives/checked_process_group.hpp"

#include "messages/errors.hpp"
#include "runtime/collectives/gloo_process_group.hpp"
#include "runtime/collectives/ucx_process_group.hpp"

namespace troupe::collectives {

const std::vector<std::string>& known_backends() {
  static const std::vector<std::string> names{"gloo", "ucx", "nccl"};
  return names;
}

caf::error check_backend(const std::string& backend) {
  if (backend == "gloo" || backend == "ucx")
    return caf::none;
  for (auto& name : known_backends())
    if (name == backend)
      return make_error(errc::invalid_argument, "backend '" + backend + "' is not built yet");
  std::string names;
  for (auto& name : known_backends())
    names += (names.empty() ? "" : ", ") + name;
  return make_error(errc::invalid_argument,
                    "unknown backend '" + backend + "' (known: " + names + ")");
}

caf::expected<std::unique_ptr<process_group>>
make_process_group(caf::actor_system& sys, const rendezvous_info& info) {
  if (auto err = check_backend(info.backend))
    return err;
  std::unique_ptr<process_group> result;
  if (info.backend == "ucx") {
    auto group = ucx_process_group::make(sys, info);
    if (!group)
      return group.error();
    result = std::move(*group);
  } else {
    auto group = gloo_process_group::make(sys, info);
    if (!group)
      return group.error();
    result = std::move(*group);
  }
  if (info.debug)
    result = make_checked_process_group(std::move(result));
  return result;
}

} // namespace troupe::collectives
