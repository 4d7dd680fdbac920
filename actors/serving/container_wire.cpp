#include "actors/serving/container_wire.hpp"

#include "messages/errors.hpp"

namespace troupe::serving {

void to_wire(const query_inputs& inputs, capnp::List<wire::Input>::Builder out) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& x = inputs[i];
    auto b = out[static_cast<unsigned>(i)];
    b.setKind(static_cast<uint8_t>(x.kind));
    if (!x.numbers.empty()) {
      auto numbers = b.initNumbers(static_cast<unsigned>(x.numbers.size()));
      for (size_t j = 0; j < x.numbers.size(); ++j)
        numbers.set(static_cast<unsigned>(j), x.numbers[j]);
    }
    if (!x.text.empty())
      b.setText(capnp::Data::Reader{reinterpret_cast<const capnp::byte*>(x.text.data()),
                                    x.text.size()});
  }
}

caf::expected<query_inputs> from_wire(capnp::List<wire::Input>::Reader in) {
  query_inputs result;
  result.reserve(in.size());
  for (unsigned i = 0; i < in.size(); ++i) {
    auto r = in[i];
    if (r.getKind() > static_cast<uint8_t>(input_kind::bytes))
      return make_error(errc::invalid_argument,
                        "input " + std::to_string(i) + " has unknown kind "
                          + std::to_string(r.getKind()) + " (0 to 4 are defined)");
    query_input x;
    x.kind = static_cast<input_kind>(r.getKind());
    auto numbers = r.getNumbers();
    x.numbers.reserve(numbers.size());
    for (auto v : numbers)
      x.numbers.push_back(v);
    auto text = r.getText();
    x.text.assign(reinterpret_cast<const char*>(text.begin()), text.size());
    result.push_back(std::move(x));
  }
  return result;
}

std::string to_exception_description(const caf::error& err) {
  return describe(err);
}

namespace {

// capnp prefixes what crossed the wire.
constexpr std::string_view remote_prefix = "remote exception: ";

// What apps/python/troupe_container.py raises, as a traceback prints it.
constexpr std::string_view python_error_marker = "ContainerError: ";

std::string_view last_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.remove_suffix(1);
  auto nl = text.rfind('\n');
  return nl == std::string_view::npos ? text : text.substr(nl + 1);
}

// The errc whose name starts `text` followed by ": ", if any.
bool parse_errc(std::string_view text, errc& code, std::string_view& rest) {
  for (uint8_t i = 1; i <= static_cast<uint8_t>(errc::join_refused); ++i) {
    std::string_view name = to_string(static_cast<errc>(i));
    if (text.size() > name.size() + 2 && text.substr(0, name.size()) == name
        && text.substr(name.size(), 2) == ": ") {
      code = static_cast<errc>(i);
      rest = text.substr(name.size() + 2);
      return true;
    }
  }
  return false;
}

} // namespace

caf::error from_exception(const kj::Exception& e, const std::string& who) {
  std::string_view text{e.getDescription().cStr()};
  switch (e.getType()) {
    case kj::Exception::Type::DISCONNECTED:
      return make_error(errc::unavailable, who + " cannot be reached: " + std::string{text});
    case kj::Exception::Type::OVERLOADED:
      return make_error(errc::unavailable, who + " is overloaded: " + std::string{text});
    case kj::Exception::Type::UNIMPLEMENTED:
      return make_error(errc::interface_mismatch,
                        who + " does not implement the call: " + std::string{text});
    default:
      break;
  }
  if (text.substr(0, remote_prefix.size()) == remote_prefix) {
    text.remove_prefix(remote_prefix.size());
    errc code;
    std::string_view rest;
    if (parse_errc(text, code, rest))
      return make_error(code, std::string{rest});
    // pycapnp sends a Python traceback; the SDK's error is its last line.
    auto last = last_line(text);
    if (auto at = last.find(python_error_marker); at != std::string_view::npos
        && parse_errc(last.substr(at + python_error_marker.size()), code, rest))
      return make_error(code, std::string{rest});
    return make_error(errc::invalid_argument, who + " failed the batch: " + std::string{text});
  }
  // A local failure (e.g. connect() refused before any byte crossed).
  return make_error(errc::unavailable, who + " cannot be reached: " + std::string{text});
}

} // namespace troupe::serving
