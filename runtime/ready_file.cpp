#include "runtime/ready_file.hpp"

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "messages/errors.hpp"

namespace troupe {

caf::error write_ready_file(const std::string& path, const ready_info& info) {
  nlohmann::json doc{{"name", info.name},         {"host", info.host},
                     {"port", info.port},         {"metrics_port", info.metrics_port},
                     {"pid", info.pid}};
  auto tmp = path + ".tmp";
  {
    std::ofstream out{tmp};
    if (!out)
      return make_error(errc::io_failure, "cannot write ready file '" + tmp + "'");
    out << doc.dump() << '\n';
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return make_error(errc::io_failure, "cannot rename '" + tmp + "' to '" + path + "'");
  return caf::none;
}

caf::expected<ready_info> read_ready_file(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return make_error(errc::not_found, "no ready file '" + path + "' yet");
  try {
    auto doc = nlohmann::json::parse(in);
    ready_info info;
    info.name = doc.at("name").get<std::string>();
    info.host = doc.at("host").get<std::string>();
    info.port = doc.at("port").get<uint16_t>();
    info.metrics_port = doc.at("metrics_port").get<int32_t>();
    info.pid = doc.at("pid").get<int32_t>();
    return info;
  } catch (const std::exception& e) {
    return make_error(errc::invalid_argument,
                      "ready file '" + path + "' is malformed: " + e.what());
  }
}

} // namespace troupe
