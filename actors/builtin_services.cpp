#include "actors/builtin_services.hpp"

#include <filesystem>

#include "actors/common/echo_actor.hpp"
#include "actors/serving/model_host.hpp"
#include "actors/tuning/measurer_actor.hpp"
#include "runtime/child_process.hpp"
#include "runtime/node.hpp"

namespace troupe {

const service_registry& builtin_services() {
  static const service_registry registry = [] {
    service_registry r;
    r.add("echo", "answers echo requests with the node's name; for demos and health checks",
          [](node& host) -> caf::expected<caf::actor> {
            return caf::actor_cast<caf::actor>(
              spawn_echo(host.system(), host.info().name, host.metrics()));
          });
    r.add("model_host",
          "starts model replicas on this node for serving frontends elsewhere in the "
          "cluster (name it in a model's hosts)",
          [](node& host) -> caf::expected<caf::actor> {
            serving::replica_placement where;
            where.work_dir = "/tmp";  // container ready files and logs
            where.program_dir = std::filesystem::path{self_executable()}.parent_path().string();
            return caf::actor_cast<caf::actor>(serving::spawn_model_host(host.system(), where));
          });
    r.add("tuning_measurer",
          "builds and times autotuning candidates in troupe-measure worker processes for "
          "`troupe tune --cluster` (name it tuning_measurer[.NAME])",
          [](node& host) -> caf::expected<caf::actor> {
            auto worker = (std::filesystem::path{self_executable()}.parent_path() / "troupe-measure")
                            .string();
            return caf::actor_cast<caf::actor>(
              tuning::spawn_measurer(host.system(), worker, std::chrono::seconds{10}, host.config().name));
          });
    return r;
  }();
  return registry;
}

} // namespace troupe
