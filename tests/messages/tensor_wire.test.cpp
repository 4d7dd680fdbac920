#define BOOST_TEST_MODULE tensor_wire
#include <boost/test/unit_test.hpp>

#include <random>

#include "messages/errors.hpp"
#include "messages/tensor_wire.hpp"

using namespace troupe;

BOOST_AUTO_TEST_CASE(a_tensor_survives_a_round_trip_through_capnp_bytes) {
  auto t = tensor::from_floats({2, 3}, {1.5f, -2.f, 3.25f, 0.f, 1e-7f, 42.f});
  auto bytes = serialize_tensor(t);
  auto back = deserialize_tensor(bytes);
  BOOST_REQUIRE(back);
  BOOST_TEST(static_cast<int>(back->type) == static_cast<int>(dtype::float32));
  BOOST_TEST(back->shape == t.shape);
  BOOST_TEST((back->bytes == t.bytes));
}

BOOST_AUTO_TEST_CASE(every_dtype_keeps_its_code_on_the_wire) {
  for (uint8_t i = 0; i < dtype_count; ++i) {
    auto type = static_cast<dtype>(i);
    tensor t{type, {3}, std::vector<uint8_t>(3 * element_size(type), 7)};
    auto back = deserialize_tensor(serialize_tensor(t));
    BOOST_REQUIRE(back);
    BOOST_TEST(static_cast<int>(back->type) == static_cast<int>(type));
  }
}

BOOST_AUTO_TEST_CASE(garbage_bytes_give_an_error_not_a_crash) {
  std::mt19937 rng{7};
  for (int round = 0; round < 200; ++round) {
    std::vector<uint8_t> junk(8 * (1 + rng() % 64));
    for (auto& b : junk)
      b = static_cast<uint8_t>(rng());
    auto result = deserialize_tensor(junk);
    if (result)  // random bytes that happen to parse must still be valid
      BOOST_TEST(!validate(*result));
  }
  auto odd = deserialize_tensor(std::vector<uint8_t>(13));
  BOOST_REQUIRE(!odd);
  BOOST_TEST(describe(odd.error()).find("8-byte words") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_wire_tensor_whose_data_does_not_match_its_shape_is_refused) {
  tensor t{dtype::float32, {4}, std::vector<uint8_t>(12)};  // one element short
  auto back = deserialize_tensor(serialize_tensor(t));
  BOOST_REQUIRE(!back);
  BOOST_TEST(describe(back.error()).find("needs 16 bytes, got 12") != std::string::npos);
}
