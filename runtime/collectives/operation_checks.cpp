#include "runtime/collectives/operation_checks.hpp"

#include "messages/errors.hpp"

namespace troupe::collectives {

caf::error refuse_rendezvous(const rendezvous_info& info) {
  if (info.world_size < 1 || info.rank < 0 || info.rank >= info.world_size)
    return make_error(errc::invalid_argument,
                      "rank " + std::to_string(info.rank) + " is out of range for a world of "
                        + std::to_string(info.world_size));
  if (info.timeout.count() <= 0)
    return make_error(errc::invalid_argument, "the collective timeout must be positive");
  return caf::none;
}

std::string allreduce_name(size_t count, dtype type, reduce_op op) {
  return std::string{"allreduce "} + (op == reduce_op::average ? "(average) " : "") + "of "
         + std::to_string(count) + " " + to_string(type);
}

std::string broadcast_name(size_t bytes, int root) {
  return "broadcast of " + std::to_string(bytes) + " bytes from rank " + std::to_string(root);
}

std::string allgather_name(size_t bytes_per_rank) {
  return "allgather of " + std::to_string(bytes_per_rank) + " bytes per rank";
}

caf::error refuse_allreduce(const std::string& name, const std::string& backend,
                            const void* data, size_t count, dtype type) {
  if (type != dtype::float32 && type != dtype::float64 && type != dtype::float16)
    return make_error(errc::invalid_argument, name + " refused: the " + backend
                                                + " backend reduces float32, float64 "
                                                  "and float16");
  if (data == nullptr && count > 0)
    return make_error(errc::invalid_argument, name + " refused: data is null");
  return caf::none;
}

caf::error refuse_broadcast(const std::string& name, const void* data, size_t bytes, int root,
                            int size) {
  if (root < 0 || root >= size)
    return make_error(errc::invalid_argument,
                      name + " refused: the root must be in 0.." + std::to_string(size - 1));
  if (data == nullptr && bytes > 0)
    return make_error(errc::invalid_argument, name + " refused: data is null");
  return caf::none;
}

caf::error refuse_allgather(const std::string& name, const void* input, const void* output,
                            size_t bytes_per_rank) {
  if ((input == nullptr || output == nullptr) && bytes_per_rank > 0)
    return make_error(errc::invalid_argument, name + " refused: a buffer is null");
  return caf::none;
}

caf::error refuse_after_failure(const std::string& name, const caf::error& first_failure) {
  return make_error(errc::unavailable, name + " refused: the group is broken since an "
                                              "earlier operation failed ("
                                         + describe(first_failure) + ")");
}

} // namespace troupe::collectives
