// The one exception type of the compiler: an illegal schedule, a shape
// mismatch, an unsupported operator. Its message names what was wrong.
#pragma once

#include <stdexcept>
#include <string>

namespace troupe::compiler {

class compile_error : public std::runtime_error {
public:
  explicit compile_error(const std::string& what) : std::runtime_error(what) {}
};

} // namespace troupe::compiler
