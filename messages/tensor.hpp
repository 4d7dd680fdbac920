// A tensor as it travels between actors and processes: (dtype, shape, bytes).
// Row-major, densely packed; the bytes are owned by the value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

namespace troupe {

enum class dtype : uint8_t {
  float32,
  float64,
  float16,
  bfloat16,
  int8,
  int16,
  int32,
  int64,
  uint8,
  boolean,
};

/// Number of dtypes; valid values are 0 .. dtype_count - 1.
constexpr uint8_t dtype_count = 10;

/// Bytes per element of `t`.
size_t element_size(dtype t);

/// The dtype's name as ONNX and numpy spell it, e.g. "float32".
const char* to_string(dtype t);

/// The dtype named `name`, or invalid_argument naming it.
caf::expected<dtype> parse_dtype(const std::string& name);

struct tensor {
  dtype type = dtype::float32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  /// Builds a tensor, checking that `bytes` holds exactly the elements that
  /// `shape` asks for and that no extent is negative.
  static caf::expected<tensor> make(dtype type, std::vector<int64_t> shape,
                                    std::vector<uint8_t> bytes);

  /// Builds a float32 tensor from values.
  static tensor from_floats(std::vector<int64_t> shape,
                            const std::vector<float>& values);

  /// Number of elements (1 for a scalar, whose shape is empty).
  int64_t element_count() const;
};

/// Checks a tensor received from outside: extents, byte count, dtype range.
caf::error validate(const tensor& x);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tensor& x) {
  return f(caf::meta::type_name("troupe::tensor"), x.type, x.shape, x.bytes);
}

/// 64-bit FNV-1a of a byte range: a cheap check that bytes arrived intact.
uint64_t fnv1a(const uint8_t* data, size_t size);

} // namespace troupe
