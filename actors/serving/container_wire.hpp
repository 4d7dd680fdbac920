// The Cap'n Proto forms of what a model container exchanges
// (messages/container.capnp), and how an RPC failure becomes a Troupe error.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <kj/exception.h>

#include "messages/container.capnp.h"
#include "messages/serving_types.hpp"

namespace troupe::serving {

/// What a container says about itself (ModelContainer.info).
struct container_info {
  std::string name;
  uint32_t version = 0;
  input_kind kind = input_kind::doubles;
  /// Numbers per input the model takes; 0: any.
  uint64_t input_length = 0;
  uint32_t pid = 0;
};

/// Fills a batch's builder (sized to `inputs.size()`) from `inputs`.
void to_wire(const query_inputs& inputs, capnp::List<wire::Input>::Builder out);

/// Reads and validates a batch: an unknown kind gives invalid_argument
/// naming the input's index.
caf::expected<query_inputs> from_wire(capnp::List<wire::Input>::Reader in);

/// The description a container puts into the exception of a failed call:
/// "<errc>: <sentence>", so that the caller gets the same error back.
std::string to_exception_description(const caf::error& err);

/// The Troupe error of a failed RPC to the container `who`: a remote
/// "<errc>: <sentence>" keeps its code (also as the last line of a Python
/// traceback, "...ContainerError: <errc>: <sentence>", which is how pycapnp
/// sends the Python SDK's errors); a lost or refused connection is
/// unavailable; an unknown method is interface_mismatch; anything else from
/// the model is invalid_argument with its description.
caf::error from_exception(const kj::Exception& e, const std::string& who);

} // namespace troupe::serving
