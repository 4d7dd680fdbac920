#include "messages/tensor.hpp"

#include <cstring>
#include <limits>

#include "messages/errors.hpp"

namespace troupe {

size_t element_size(dtype t) {
  switch (t) {
    case dtype::float32: return 4;
    case dtype::float64: return 8;
    case dtype::float16: return 2;
    case dtype::bfloat16: return 2;
    case dtype::int8: return 1;
    case dtype::int16: return 2;
    case dtype::int32: return 4;
    case dtype::int64: return 8;
    case dtype::uint8: return 1;
    case dtype::boolean: return 1;
  }
  return 0;
}

const char* to_string(dtype t) {
  switch (t) {
    case dtype::float32: return "float32";
    case dtype::float64: return "float64";
    case dtype::float16: return "float16";
    case dtype::bfloat16: return "bfloat16";
    case dtype::int8: return "int8";
    case dtype::int16: return "int16";
    case dtype::int32: return "int32";
    case dtype::int64: return "int64";
    case dtype::uint8: return "uint8";
    case dtype::boolean: return "bool";
  }
  return "invalid";
}

caf::expected<dtype> parse_dtype(const std::string& name) {
  for (uint8_t i = 0; i < dtype_count; ++i)
    if (name == to_string(static_cast<dtype>(i)))
      return static_cast<dtype>(i);
  return make_error(errc::invalid_argument, "unknown dtype '" + name + "'");
}

namespace {

// Element count of `shape`, or -1 if an extent is negative or the count
// overflows (a malicious shape must not wrap around to a small number).
int64_t checked_element_count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto extent : shape) {
    if (extent < 0)
      return -1;
    if (extent != 0 && n > std::numeric_limits<int64_t>::max() / extent)
      return -1;
    n *= extent;
  }
  return n;
}

} // namespace

caf::error validate(const tensor& x) {
  if (static_cast<uint8_t>(x.type) >= dtype_count)
    return make_error(errc::invalid_argument,
                      "tensor has an unknown dtype code "
                        + std::to_string(static_cast<int>(x.type)));
  auto n = checked_element_count(x.shape);
  if (n < 0)
    return make_error(errc::invalid_argument,
                      "tensor shape has a negative or overflowing extent");
  auto expected_bytes = static_cast<uint64_t>(n) * element_size(x.type);
  if (expected_bytes != x.bytes.size())
    return make_error(errc::invalid_argument,
                      "tensor of " + std::to_string(n) + " " + to_string(x.type)
                        + " elements needs " + std::to_string(expected_bytes)
                        + " bytes, got " + std::to_string(x.bytes.size()));
  return caf::none;
}

caf::expected<tensor> tensor::make(dtype type, std::vector<int64_t> shape,
                                   std::vector<uint8_t> bytes) {
  tensor result{type, std::move(shape), std::move(bytes)};
  if (auto err = validate(result))
    return err;
  return result;
}

tensor tensor::from_floats(std::vector<int64_t> shape,
                           const std::vector<float>& values) {
  tensor result{dtype::float32, std::move(shape), {}};
  result.bytes.resize(values.size() * sizeof(float));
  if (!values.empty())
    std::memcpy(result.bytes.data(), values.data(), result.bytes.size());
  return result;
}

int64_t tensor::element_count() const {
  return checked_element_count(shape);
}

uint64_t fnv1a(const uint8_t* data, size_t size) {
  uint64_t hash = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i) {
    hash ^= data[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

} // namespace troupe
