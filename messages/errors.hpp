// Troupe's error codes. Errors are values across actor and RPC boundaries:
// every caf::error that Troupe produces carries a sentence a user can act on.
#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace caf {
class actor_system_config;
}

namespace troupe {

/// The error category of every error Troupe itself produces.
constexpr caf::atom_value error_category = caf::atom("troupe");

enum class errc : uint8_t {
  not_found = 1,       ///< no such name, key, member or file
  already_exists,      ///< a name or key is taken
  invalid_argument,    ///< a request or input is malformed
  invalid_config,      ///< a configuration file or option is wrong
  timeout,             ///< a peer did not answer in time
  unavailable,         ///< a peer or resource cannot be reached
  io_failure,          ///< the disk or the network failed
  interface_mismatch,  ///< a peer speaks a different protocol
  join_refused,        ///< a member refused to let a node join
};

/// The code's name, e.g. "not_found".
const char* to_string(errc code);

/// Makes an error of Troupe's category whose context is `what`, a sentence.
caf::error make_error(errc code, std::string what);

/// Renders any error (Troupe's, CAF's sec or others) as one readable line,
/// e.g. "not_found: no actor named 'echo' in the cluster".
std::string describe(const caf::error& err);

/// True if `err` is Troupe's error `code`.
bool is(const caf::error& err, errc code);

/// Lets the actor system render Troupe errors in its own logs.
void register_error_category(caf::actor_system_config& cfg);

} // namespace troupe
