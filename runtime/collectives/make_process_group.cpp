#include "runtime/collectives/make_process_group.hpp"

#include "runtime/collectives/checked_process_group.hpp"

#include "messages/errors.hpp"
#include "runtime/collectives/gloo_process_group.hpp"
#include "runtime/collectives/ucx_process_group.hpp"

#ifdef TROUPE_HAVE_NCCL
#include "runtime/collectives/nccl_process_group.hpp"
#endif

namespace troupe::collectives {

const std::vector<std::string>& known_backends() {
  static const std::vector<std::string> names{"gloo", "ucx", "nccl"};
  return names;
}

namespace {

// NCCL needs the CUDA toolkit at build time; CMake defines TROUPE_HAVE_NCCL
// for this library when it found one (cmake/TroupeDependencies.cmake).
#ifdef TROUPE_HAVE_NCCL
constexpr bool nccl_built = true;
#else
constexpr bool nccl_built = false;
#endif

} // namespace

caf::error check_backend(const std::string& backend) {
  if (backend == "gloo" || backend == "ucx" || (backend == "nccl" && nccl_built))
    return caf::none;
  if (backend == "nccl")
    return make_error(errc::invalid_argument,
                      "backend 'nccl' is not built: configure on a host with the CUDA toolkit "
                      "and NCCL (see README)");
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
#ifdef TROUPE_HAVE_NCCL
  } else if (info.backend == "nccl") {
    auto group = nccl_process_group::make(sys, info);
    if (!group)
      return group.error();
    result = std::move(*group);
#endif
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
