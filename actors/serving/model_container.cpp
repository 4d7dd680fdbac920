#include "actors/serving/model_container.hpp"

#include <stdexcept>

#include <caf/all.hpp>

#include "messages/errors.hpp"

namespace troupe::serving {

namespace {

// A backend's exception is the backend's failure, not the actor's: turn it
// into an error for this batch and keep serving.
caf::expected<model_outputs> guarded_predict(model_backend& backend, const query_inputs& batch) {
  try {
    return backend.predict(batch);
  } catch (const std::logic_error& ex) {
    // invalid_argument, out_of_range, length_error, domain_error: the input.
    return make_error(errc::invalid_argument,
                      backend.describe() + " rejected the batch: " + ex.what());
  } catch (const std::exception& ex) {
    return make_error(errc::io_failure, backend.describe() + " failed: " + ex.what());
  } catch (...) {
    return make_error(errc::io_failure, backend.describe() + " failed with an unknown exception");
  }
}

model_container_actor::behavior_type container(model_container_actor::pointer,
                                               backend_ptr backend) {
  return {
    [backend](predict_atom, const query_inputs& batch) -> caf::result<model_outputs> {
      auto out = guarded_predict(*backend, batch);
      if (!out)
        return std::move(out.error());
      if (out->size() != batch.size())
        return make_error(errc::io_failure, backend->describe() + " answered "
                                              + std::to_string(out->size()) + " outputs for "
                                              + std::to_string(batch.size()) + " inputs");
      return std::move(*out);
    },
  };
}

} // namespace

model_container_actor spawn_model_container(caf::actor_system& sys, backend_ptr backend,
                                            bool own_thread) {
  if (own_thread)
    return sys.spawn<caf::detached>(container, std::move(backend));
  return sys.spawn(container, std::move(backend));
}

bool wants_own_thread(const model_spec& spec) {
  return spec.thread != "shared";
}

} // namespace troupe::serving
