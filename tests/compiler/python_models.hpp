// Test models written at run time by Debian's python (torch, torchvision,
// onnx; apps/setup.sh installs them): a script runs once per process into
// a temporary folder that is removed at exit.
#pragma once

#include <string>
#include <vector>

namespace troupe::compiler::testing {

class python_models {
public:
  /// Runs `script` (given the folder as argv[1]) with /usr/bin/python3.
  python_models(const std::string& script, const std::string& tag);
  ~python_models();
  python_models(const python_models&) = delete;
  python_models& operator=(const python_models&) = delete;

  /// The path of a generated file; fails the test (naming the packages to
  /// install and python's output) when the script failed.
  std::string file(const std::string& name) const;

private:
  std::string path_;
  std::string error_;
};

std::string read_bytes(const std::string& path);
std::vector<float> read_floats(const std::string& path);

} // namespace troupe::compiler::testing
