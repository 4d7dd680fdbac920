#include "actors/serving/query_json.hpp"

#include <array>
#include <charconv>
#include <cfloat>
#include <cmath>
#include <cctype>
#include <optional>

#include <nlohmann/json.hpp>

#include "actors/serving/json_number.hpp"
#include "messages/errors.hpp"

namespace troupe::serving {

using json = nlohmann::json;

namespace {

/// Decodes base64 into `out`; "" on success, else what was wrong.
std::string decode_base64_into(std::string_view text, std::string& out);

caf::error invalid(std::string what) { return make_error(errc::invalid_argument, std::move(what)); }

/// Integers beyond 2^53 do not survive the trip through double.
constexpr double max_exact_int = 9007199254740992.0;

/// A JSON value in an error message, shortened so a huge input cannot
/// flood the client's error.
std::string show(const json& value) {
  auto text = value.dump();
  return text.size() <= 40 ? text : text.substr(0, 37) + "...";
}

caf::expected<json> parse_object(std::string_view body) {
  json doc;
  try {
    doc = json::parse(body.begin(), body.end());
  } catch (const json::exception& e) {
    // what() starts with "[json.exception.parse_error.101] "; the rest
    // names the position and the problem. A number beyond double's range
    // (1e400) is an out_of_range error, also the client's fault.
    std::string what = e.what();
    auto cut = what.find("] ");
    return invalid("malformed JSON: " + (cut == std::string::npos ? what : what.substr(cut + 2)));
  }
  if (!doc.is_object())
    return invalid(std::string("the request body must be a JSON object, got ")
                   + (doc.is_array() ? "an " : "a ") + doc.type_name());
  return doc;
}

std::string a_type(const json& value) {
  std::string name = value.type_name();
  bool vowel = name[0] == 'a' || name[0] == 'o';
  return (vowel ? "an " : "a ") + name;
}

/// Decodes one input named `name` ("input", "input_batch[3]").
caf::expected<query_input> parse_input(const json& value, input_kind kind,
                                       uint64_t expected_length, const std::string& name) {
  query_input result;
  result.kind = kind;
  switch (kind) {
    case input_kind::strings:
      if (!value.is_string())
        return invalid(name + " must be a string for app input type strings, got "
                       + a_type(value));
      result.text = value.get<std::string>();
      return result;
    case input_kind::bytes: {
      if (!value.is_string())
        return invalid(name + " must be a base64 string for app input type bytes, got "
                       + a_type(value));
      auto problem = decode_base64_into(value.get_ref<const std::string&>(), result.text);
      if (!problem.empty())
        return invalid(name + " is not valid base64: " + problem);
      return result;
    }
    case input_kind::doubles:
    case input_kind::floats:
    case input_kind::ints:
      break;
  }
  if (!value.is_array())
    return invalid(name + " must be an array of numbers for app input type " + to_string(kind)
                   + ", got " + a_type(value));
  if (expected_length != 0 && value.size() != expected_length)
    return invalid(name + " has " + std::to_string(value.size()) + " values, the app expects "
                   + std::to_string(expected_length));
  result.numbers.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const auto& element = value[i];
    auto where = name + "[" + std::to_string(i) + "]";
    if (!element.is_number())
      return invalid(where + " must be a number, got " + a_type(element));
    auto x = element.get<double>();
    if (kind == input_kind::ints) {
      if (std::trunc(x) != x)
        return invalid(where + " is " + show(element)
                       + ", not an integer (app input type ints)");
      if (std::fabs(x) > max_exact_int)
        return invalid(where + " is " + show(element)
                       + ", beyond the exactly representable integers (|x| <= 2^53)");
    } else if (kind == input_kind::floats && std::fabs(x) > FLT_MAX) {
      return invalid(where + " is " + show(element) + ", which does not fit a float");
    }
    result.numbers.push_back(x);
  }
  return result;
}

std::string label_text(const json& label) {
  if (label.is_string())
    return label.get<std::string>();
  if (label.is_number_float()) {
    auto x = label.get<double>();
    if (std::trunc(x) == x && std::fabs(x) <= max_exact_int)
      return std::to_string(static_cast<int64_t>(x));
  }
  return label.dump();
}

json prediction_json(const prediction& p) {
  json out;
  out["query_id"] = p.query_id;
  // nlohmann throws out_of_range even without exceptions for numbers
  // beyond double's range ("1e400"); such an output is embedded as text.
  json parsed;
  try {
    parsed = json::parse(p.output, nullptr, false);
  } catch (const json::exception&) {
    parsed = json::value_t::discarded;
  }
  if (!parsed.is_discarded() && !parsed.is_string())
    out["output"] = std::move(parsed);
  else
    out["output"] = p.output;
  out["default"] = p.is_default;
  if (p.is_default)
    out["default_explanation"] = p.default_explanation;
  out["confidence"] = p.confidence;
  out["models_used"] = p.models_used;
  if (!p.models_missing.empty())
    out["models_missing"] = p.models_missing;
  return out;
}

constexpr char base64_alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

} // namespace

