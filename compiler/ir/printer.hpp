// A readable text form of the IR, for debugging and for tests that look at
// what lowering produced (`print(func)` reads like C).
#pragma once

#include "compiler/ir/stmt.hpp"

#include <string>

namespace troupe::compiler {

std::string print(const expr& e);
std::string print(const stmt& s);
std::string print(const lowered_func& func);

} // namespace troupe::compiler
