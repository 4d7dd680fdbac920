#include "messages/errors.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace troupe {

const char* to_string(errc code) {
  switch (code) {
    case errc::not_found: return "not_found";
    case errc::already_exists: return "already_exists";
    case errc::invalid_argument: return "invalid_argument";
    case errc::invalid_config: return "invalid_config";
    case errc::timeout: return "timeout";
    case errc::unavailable: return "unavailable";
    case errc::io_failure: return "io_failure";
    case errc::interface_mismatch: return "interface_mismatch";
    case errc::join_refused: return "join_refused";
  }
  return "unknown_error";
}

caf::error make_error(errc code, std::string what) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(what))};
}

namespace {

std::string context_text(const caf::message& ctx) {
  if (ctx.empty())
    return {};
  if (ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  return to_string(ctx);
}

} // namespace

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  std::string result;
  if (err.category() == error_category)
    result = to_string(static_cast<errc>(err.code()));
  else if (err.category() == caf::atom("system"))
    result = to_string(static_cast<caf::sec>(err.code()));
  else
    result = to_string(err.category()) + " error " + std::to_string(err.code());
  auto ctx = context_text(err.context());
  if (!ctx.empty()) {
    result += ": ";
    result += ctx;
  }
  return result;
}

bool is(const caf::error& err, errc code) {
  return err.category() == error_category
         && err.code() == static_cast<uint8_t>(code);
}

void register_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(error_category,
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           std::string result = to_string(static_cast<errc>(code));
                           auto text = context_text(ctx);
                           if (!text.empty())
                             result += ": " + text;
                           return result;
                         });
}

} // namespace troupe
