// The serving manager: the one actor that owns which apps and models exist,
// which version of each model is current, how many replicas serve it, and
// which models each app uses. The admin REST API and `troupe serve`
// subcommands are thin layers over it; a C++ client can talk to it
// directly. Every change is persisted before it is acknowledged.
#pragma once

#include <string>

#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/serving_protocol.hpp"
#include "messages/serving_specs.hpp"

namespace troupe {

using add_app_atom = caf::atom_constant<caf::atom("t_addapp")>;
using remove_app_atom = caf::atom_constant<caf::atom("t_rmapp")>;
using add_model_atom = caf::atom_constant<caf::atom("t_addmdl")>;
using remove_model_atom = caf::atom_constant<caf::atom("t_rmmdl")>;
using link_atom = caf::atom_constant<caf::atom("t_link")>;
using unlink_atom = caf::atom_constant<caf::atom("t_unlink")>;
using set_version_atom = caf::atom_constant<caf::atom("t_setver")>;
using set_replicas_atom = caf::atom_constant<caf::atom("t_setrep")>;
using list_atom = caf::atom_constant<caf::atom("t_list")>;

/// Errors: invalid_argument for a bad spec or a refused change (its
/// sentence gives the reason, e.g. that an app would be left without
/// models), not_found for an unknown app, model or version, already_exists
/// for a taken name or version, io_failure when the store failed (nothing
/// changed then).
using serving_manager_actor = caf::typed_actor<
  caf::replies_to<add_app_atom, app_spec>::with<caf::ok_atom>,
  caf::replies_to<remove_app_atom, std::string>::with<caf::ok_atom>,
  /// Adds a version and makes it current (Clipper's deploy): its replicas
  /// start, apps linking the model switch to it, the old version's stop.
  caf::replies_to<add_model_atom, model_spec>::with<caf::ok_atom>,
  caf::replies_to<remove_model_atom, std::string>::with<caf::ok_atom>,
  /// (app, model)
  caf::replies_to<link_atom, std::string, std::string>::with<caf::ok_atom>,
  caf::replies_to<unlink_atom, std::string, std::string>::with<caf::ok_atom>,
  /// (model, version): rollback or roll forward to a stored version.
  caf::replies_to<set_version_atom, std::string, uint32_t>::with<caf::ok_atom>,
  /// (model, replicas) of its current version.
  caf::replies_to<set_replicas_atom, std::string, uint32_t>::with<caf::ok_atom>,
  /// The whole state as the admin API's JSON (see serving_manager.hpp).
  caf::replies_to<list_atom>::with<std::string>,
  /// Every running batcher's stats.
  caf::replies_to<stats_atom>::with<batcher_stats_list>>;

} // namespace troupe