namespace {

// -- fast paths ---------------------------------------------------------------
// The common request, {"input": [n, n, ...]}, and the common answer (one
// model, a numeric output) are decoded and rendered by hand: the JSON
// library's DOM costs more than the rest of a cached answer. Anything else
// (and any input the checks below would refuse) takes the general path,
// so errors and unusual forms behave exactly as before.

void skip_space(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
    ++i;
}

bool expect(std::string_view s, size_t& i, std::string_view token) {
  skip_space(s, i);
  if (s.substr(i, token.size()) != token)
    return false;
  i += token.size();
  return true;
}

/// Items separated by commas at s[i..], each read by `item` (false: not
/// a form the fast path takes).
template <class ReadItem>
bool read_comma_list(std::string_view s, size_t& i, ReadItem item) {
  for (;;) {
    skip_space(s, i);
    if (!item())
      return false;
    skip_space(s, i);
    if (i >= s.size() || s[i] != ',')
      return true;
    ++i;
  }
}

/// One array of numbers at s[i..] ("[n, n, ...]"), checked as the general
/// path would check it; false where that path should decide.
bool read_numeric_array(std::string_view s, size_t& i, input_kind kind, uint64_t expected_length,
                        query_input& input) {
  if (!expect(s, i, "["))
    return false;
  input = query_input{kind, {}, {}};
  input.numbers.reserve(expected_length > 0 ? expected_length : 32);
  skip_space(s, i);
  auto read_number = [&] {
    double x;
    if (!read_json_number(s, i, x))
      return false;
    if (kind == input_kind::ints && (std::trunc(x) != x || std::fabs(x) > max_exact_int))
      return false;
    if (kind == input_kind::floats && std::fabs(x) > FLT_MAX)
      return false;
    input.numbers.push_back(x);
    return true;
  };
  if (i < s.size() && s[i] != ']' && !read_comma_list(s, i, read_number))
    return false;
  if (!expect(s, i, "]"))
    return false;
  return expected_length == 0 || input.numbers.size() == expected_length;
}

/// {"input": [numbers]} or {"input_batch": [[numbers], ...]} (not empty).
std::optional<predict_request> fast_numeric_request(std::string_view s, input_kind kind,
                                                    uint64_t expected_length) {
  size_t i = 0;
  if (!expect(s, i, "{"))
    return std::nullopt;
  predict_request result;
  auto at_key = i;
  if (expect(s, i, "\"input\"")) {
    query_input input;
    if (!expect(s, i, ":") || !read_numeric_array(s, i, kind, expected_length, input))
      return std::nullopt;
    result.inputs.push_back(std::move(input));
  } else if (i = at_key; expect(s, i, "\"input_batch\"")) {
    auto read_row = [&] {
      query_input input;
      if (!read_numeric_array(s, i, kind, expected_length, input))
        return false;
      result.inputs.push_back(std::move(input));
      return true;
    };
    if (!expect(s, i, ":") || !expect(s, i, "[") || !read_comma_list(s, i, read_row)
        || !expect(s, i, "]"))
      return std::nullopt;
    result.batch = true;
  } else {
    return std::nullopt;
  }
  if (!expect(s, i, "}"))
    return std::nullopt;
  skip_space(s, i);
  if (i != s.size())
    return std::nullopt;
  return result;
}

bool is_ascii_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_plain_name(const std::string& s) {
  for (char c : s)
    if (!(is_ascii_alnum(c) || c == ':' || c == '.' || c == '_' || c == '-' || c == '#'))
      return false;
  return !s.empty();
}

/// The output's text if it is a JSON integer (what classifiers answer).
bool is_json_integer(const std::string& s) {
  if (s.empty() || s == "-0")
    return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i >= s.size() || s.size() > 18 || (s[i] == '0' && s.size() > i + 1))
    return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

/// Appends render_prediction's text for a plain answer to `out`, byte for
/// byte; false (and `out` as it was) if the answer is not plain. Appending
/// in place saves a string per row of a batch answer.
bool append_fast_prediction(const prediction& p, std::string& out) {
  if (p.is_default || !p.models_missing.empty() || p.confidence != 1.0 ||
      !is_json_integer(p.output))
    return false;
  auto at = out.size();
  out += "{\"confidence\":1.0,\"default\":false,\"models_used\":[";
  for (size_t i = 0; i < p.models_used.size(); ++i) {
    if (!is_plain_name(p.models_used[i])) {
      out.resize(at);
      return false;
    }
    out += i == 0 ? "\"" : ",\"";
    out += p.models_used[i];
    out += '"';
  }
  out += "],\"output\":";
  out += p.output;
  out += ",\"query_id\":";
  char id[24];
  auto end = std::to_chars(id, id + sizeof(id), p.query_id).ptr;
  out.append(id, end);
  out += '}';
  return true;
}

} // namespace

