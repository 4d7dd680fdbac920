#include "actors/serving/replica_container.hpp"

#include <filesystem>
#include <sstream>
#include <unistd.h>

#include "actors/serving/container_supervisor.hpp"
#include "actors/serving/model_backend.hpp"
#include "actors/serving/model_container.hpp"
#include "messages/errors.hpp"

namespace troupe::serving {

namespace {

std::vector<std::string> split_words(const std::string& line) {
  std::istringstream in{line};
  std::vector<std::string> words;
  for (std::string w; in >> w;)
    words.push_back(w);
  return words;
}

/// argv[0] without a '/' is looked up in program_dir first (where
/// troupe-container is installed next to troupe), then left to PATH.
void resolve_program(std::vector<std::string>& argv, const std::string& program_dir) {
  if (argv.empty() || argv[0].find('/') != std::string::npos || program_dir.empty())
    return;
  auto candidate = program_dir + "/" + argv[0];
  if (::access(candidate.c_str(), X_OK) == 0)
    argv[0] = candidate;
}

} // namespace

caf::expected<caf::actor> start_replica_container(caf::actor_system& sys, const model_spec& spec,
                                                  uint32_t index,
                                                  const replica_placement& where) {
  if (spec.backend == "container") {
    container_supervisor_options sup;
    sup.argv = split_words(spec.path);
    if (sup.argv.empty())
      return make_error(errc::invalid_argument,
                        "model " + spec.id() + " has an empty container command line");
    resolve_program(sup.argv, where.program_dir);
    sup.name = spec.id() + "#" + std::to_string(index);
    sup.work_dir = where.work_dir;
    sup.ready_timeout = where.ready_timeout;
    return caf::actor_cast<caf::actor>(spawn_container_supervisor(sys, std::move(sup)));
  }
  auto backend = open_backend(spec);
  if (!backend)
    return make_error(errc::invalid_argument,
                      "model " + spec.id() + " cannot be loaded: " + describe(backend.error()));
  return caf::actor_cast<caf::actor>(
    spawn_model_container(sys, *backend, wants_own_thread(spec)));
}

} // namespace troupe::serving
