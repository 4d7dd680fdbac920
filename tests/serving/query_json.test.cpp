// The Clipper JSON codec: every input kind decodes, every malformed request
// is refused with a sentence naming what was wrong, and predictions render
// to JSON that parses back to what they hold.
#define BOOST_TEST_MODULE query_json
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>
#include <random>

#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "actors/serving/json_number.hpp"
#include "actors/serving/query_json.hpp"
#include "messages/errors.hpp"
#include "tests/support/test_support.hpp"

using namespace troupe;
using namespace troupe::serving;
using json = nlohmann::json;

namespace {

/// The sentence of an invalid_argument error (fails the test otherwise).
template <class T>
std::string refusal(const caf::expected<T>& x) {
  BOOST_REQUIRE_MESSAGE(!x, "expected an error");
  BOOST_CHECK_MESSAGE(is(x.error(), errc::invalid_argument), describe(x.error()));
  return describe(x.error());
}

bool contains(const std::string& text, const std::string& part) {
  bool found = text.find(part) != std::string::npos;
  BOOST_TEST_MESSAGE("'" << text << "' contains '" << part << "'? " << found);
  return found;
}

} // namespace

BOOST_AUTO_TEST_SUITE(decoding)

BOOST_AUTO_TEST_CASE(doubles_decode_from_an_array_of_numbers) {
  auto r = parse_predict_request(R"({"input": [1.5, -2, 3e2]})", input_kind::doubles, 3);
  BOOST_REQUIRE_MESSAGE(r, test::why(r));
  BOOST_CHECK(!r->batch);
  BOOST_REQUIRE_EQUAL(r->inputs.size(), 1u);
  BOOST_CHECK(r->inputs[0].kind == input_kind::doubles);
  BOOST_CHECK((r->inputs[0].numbers == std::vector<double>{1.5, -2, 300}));
}

BOOST_AUTO_TEST_CASE(floats_and_ints_decode_and_any_length_is_taken_when_none_is_expected) {
  auto f = parse_predict_request(R"({"input": [0.25, 1]})", input_kind::floats, 0);
  BOOST_REQUIRE_MESSAGE(f, test::why(f));
  BOOST_CHECK((f->inputs[0].numbers == std::vector<double>{0.25, 1}));
  auto i = parse_predict_request(R"({"input": [7, -3, 2.0, 9007199254740992]})",
                                 input_kind::ints, 0);
  BOOST_REQUIRE_MESSAGE(i, test::why(i));
  BOOST_CHECK((i->inputs[0].numbers == std::vector<double>{7, -3, 2, 9007199254740992.0}));
  BOOST_CHECK(i->inputs[0].kind == input_kind::ints);
}

BOOST_AUTO_TEST_CASE(strings_decode_from_a_json_string) {
  auto r = parse_predict_request(R"({"input": "h\u00e9llo \"world\""})", input_kind::strings, 64);
  BOOST_REQUIRE_MESSAGE(r, test::why(r));
  BOOST_CHECK_EQUAL(r->inputs[0].text, "h\xc3\xa9llo \"world\"");
  BOOST_CHECK(r->inputs[0].numbers.empty());
}

BOOST_AUTO_TEST_CASE(bytes_decode_from_base64) {
  std::string raw("\x00\x01\xfe\xff\x80zq", 7);
  auto body = json{{"input", encode_base64(raw)}}.dump();
  auto r = parse_predict_request(body, input_kind::bytes, 0);
  BOOST_REQUIRE_MESSAGE(r, test::why(r));
  BOOST_CHECK_EQUAL(r->inputs[0].text, raw);
  BOOST_CHECK(r->inputs[0].kind == input_kind::bytes);
  // RFC 4648 test vectors, with and without padding.
  BOOST_CHECK_EQUAL(encode_base64("foob"), "Zm9vYg==");
  BOOST_CHECK_EQUAL(*decode_base64("Zm9vYg=="), "foob");
  BOOST_CHECK_EQUAL(*decode_base64("Zm9vYg"), "foob");
  BOOST_CHECK_EQUAL(*decode_base64("Zm9vYmFy"), "foobar");
  BOOST_CHECK_EQUAL(*decode_base64(""), "");
}

