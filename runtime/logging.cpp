#include "runtime/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace troupe {

void init_logging(const std::string& node_name, const std::string& level) {
  auto logger = spdlog::get("troupe");
  if (!logger)
    logger = spdlog::stderr_color_mt("troupe");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ node=" + node_name + " %v");
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

} // namespace troupe
