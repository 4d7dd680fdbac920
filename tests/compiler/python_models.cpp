#include "python_models.hpp"

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <sys/wait.h>

namespace troupe::compiler::testing {

python_models::python_models(const std::string& script, const std::string& tag) {
  auto pattern = "/tmp/" + tag + ".XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (!mkdtemp(buffer.data())) {
    error_ = "cannot create a temporary folder";
    return;
  }
  path_ = buffer.data();
  std::ofstream(path_ + "/models.py") << script;
  auto command = fmt::format("/usr/bin/python3 {0}/models.py {0} > {0}/python.log 2>&1", path_);
  int status = std::system(command.c_str());
  if (status != 0) {
    status = WIFEXITED(status) ? WEXITSTATUS(status) : status;
    std::ifstream log(path_ + "/python.log");
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    if (text.size() > 3000)
      text = "..." + text.substr(text.size() - 3000);
    error_ = fmt::format("generating the test models with /usr/bin/python3 (torch, torchvision and "
                         "onnx; apps/setup.sh installs python3-torch python3-torchvision "
                         "python3-onnx) failed with exit status {}:\n{}", status, text);
  }
}

python_models::~python_models() {
  if (!path_.empty())
    std::filesystem::remove_all(path_);
}

std::string python_models::file(const std::string& name) const {
  if (!error_.empty())
    BOOST_FAIL(error_);
  return path_ + "/" + name;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot open " << path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<float> read_floats(const std::string& path) {
  auto bytes = read_bytes(path);
  std::vector<float> result(bytes.size() / sizeof(float));
  std::memcpy(result.data(), bytes.data(), result.size() * sizeof(float));
  return result;
}

} // namespace troupe::compiler::testing