BOOST_AUTO_TEST_CASE(a_batch_decodes_every_input_in_order) {
  auto r = parse_predict_request(R"({"input_batch": [[1, 2], [3, 4], [5, 6]]})",
                                 input_kind::doubles, 2);
  BOOST_REQUIRE_MESSAGE(r, test::why(r));
  BOOST_CHECK(r->batch);
  BOOST_REQUIRE_EQUAL(r->inputs.size(), 3u);
  BOOST_CHECK((r->inputs[2].numbers == std::vector<double>{5, 6}));
  auto s = parse_predict_request(R"({"input_batch": ["a", "b"]})", input_kind::strings, 0);
  BOOST_REQUIRE_MESSAGE(s, test::why(s));
  BOOST_CHECK_EQUAL(s->inputs[1].text, "b");
}

BOOST_AUTO_TEST_CASE(feedback_decodes_uid_input_and_label_as_text) {
  auto f = parse_feedback(R"({"uid": 42, "input": [1, 2], "label": 7})", input_kind::ints, 2);
  BOOST_REQUIRE_MESSAGE(f, test::why(f));
  BOOST_CHECK_EQUAL(f->uid, 42u);
  BOOST_CHECK((f->input.numbers == std::vector<double>{1, 2}));
  BOOST_CHECK_EQUAL(f->label, "7");
  BOOST_CHECK_EQUAL(parse_feedback(R"({"input": [1], "label": 7.0})", input_kind::doubles, 0)
                      ->label, "7");
  BOOST_CHECK_EQUAL(parse_feedback(R"({"input": [1], "label": 0.5})", input_kind::doubles, 0)
                      ->label, "0.5");
  auto s = parse_feedback(R"({"input": "x", "label": "cat"})", input_kind::strings, 0);
  BOOST_REQUIRE_MESSAGE(s, test::why(s));
  BOOST_CHECK_EQUAL(s->uid, 0u);
  BOOST_CHECK_EQUAL(s->label, "cat");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(numbers_decode_the_same_in_every_json_spelling) {
  // The common form is decoded by hand; these spellings must agree with
  // the JSON library, and what JSON forbids must still be refused.
  for (auto body : {R"({"input":[0,-0.5,1e3,2E-2,12.25]})",
                    " {\n \"input\" : [ 0 , -0.5 , 1e3 , 2E-2 , 12.25 ] } ",
                    R"({"input":[0,-0.5,1000,0.02,12.25],"extra":1})"}) {
    auto r = parse_predict_request(body, input_kind::doubles, 0);
    BOOST_REQUIRE_MESSAGE(r, body << ": " << test::why(r));
    BOOST_CHECK((r->inputs[0].numbers == std::vector<double>{0, -0.5, 1000, 0.02, 12.25}));
  }
  auto empty = parse_predict_request(R"({"input":[]})", input_kind::doubles, 0);
  BOOST_REQUIRE(empty);
  BOOST_CHECK(empty->inputs[0].numbers.empty());
  for (auto bad : {R"({"input":[1.]})", R"({"input":[01]})", R"({"input":[.5]})",
                   R"({"input":[1e]})", R"({"input":[1,]})", R"({"input":[1] x})",
                   R"({"input":[NaN]})", R"({"input":[1e400]})"})
    BOOST_CHECK_MESSAGE(!parse_predict_request(bad, input_kind::doubles, 0), bad);
}

BOOST_AUTO_TEST_CASE(numbers_decode_to_the_same_bits_as_from_chars) {
  // The hand decoder computes short numbers itself and gives long or huge
  // ones to from_chars; either way the double must be from_chars' to the
  // bit, in every way clients print numbers.
  std::mt19937_64 gen{42};
  std::uniform_real_distribution<double> unit{-1, 1};
  std::uniform_int_distribution<int> exponent{-30, 30};
  std::vector<std::string> texts = {"0", "-0", "1", "0.1", "0.30000000000000004", "123456789012345",
                                    "1234567890123456", "12345678901234567890123", "9007199254740993",
                                    "1e22", "1e23", "1e-22", "1e-23", "0.000001", "4.9e-324",
                                    "1.7976931348623157e308", "0.0000000000000000000000000001",
                                    "100000000000000000000000", "2.5E+10", "7e-0"};
  char text[64];
  for (int k = 0; k < 4000; ++k) {
    auto x = unit(gen) * std::pow(10.0, exponent(gen));
    const char* formats[] = {"%.6f", "%.15g", "%.17g", "%.3e", "%.10f", "%.0f"};
    std::snprintf(text, sizeof(text), formats[k % 6], x);
    texts.push_back(text);
  }
  std::string body = "{\"input\":[";
  for (size_t k = 0; k < texts.size(); ++k)
    body += (k ? "," : "") + texts[k];
  body += "]}";
  auto r = parse_predict_request(body, input_kind::doubles, 0);
  BOOST_REQUIRE_MESSAGE(r, test::why(r));
  BOOST_REQUIRE_EQUAL(r->inputs[0].numbers.size(), texts.size());
  size_t differing = 0;
  for (size_t k = 0; k < texts.size(); ++k) {
    double expected = 0;
    std::from_chars(texts[k].data(), texts[k].data() + texts[k].size(), expected);
    auto got = r->inputs[0].numbers[k];
    if (std::memcmp(&got, &expected, sizeof(double)) != 0 && ++differing <= 5)
      BOOST_ERROR(texts[k] << " decoded as " << got << ", from_chars gives " << expected);
  }
  BOOST_CHECK_EQUAL(differing, 0u);
}

BOOST_AUTO_TEST_CASE(digit_runs_of_every_length_read_as_from_chars_reads_them_wherever_they_end) {
  // read_json_number takes digits eight bytes at a time while eight bytes
  // are left, then one at a time: every run length, ending at the end of the
  // text or before any other byte, must give from_chars' double and stop
  // exactly after the number.
  std::mt19937_64 gen{7};
  std::uniform_int_distribution<int> digit{0, 9};
  auto digits = [&](int n, bool leading_nonzero) {
    std::string d;
    for (int k = 0; k < n; ++k)
      d += static_cast<char>('0' + ((k == 0 && leading_nonzero) ? 1 + digit(gen) % 9 : digit(gen)));
    return d;
  };
  size_t checked = 0;
  for (int whole = 0; whole <= 22; ++whole)
    for (int fraction = -1; fraction <= 22; ++fraction)
      for (auto suffix : {"", ",", "]", " 12345678", "e5", "\xfa\xfa\xfa\xfa\xfa\xfa\xfa\xfa"}) {
        std::string number = whole == 0 ? "0" : digits(whole, true);
        if (fraction >= 0)
          number += "." + digits(fraction == 0 ? 1 : fraction, false);
        if (whole % 3 == 1)
          number = "-" + number;
        auto text = number + suffix;
        size_t i = 0;
        double got = 0;
        bool ok = read_json_number(text, i, got);
        std::string_view read = text;
        read = read.substr(0, i);
        double expected = 0;
        std::from_chars(number.data(), number.data() + number.size(), expected);
        if (std::string_view{suffix}.substr(0, 1) == "e") {  // the exponent belongs to the number
          auto whole_text = number + suffix;
          std::from_chars(whole_text.data(), whole_text.data() + whole_text.size(), expected);
          number = whole_text;
        }
        BOOST_REQUIRE_MESSAGE(ok, "'" << text << "' was not read");
        BOOST_REQUIRE_MESSAGE(read == number, "'" << text << "' read as '" << read << "'");
        BOOST_REQUIRE_MESSAGE(std::memcmp(&got, &expected, sizeof(double)) == 0,
                              "'" << text << "' decoded as " << got << ", from_chars gives "
                                  << expected);
        ++checked;
      }
  BOOST_CHECK_EQUAL(checked, 23u * 24u * 6u);
  // Bytes that only look like digits to a careless mask are not digits.
  for (std::string text : {"12/", "12:", "12\x7f", "12\xb9", "12\xff"}) {
    size_t i = 0;
    double got = 0;
    BOOST_CHECK(read_json_number(text, i, got));
    BOOST_CHECK_EQUAL(i, 2u);
    BOOST_CHECK_EQUAL(got, 12.0);
  }
}

BOOST_AUTO_TEST_CASE(a_numeric_batch_decodes_the_same_in_every_json_spelling) {
  // input_batch of numbers is decoded by hand too; it must agree with the
  // JSON library's path, which still decides every refusal.
  for (auto body : {R"({"input_batch":[[1,2],[3.5,-4e1]]})",
                    " { \"input_batch\" : [ [ 1 , 2 ] ,\n [ 3.5 , -4e1 ] ] } ",
                    R"({"input_batch":[[1,2],[3.5,-40]],"extra":true})"}) {
    auto r = parse_predict_request(body, input_kind::doubles, 2);
    BOOST_REQUIRE_MESSAGE(r, body << ": " << test::why(r));
    BOOST_CHECK(r->batch);
    BOOST_REQUIRE_EQUAL(r->inputs.size(), 2u);
    BOOST_CHECK((r->inputs[1].numbers == std::vector<double>{3.5, -40}));
  }
  BOOST_CHECK(contains(refusal(parse_predict_request(R"({"input_batch":[[1,2],[3]]})",
                                                     input_kind::doubles, 2)),
                       "input_batch[1] has 1 values, the app expects 2"));
  BOOST_CHECK(contains(refusal(parse_predict_request(R"({"input_batch":[]})", input_kind::doubles, 0)),
                       "input_batch is empty"));
  for (auto bad : {R"({"input_batch":[[1],]})", R"({"input_batch":[[1]] x})",
                   R"({"input_batch":[[1.]]})", R"({"input_batch":[[1],[2]})"})
    BOOST_CHECK_MESSAGE(!parse_predict_request(bad, input_kind::doubles, 0), bad);
}

BOOST_AUTO_TEST_SUITE(refusals)

BOOST_AUTO_TEST_CASE(malformed_json_is_refused_with_its_position) {
  auto msg = refusal(parse_predict_request(R"({"input": [1, 2,)", input_kind::doubles, 0));
  BOOST_CHECK(contains(msg, "malformed JSON"));
  BOOST_CHECK(contains(msg, "column"));
  BOOST_CHECK(contains(refusal(parse_feedback("", input_kind::doubles, 0)), "malformed JSON"));
}

BOOST_AUTO_TEST_CASE(a_body_that_is_not_an_object_is_refused) {
  BOOST_CHECK(contains(refusal(parse_predict_request("[1, 2]", input_kind::doubles, 0)),
                       "must be a JSON object, got an array"));
}

BOOST_AUTO_TEST_CASE(a_missing_input_is_refused) {
  BOOST_CHECK(contains(refusal(parse_predict_request(R"({"inptu": [1]})", input_kind::doubles, 0)),
                       "no \"input\""));
  BOOST_CHECK(contains(refusal(parse_feedback(R"({"label": 1})", input_kind::doubles, 0)),
                       "no \"input\""));
  BOOST_CHECK(contains(refusal(parse_predict_request(R"({"input": [1], "input_batch": [[1]]})",
                                                     input_kind::doubles, 0)),
                       "both"));
}

BOOST_AUTO_TEST_CASE(an_input_of_the_wrong_type_is_refused_naming_both_types) {
  BOOST_CHECK(contains(refusal(parse_predict_request(R"({"input": "abc"})", input_kind::doubles, 0)),
                       "input must be an array of numbers for app input type doubles, got a string"));
  BOOST_CHECK(contains(refusal(parse_predict_request(R"({"input": [1]})", input_kind::strings, 0)),
                       "input must be a string for app input type strings, got an array"));
  BOOST_CHECK(contains(refusal(parse_predict_request(R"({"input": 5})", input_kind::bytes, 0)),
                       "base64 string for app input type bytes, got a number"));
}

BOOST_AUTO_TEST_CASE(an_element_that_is_not_a_number_is_refused_by_index) {
  BOOST_CHECK(contains(
    refusal(parse_predict_request(R"({"input": [1, 2, "3"]})", input_kind::doubles, 0)),
    "input[2] must be a number, got a string"));
  BOOST_CHECK(contains(
    refusal(parse_predict_request(R"({"input": [true]})", input_kind::floats, 0)),
    "input[0] must be a number, got a boolean"));
}

BOOST_AUTO_TEST_CASE(the_wrong_length_is_refused_naming_both_lengths) {
  BOOST_CHECK(contains(
    refusal(parse_predict_request(R"({"input": [1, 2, 3]})", input_kind::doubles, 64)),
    "input has 3 values, the app expects 64"));
  BOOST_CHECK(contains(
    refusal(parse_predict_request(R"({"input_batch": [[1, 2], [3]]})", input_kind::doubles, 2)),
    "input_batch[1] has 1 values, the app expects 2"));
}

BOOST_AUTO_TEST_CASE(ints_must_be_integral_and_floats_must_fit) {
  BOOST_CHECK(contains(refusal(parse_predict_request(R"({"input": [1, 2.5]})", input_kind::ints, 0)),
                       "input[1] is 2.5, not an integer"));
  BOOST_CHECK(contains(refusal(parse_predict_request(R"({"input": [1e300]})", input_kind::floats, 0)),
                       "does not fit a float"));
  BOOST_CHECK(contains(refusal(parse_predict_request(R"({"input": [1e300]})", input_kind::ints, 0)),
                       "2^53"));
}

BOOST_AUTO_TEST_CASE(bad_base64_is_refused) {
  BOOST_CHECK(contains(refusal(parse_predict_request(R"({"input": "ab$d"})", input_kind::bytes, 0)),
                       "input is not valid base64: character 2"));
  BOOST_CHECK(contains(refusal(parse_predict_request(R"({"input": "abcde"})", input_kind::bytes, 0)),
                       "dangling"));
  BOOST_CHECK(contains(refusal(parse_predict_request(R"({"input": "abc=="})", input_kind::bytes, 0)),
                       "not valid base64"));
  BOOST_CHECK(contains(refusal(decode_base64("a=bc")), "invalid base64"));
}

BOOST_AUTO_TEST_CASE(a_batch_must_be_a_non_empty_array_of_inputs) {
  BOOST_CHECK(contains(
    refusal(parse_predict_request(R"({"input_batch": {"a": 1}})", input_kind::doubles, 0)),
    "input_batch must be an array of inputs, got an object"));
  BOOST_CHECK(contains(
    refusal(parse_predict_request(R"({"input_batch": [1, 2]})", input_kind::doubles, 0)),
    "input_batch[0] must be an array of numbers for app input type doubles, got a number"));
  BOOST_CHECK(contains(
    refusal(parse_predict_request(R"({"input_batch": []})", input_kind::doubles, 0)),
    "input_batch is empty"));
}

BOOST_AUTO_TEST_CASE(feedback_with_a_bad_uid_or_label_is_refused) {
  BOOST_CHECK(contains(refusal(parse_feedback(R"({"uid": -1, "input": [1], "label": 1})",
                                              input_kind::doubles, 0)),
                       "uid must be a non-negative integer, got -1"));
  BOOST_CHECK(contains(refusal(parse_feedback(R"({"input": [1]})", input_kind::doubles, 0)),
                       "no \"label\""));
  BOOST_CHECK(contains(refusal(parse_feedback(R"({"input": [1], "label": [1]})",
                                              input_kind::doubles, 0)),
                       "label must be a number or a string, got an array"));
  BOOST_CHECK(contains(refusal(parse_feedback(R"({"input": [1, 2], "label": 1})",
                                              input_kind::doubles, 3)),
                       "input has 2 values, the app expects 3"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(mutated_bodies)

namespace {

/// `body` with one random edit: a byte replaced by a character that matters
/// to JSON (or a stray byte), a byte deleted or inserted, a span repeated,
/// or the tail cut off.
std::string mutate(std::string body, std::mt19937_64& rng) {
  static const std::string alphabet = "0123456789-+.eE,[]{}\": \t\n\\/ntrufalsxA\x7f";
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % std::max<size_t>(n, 1)); };
  auto stray = [&]() -> char {
    return rng() % 8 == 0 ? static_cast<char>(rng() % 256) : alphabet[pick(alphabet.size())];
  };
  switch (rng() % 5) {
    case 0:
      if (!body.empty())
        body[pick(body.size())] = stray();
      break;
    case 1:
      if (!body.empty())
        body.erase(pick(body.size()), 1);
      break;
    case 2:
      body.insert(body.begin() + static_cast<std::ptrdiff_t>(pick(body.size() + 1)), stray());
      break;
    case 3: {
      auto from = pick(body.size());
      auto length = std::min(body.size() - from, 1 + pick(8));
      body.insert(from, body.substr(from, length));
      break;
    }
    default:
      body.resize(pick(body.size()));
  }
  return body;
}

/// nlohmann's reading of a predict body of doubles when it is one the
/// decoder must take: an object whose "input" is an array of finite
/// numbers (or whose "input_batch" is a non-empty array of such arrays),
/// and not both. Empty otherwise.
std::optional<std::vector<std::vector<double>>> reference_inputs(const json& body) {
  if (!body.is_object() || body.contains("input") == body.contains("input_batch"))
    return std::nullopt;
  auto numbers = [](const json& row) -> std::optional<std::vector<double>> {
    if (!row.is_array())
      return std::nullopt;
    std::vector<double> values;
    for (auto& v : row) {
      if (!v.is_number() || !std::isfinite(v.get<double>()))
        return std::nullopt;
      values.push_back(v.get<double>());
    }
    return values;
  };
  std::vector<std::vector<double>> rows;
  if (body.contains("input")) {
    auto row = numbers(body["input"]);
    if (!row)
      return std::nullopt;
    rows.push_back(*row);
  } else {
    if (!body["input_batch"].is_array() || body["input_batch"].empty())
      return std::nullopt;
    for (auto& r : body["input_batch"]) {
      auto row = numbers(r);
      if (!row)
        return std::nullopt;
      rows.push_back(*row);
    }
  }
  return rows;
}

} // namespace

// Differential: 60,000 random edits of valid bodies through the hand-written
// decoder and through nlohmann's parser. What nlohmann refuses as JSON the
// decoder must refuse; what is a well-formed request of finite numbers it
// must take with the same values (bit for bit); everything else is refused
// with invalid_argument, and nothing throws or crashes.
BOOST_AUTO_TEST_CASE(random_edits_of_valid_bodies_are_refused_or_decoded_as_nlohmann_reads_them) {
  const std::vector<std::string> seeds = {
    R"({"input": [1, 2.5, -3e2, 0.1, 1e-5, 12345678901234567890]})",
    R"({"input":[0,-0.0,1E+2,7]})",
    R"( { "input" : [ 3.14159 , 2.71828 ] } )",
    R"({"input_batch": [[1, 2], [3.5, -4e-3], [5, 6]]})",
    R"({"input_batch":[[0.25],[1e10]],"extra":{"a":[1,"x",null,true]}})",
  };
  std::mt19937_64 rng(20261128);
  size_t decoded = 0, refused = 0, not_json = 0;
  for (int i = 0; i < 60000; ++i) {
    auto body = seeds[static_cast<size_t>(i) % seeds.size()];
    for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits)
      body = mutate(body, rng);
    caf::expected<predict_request> ours = caf::error{};
    try {
      ours = parse_predict_request(body, input_kind::doubles, 0);
    } catch (const std::exception& e) {
      BOOST_FAIL("the decoder threw " << e.what() << " on " << body);
    }
    auto reference = json::parse(body, nullptr, false);
    if (reference.is_discarded()) {
      ++not_json;
      BOOST_TEST(!ours, "accepted what is not JSON: " << body);
    } else if (auto rows = reference_inputs(reference)) {
      BOOST_TEST_REQUIRE(static_cast<bool>(ours), "refused " << body << ": " << test::why(ours));
      BOOST_TEST_REQUIRE(ours->inputs.size() == rows->size(), body);
      for (size_t r = 0; r < rows->size(); ++r)
        BOOST_TEST((ours->inputs[r].numbers == (*rows)[r]), body);
    }
    if (ours) {
      ++decoded;
    } else {
      ++refused;
      BOOST_TEST(is(ours.error(), errc::invalid_argument), body << ": " << describe(ours.error()));
    }
  }
  BOOST_TEST_MESSAGE("decoded " << decoded << ", refused " << refused << " (" << not_json
                                << " not JSON at all)");
  BOOST_TEST(decoded > 1000u);  // the edits left many bodies valid: the check above ran
  BOOST_TEST(not_json > 10000u);
}

BOOST_AUTO_TEST_CASE(random_edits_of_feedback_and_other_kinds_never_throw) {
  struct seed {
    std::string body;
    input_kind kind;
  };
  const std::vector<seed> seeds = {
    {R"({"uid": 42, "input": [1, 2], "label": 7})", input_kind::ints},
    {R"({"input": "a cat", "label": "cat"})", input_kind::strings},
    {R"({"input": "aGVsbG8=", "label": 0.5})", input_kind::bytes},
    {R"({"input_batch": ["x", "y\u00e9\n"]})", input_kind::strings},
    {R"({"input": [1.5, 2.25]})", input_kind::floats},
  };
  std::mt19937_64 rng(7);
  for (int i = 0; i < 30000; ++i) {
    auto& s = seeds[static_cast<size_t>(i) % seeds.size()];
    auto body = mutate(s.body, rng);
    try {
      auto f = parse_feedback(body, s.kind, 0);
      if (!f)
        BOOST_TEST(is(f.error(), errc::invalid_argument), body << ": " << describe(f.error()));
      auto p = parse_predict_request(body, s.kind, 0);
      if (!p)
        BOOST_TEST(is(p.error(), errc::invalid_argument), body << ": " << describe(p.error()));
      else if (json::parse(body, nullptr, false).is_discarded())
        BOOST_FAIL("accepted what is not JSON: " << body);
    } catch (const std::exception& e) {
      BOOST_FAIL("threw " << e.what() << " on " << body);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rendering)

BOOST_AUTO_TEST_CASE(a_prediction_renders_its_fields_and_embeds_json_outputs_as_json) {
  prediction p;
  p.query_id = 17;
  p.output = "[0.1, 0.9]";
  p.confidence = 0.75;
  p.models_used = {"a:1", "b:2"};
  auto j = json::parse(render_prediction(p));
  BOOST_CHECK_EQUAL(j["query_id"].get<uint64_t>(), 17u);
  BOOST_REQUIRE(j["output"].is_array());
  BOOST_CHECK_EQUAL(j["output"][1].get<double>(), 0.9);
  BOOST_CHECK_EQUAL(j["default"].get<bool>(), false);
  BOOST_CHECK(!j.contains("default_explanation"));
  BOOST_CHECK(!j.contains("models_missing"));
  BOOST_CHECK_EQUAL(j["confidence"].get<double>(), 0.75);
  BOOST_CHECK((j["models_used"].get<std::vector<std::string>>()
               == std::vector<std::string>{"a:1", "b:2"}));
  for (auto [text, expected] : std::vector<std::pair<std::string, json>>{
         {"7", json(7)}, {"true", json(true)}, {"null", json(nullptr)},
         {R"({"k": 1})", json{{"k", 1}}}}) {
    p.output = text;
    BOOST_CHECK_EQUAL(json::parse(render_prediction(p))["output"], expected);
  }
}

BOOST_AUTO_TEST_CASE(an_output_that_is_not_json_is_embedded_as_a_string_unchanged) {
  prediction p;
  for (std::string text : {"cat", "7 dogs", "", "\"quoted\"", "{broken"}) {
    p.output = text;
    auto j = json::parse(render_prediction(p));
    BOOST_REQUIRE(j["output"].is_string());
    BOOST_CHECK_EQUAL(j["output"].get<std::string>(), text);
  }
}

BOOST_AUTO_TEST_CASE(a_default_prediction_carries_its_explanation_and_missing_models) {
  prediction p;
  p.query_id = 3;
  p.output = "0";
  p.is_default = true;
  p.default_explanation = "no model answered within 20 ms";
  p.models_missing = {"slow:1"};
  auto j = json::parse(render_prediction(p));
  BOOST_CHECK_EQUAL(j["default"].get<bool>(), true);
  BOOST_CHECK_EQUAL(j["default_explanation"].get<std::string>(), p.default_explanation);
  BOOST_CHECK_EQUAL(j["models_missing"][0].get<std::string>(), "slow:1");
  BOOST_CHECK(j["models_used"].is_array() && j["models_used"].empty());
}

BOOST_AUTO_TEST_CASE(a_batch_renders_each_prediction_in_order) {
  predictions ps(3);
  for (size_t i = 0; i < ps.size(); ++i) {
    ps[i].query_id = i + 100;
    ps[i].output = std::to_string(i);
  }
  auto j = json::parse(render_batch(ps));
  BOOST_REQUIRE_EQUAL(j["batch_predictions"].size(), 3u);
  BOOST_CHECK_EQUAL(j["batch_predictions"][2]["query_id"].get<uint64_t>(), 102u);
  BOOST_CHECK_EQUAL(j["batch_predictions"][2]["output"].get<int>(), 2);
  BOOST_CHECK(json::parse(render_batch({}))["batch_predictions"].empty());
}

BOOST_AUTO_TEST_CASE(a_plain_prediction_renders_exactly_as_the_json_library_would) {
  // The common answer is rendered by hand; it must be the same bytes.
  prediction p;
  p.query_id = 42;
  p.output = "7";
  p.models_used = {"xgb:1", "mlp:2"};
  auto text = render_prediction(p);
  json doc = json::parse(text);
  BOOST_CHECK_EQUAL(text, doc.dump());
  BOOST_CHECK_EQUAL(text, R"({"confidence":1.0,"default":false,"models_used":["xgb:1","mlp:2"],)"
                          R"("output":7,"query_id":42})");
  p.output = "-12";
  BOOST_CHECK_EQUAL(render_prediction(p), json::parse(render_prediction(p)).dump());
  BOOST_CHECK_EQUAL(json::parse(render_prediction(p))["output"], -12);
  p.output = "-0";  // the library renders it as 0: not the hand-made path's case
  BOOST_CHECK_EQUAL(json::parse(render_prediction(p))["output"], 0);
}

BOOST_AUTO_TEST_CASE(a_batch_of_plain_and_mixed_predictions_renders_as_the_json_library_would) {
  predictions ps(2);
  ps[0].query_id = 1;
  ps[0].output = "3";
  ps[0].models_used = {"xgb:1"};
  ps[1] = ps[0];
  ps[1].query_id = 2;
  auto plain = render_batch(ps);
  BOOST_CHECK_EQUAL(plain, json::parse(plain).dump());
  BOOST_CHECK_EQUAL(json::parse(plain)["batch_predictions"][1]["query_id"].get<int>(), 2);
  ps[1].is_default = true;  // not plain: the whole batch takes the library's path
  ps[1].default_explanation = "no model answered";
  auto mixed = json::parse(render_batch(ps));
  BOOST_CHECK_EQUAL(mixed["batch_predictions"][1]["default"], true);
  BOOST_CHECK_EQUAL(mixed["batch_predictions"][0]["output"], 3);
}

BOOST_AUTO_TEST_CASE(an_error_renders_as_an_error_object) {
  auto j = json::parse(render_error("bad \"thing\"\n"));
  BOOST_CHECK_EQUAL(j["error"].get<std::string>(), "bad \"thing\"\n");
}

BOOST_AUTO_TEST_SUITE_END()
