// A measurer as an actor: owns one troupe-measure worker process (see
// compiler/tuning/measurer.hpp) and answers one measurement at a time. It
// blocks while a candidate builds and runs, so it is a detached actor: its
// own thread, off the scheduler's workers.
#pragma once

#include <chrono>
#include <string>

#include <caf/actor_system.hpp>

#include "messages/tuning_protocol.hpp"

namespace troupe::tuning {

/// `worker_path`: the troupe-measure program. A candidate that runs longer
/// than `run_timeout` (after compiling) is killed and recorded as a timeout.
/// `site` (e.g. the node's name) prefixes each record's device as
/// "site@host/cpu", so that measurers sharing a host stay apart in records.
tuning_measurer_actor spawn_measurer(caf::actor_system& sys, std::string worker_path,
                                     std::chrono::milliseconds run_timeout = std::chrono::seconds{10},
                                     std::string site = {});

/// The directory name of measurer `name`.
std::string measurer_directory_name(const std::string& name);

} // namespace troupe::tuning