caf::expected<predict_request> parse_predict_request(std::string_view body, input_kind kind,
                                                     uint64_t expected_length) {
  if (kind == input_kind::doubles || kind == input_kind::floats || kind == input_kind::ints)
    if (auto fast = fast_numeric_request(body, kind, expected_length))
      return std::move(*fast);
  auto doc = parse_object(body);
  if (!doc)
    return doc.error();
  auto single = doc->find("input");
  auto batch = doc->find("input_batch");
  predict_request result;
  if (single != doc->end() && batch != doc->end())
    return invalid("the request has both \"input\" and \"input_batch\"; send one of them");
  if (single != doc->end()) {
    auto input = parse_input(*single, kind, expected_length, "input");
    if (!input)
      return input.error();
    result.inputs.push_back(std::move(*input));
    return result;
  }
  if (batch == doc->end())
    return invalid("the request has no \"input\" (or \"input_batch\")");
  if (!batch->is_array())
    return invalid("input_batch must be an array of inputs, got " + a_type(*batch));
  if (batch->empty())
    return invalid("input_batch is empty");
  result.batch = true;
  result.inputs.reserve(batch->size());
  for (size_t i = 0; i < batch->size(); ++i) {
    auto input = parse_input((*batch)[i], kind, expected_length,
                             "input_batch[" + std::to_string(i) + "]");
    if (!input)
      return input.error();
    result.inputs.push_back(std::move(*input));
  }
  return result;
}

caf::expected<feedback> parse_feedback(std::string_view body, input_kind kind,
                                       uint64_t expected_length) {
  auto doc = parse_object(body);
  if (!doc)
    return doc.error();
  feedback result;
  if (auto uid = doc->find("uid"); uid != doc->end()) {
    if (!uid->is_number_unsigned())
      return invalid("uid must be a non-negative integer, got " + show(*uid));
    result.uid = uid->get<uint64_t>();
  }
  auto input = doc->find("input");
  if (input == doc->end())
    return invalid("the update has no \"input\"");
  auto decoded = parse_input(*input, kind, expected_length, "input");
  if (!decoded)
    return decoded.error();
  result.input = std::move(*decoded);
  auto label = doc->find("label");
  if (label == doc->end())
    return invalid("the update has no \"label\"");
  if (!label->is_number() && !label->is_string())
    return invalid("label must be a number or a string, got " + a_type(*label));
  result.label = label_text(*label);
  return result;
}

std::string render_prediction(const prediction& p) {
  std::string out;
  if (append_fast_prediction(p, out))
    return out;
  return prediction_json(p).dump();
}

std::string render_batch(const predictions& ps) {
  // Plain answers by hand (as render_prediction does), byte for byte what
  // the JSON library writes.
  std::string out = "{\"batch_predictions\":[";
  out.reserve(ps.size() * 96);
  bool plain = true;
  for (size_t i = 0; plain && i < ps.size(); ++i) {
    if (i > 0)
      out += ',';
    plain = append_fast_prediction(ps[i], out);
  }
  if (plain)
    return out + "]}";
  json items = json::array();
  for (const auto& p : ps)
    items.push_back(prediction_json(p));
  return json{{"batch_predictions", std::move(items)}}.dump();
}

std::string render_error(std::string_view message) {
  return json{{"error", std::string(message)}}.dump();
}

caf::expected<std::string> decode_base64(std::string_view text) {
  std::string out;
  auto problem = decode_base64_into(text, out);
  if (!problem.empty())
    return invalid("invalid base64: " + problem);
  return out;
}

namespace {

std::string decode_base64_into(std::string_view text, std::string& out) {
  std::array<int, 256> value;
  value.fill(-1);
  for (int i = 0; i < 64; ++i)
    value[static_cast<unsigned char>(base64_alphabet[i])] = i;
  auto data = text;
  size_t padding = 0;
  while (!data.empty() && data.back() == '=' && padding < 2) {
    data.remove_suffix(1);
    ++padding;
  }
  for (size_t i = 0; i < data.size(); ++i)
    if (value[static_cast<unsigned char>(data[i])] < 0)
      return "character " + std::to_string(i) + " is not in the base64 alphabet";
  if (data.size() % 4 == 1)
    return "its length leaves a dangling character";
  if (padding > 0 && text.size() % 4 != 0)
    return "its padding does not complete a group of four characters";
  out.clear();
  out.reserve(data.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : data) {
    acc = (acc << 6) | static_cast<uint32_t>(value[static_cast<unsigned char>(c)]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return {};
}

} // namespace

std::string encode_base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16)
                 | (static_cast<unsigned char>(bytes[i + 1]) << 8)
                 | static_cast<unsigned char>(bytes[i + 2]);
    out += base64_alphabet[(n >> 18) & 63];
    out += base64_alphabet[(n >> 12) & 63];
    out += base64_alphabet[(n >> 6) & 63];
    out += base64_alphabet[n & 63];
  }
  if (size_t rest = bytes.size() - i; rest > 0) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2)
      n |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += base64_alphabet[(n >> 18) & 63];
    out += base64_alphabet[(n >> 12) & 63];
    out += rest == 2 ? base64_alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

} // namespace troupe::serving
