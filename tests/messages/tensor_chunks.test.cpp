#define BOOST_TEST_MODULE tensor_chunks
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>

#include "messages/errors.hpp"
#include "messages/tensor_chunks.hpp"

using namespace troupe;

namespace {

tensor make_tensor(int64_t n) {
  std::vector<float> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    values[static_cast<size_t>(i)] = static_cast<float>(i) * 0.25f;
  return tensor::from_floats({n}, values);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_tensor_is_split_into_chunks_no_larger_than_the_limit) {
  auto t = make_tensor(1000);  // 4000 bytes
  auto chunks = split_into_chunks(t, 7, 1024);
  BOOST_TEST(chunks.size() == 4u);
  for (auto& c : chunks) {
    BOOST_TEST(c.bytes.size() <= 1024u);
    BOOST_TEST(c.count == 4u);
    BOOST_TEST(c.transfer_id == 7u);
  }
  BOOST_TEST(chunks.back().bytes.size() == 4000u - 3 * 1024u);
}

BOOST_AUTO_TEST_CASE(chunks_reassemble_in_any_order_into_the_same_bytes) {
  auto t = make_tensor(10001);
  auto chunks = split_into_chunks(t, 1, 999);
  std::shuffle(chunks.begin(), chunks.end(), std::mt19937{42});
  tensor_assembler assembler;
  caf::optional<tensor> result;
  for (size_t i = 0; i < chunks.size(); ++i) {
    auto step = assembler.add(chunks[i]);
    BOOST_REQUIRE(step);
    BOOST_TEST(static_cast<bool>(*step) == (i + 1 == chunks.size()));
    if (*step)
      result = std::move(*step);
  }
  BOOST_REQUIRE(result);
  BOOST_TEST(result->shape == t.shape);
  BOOST_TEST((result->bytes == t.bytes));
  BOOST_TEST(assembler.pending() == 0u);
}

BOOST_AUTO_TEST_CASE(an_empty_tensor_travels_as_one_chunk) {
  tensor t{dtype::float32, {0, 3}, {}};
  auto chunks = split_into_chunks(t, 3);
  BOOST_REQUIRE(chunks.size() == 1u);
  tensor_assembler assembler;
  auto done = assembler.add(chunks[0]);
  BOOST_REQUIRE(done);
  BOOST_REQUIRE(*done);
  BOOST_TEST((*done)->element_count() == 0);
}

BOOST_AUTO_TEST_CASE(a_duplicate_chunk_is_refused_and_drops_the_transfer) {
  auto chunks = split_into_chunks(make_tensor(100), 5, 100);
  tensor_assembler assembler;
  BOOST_REQUIRE(assembler.add(chunks[0]));
  auto dup = assembler.add(chunks[0]);
  BOOST_REQUIRE(!dup);
  BOOST_TEST(is(dup.error(), errc::invalid_argument));
  BOOST_TEST(describe(dup.error()).find("arrived twice") != std::string::npos);
  BOOST_TEST(assembler.pending() == 0u);
}

BOOST_AUTO_TEST_CASE(a_chunk_contradicting_its_header_is_refused) {
  auto chunks = split_into_chunks(make_tensor(100), 5, 100);
  tensor_assembler assembler;
  BOOST_REQUIRE(assembler.add(chunks[0]));
  chunks[1].shape = {99};
  auto bad = assembler.add(chunks[1]);
  BOOST_REQUIRE(!bad);
  BOOST_TEST(describe(bad.error()).find("contradicts") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_header_whose_shape_does_not_match_its_bytes_is_refused) {
  auto chunks = split_into_chunks(make_tensor(100), 5, 1000);
  chunks[0].shape = {1000000};
  tensor_assembler assembler;
  auto bad = assembler.add(chunks[0]);
  BOOST_REQUIRE(!bad);
  BOOST_TEST(describe(bad.error()).find("shape does not match") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_chunk_reaching_past_the_end_is_refused) {
  auto chunks = split_into_chunks(make_tensor(100), 5, 100);
  chunks[0].offset = 390;
  tensor_assembler assembler;
  auto bad = assembler.add(chunks[0]);
  BOOST_REQUIRE(!bad);
  BOOST_TEST(describe(bad.error()).find("reaches past") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_tensor_over_the_receivers_limit_is_refused_before_allocation) {
  auto chunks = split_into_chunks(make_tensor(1000), 9, 1000);
  tensor_assembler assembler{1024};
  auto bad = assembler.add(chunks[0]);
  BOOST_REQUIRE(!bad);
  BOOST_TEST(describe(bad.error()).find("exceeds the receiver's limit") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_index_beyond_the_count_is_refused) {
  auto chunks = split_into_chunks(make_tensor(10), 1, 8);
  chunks[0].index = chunks[0].count;
  tensor_assembler assembler;
  BOOST_TEST(!assembler.add(chunks[0]));
}

BOOST_AUTO_TEST_CASE(tensor_make_checks_bytes_against_shape) {
  auto ok = tensor::make(dtype::int32, {2, 3}, std::vector<uint8_t>(24));
  BOOST_TEST(static_cast<bool>(ok));
  auto short_bytes = tensor::make(dtype::int32, {2, 3}, std::vector<uint8_t>(20));
  BOOST_REQUIRE(!short_bytes);
  BOOST_TEST(describe(short_bytes.error()).find("needs 24 bytes, got 20") != std::string::npos);
  auto negative = tensor::make(dtype::int32, {-1, 3}, {});
  BOOST_TEST(!negative);
  auto overflow = tensor::make(dtype::int8, {int64_t{1} << 40, int64_t{1} << 40}, {});
  BOOST_TEST(!overflow);
}

BOOST_AUTO_TEST_CASE(dtypes_parse_from_their_names) {
  for (uint8_t i = 0; i < dtype_count; ++i) {
    auto t = static_cast<dtype>(i);
    auto parsed = parse_dtype(to_string(t));
    BOOST_REQUIRE(parsed);
    BOOST_TEST(static_cast<int>(*parsed) == static_cast<int>(t));
  }
  auto bad = parse_dtype("float7");
  BOOST_REQUIRE(!bad);
  BOOST_TEST(describe(bad.error()) == "invalid_argument: unknown dtype 'float7'");
}
