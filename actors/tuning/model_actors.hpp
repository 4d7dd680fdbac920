// The cost-model and explorer actors of one tuning task. Both live in the
// tuner's process: the cost model retrains XGBoost on every record after
// each round and hands out snapshots; the explorer scores its annealing
// chains with the latest snapshot and proposes the next batch. Training
// blocks for a while, so the cost model is a detached actor.
#pragma once

#include <cstdint>

#include <caf/actor_system.hpp>

#include "compiler/tuning/search_space.hpp"
#include "messages/tuning_protocol.hpp"

namespace troupe::tuning {

cost_model_actor spawn_cost_model(caf::actor_system& sys, compiler::tuning_task task, uint64_t seed);

/// `random`: never score with a model (the random-search baseline). Configs
/// the template refuses (config_refusal) are never proposed; a model-guided
/// explorer proposes the template's default config first.
explorer_actor spawn_explorer(caf::actor_system& sys, compiler::tuning_task task, uint64_t seed,
                              bool random);

/// "[8,32,4,1,0,0]" and back.
std::string config_to_json(const compiler::tuning_config& config);
compiler::tuning_config config_from_json(const std::string& text);

} // namespace troupe::tuning
