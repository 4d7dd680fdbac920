// Atoms: the verbs of Troupe's typed messages. CAF's own atoms (get, put,
// delete, join, ok, tick, ...) are reused where they fit; these are the rest.
#pragma once

#include <caf/atom.hpp>

namespace troupe {

// -- cluster membership ------------------------------------------------------
using hello_atom = caf::atom_constant<caf::atom("t_hello")>;
using member_up_atom = caf::atom_constant<caf::atom("t_memup")>;
using members_atom = caf::atom_constant<caf::atom("t_members")>;
using gossip_atom = caf::atom_constant<caf::atom("t_gossip")>;
using join_cluster_atom = caf::atom_constant<caf::atom("t_joincl")>;

// -- named-actor directory ---------------------------------------------------
using register_atom = caf::atom_constant<caf::atom("t_reg")>;
using unregister_atom = caf::atom_constant<caf::atom("t_unreg")>;
using lookup_atom = caf::atom_constant<caf::atom("t_lookup")>;
using names_atom = caf::atom_constant<caf::atom("t_names")>;
using directory_atom = caf::atom_constant<caf::atom("t_dir")>;

// -- state store --------------------------------------------------------------
using scan_atom = caf::atom_constant<caf::atom("t_scan")>;

// -- echo service ---------------------------------------------------------------
using echo_atom = caf::atom_constant<caf::atom("t_echo")>;

// -- tuning ---------------------------------------------------------------------
using measure_atom = caf::atom_constant<caf::atom("t_measure")>;
using train_atom = caf::atom_constant<caf::atom("t_train")>;
using propose_atom = caf::atom_constant<caf::atom("t_propose")>;
using model_atom = caf::atom_constant<caf::atom("t_model")>;

} // namespace troupe
