// Clipper's REST JSON (https://clipper.ai), decoded into the serving
// vocabulary and rendered back:
//   POST /<app>/predict  {"input": [...]}  or  {"input_batch": [[...], ...]}
//   POST /<app>/update   {"uid": n, "input": [...], "label": 7 | "cat"}
// An input is a JSON array of numbers for the numeric kinds, a JSON string
// for strings, and a base64 string for bytes (decoded here).
//
// Every error is errc::invalid_argument whose sentence names what was wrong,
// so the frontend can hand it to the client as-is in a 400.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "messages/serving_types.hpp"

namespace troupe::serving {

/// A decoded predict request: one input, or a batch of them.
struct predict_request {
  bool batch = false;   ///< true for "input_batch"
  query_inputs inputs;  ///< one element unless batch
};

/// Decodes a predict body for an app of input type `kind`. For the numeric
/// kinds, `expected_length` (0: any) is the number of values every input
/// must have; it is ignored for strings and bytes.
caf::expected<predict_request> parse_predict_request(std::string_view body, input_kind kind,
                                                     uint64_t expected_length);

/// Decodes an update body. "uid" is optional (0: shared state); "label" is a
/// number or a string, stored as text (a number in its shortest form:
/// 7 -> "7", 7.0 -> "7", 0.5 -> "0.5").
caf::expected<feedback> parse_feedback(std::string_view body, input_kind kind,
                                       uint64_t expected_length);

/// {"query_id", "output", "default", "default_explanation" (only when
/// default), "confidence", "models_used", "models_missing" (only when not
/// empty)}. An output that is a JSON number, array, object, true, false or
/// null is embedded as JSON; anything else (a JSON string included) is
/// embedded as a JSON string holding the output's text unchanged.
std::string render_prediction(const prediction& p);

/// {"batch_predictions": [...]}, each element as render_prediction's.
std::string render_batch(const predictions& ps);

/// {"error": message}
std::string render_error(std::string_view message);

/// Decodes standard base64 (RFC 4648 alphabet, '=' padding optional).
/// invalid_argument naming the first bad character's position otherwise.
caf::expected<std::string> decode_base64(std::string_view text);

/// Encodes standard base64 with padding (for clients and tests).
std::string encode_base64(std::string_view bytes);

} // namespace troupe::serving
