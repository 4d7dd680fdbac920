// Precompiled header for every TU that uses CAF: parsing caf/all.hpp costs
// seconds per TU otherwise.
#pragma once

#include <caf/all.hpp>
#include <caf/io/all.hpp>
