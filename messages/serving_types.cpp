#include "messages/serving_types.hpp"

#include <cstring>

namespace troupe {

namespace {

constexpr const char* kind_names[] = {"doubles", "floats", "ints", "strings", "bytes"};

constexpr uint64_t fnv_offset = 14695981039346656037ull;
constexpr uint64_t fnv_prime = 1099511628211ull;

uint64_t fnv1a(uint64_t h, const void* data, size_t size) {
  auto bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    h ^= bytes[i];
    h *= fnv_prime;
  }
  return h;
}

} // namespace

const char* to_string(input_kind kind) {
  auto index = static_cast<size_t>(kind);
  return index < std::size(kind_names) ? kind_names[index] : "unknown";
}

bool from_string(const std::string& name, input_kind& kind) {
  for (size_t i = 0; i < std::size(kind_names); ++i) {
    if (name == kind_names[i]) {
      kind = static_cast<input_kind>(i);
      return true;
    }
  }
  return false;
}

uint64_t hash_input(const query_input& x) {
  auto kind = static_cast<uint8_t>(x.kind);
  auto h = fnv1a(fnv_offset, &kind, 1);
  h = fnv1a(h, x.numbers.data(), x.numbers.size() * sizeof(double));
  return fnv1a(h, x.text.data(), x.text.size());
}

} // namespace troupe
