// Reading one JSON number for the predict fast path, where decoding the
// numbers of a batch request is the frontend's largest cost after the
// model (a 512-row request of 28 features is 14,336 numbers).
//
// Digits are read eight bytes at a time (SWAR: one 64-bit load, a mask that
// finds where the run of digits ends, three multiplies that turn up to
// eight digits into their value), not one byte and one branch at a time.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace troupe::serving {

namespace json_number_detail {

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "json_number.hpp reads digits as little-endian 64-bit words"
#endif

constexpr uint64_t repeat_byte(uint8_t b) { return 0x0101010101010101ull * b; }

/// How many of the eight bytes of `w` (the first in the lowest byte) are
/// ASCII digits before the first byte that is not.
inline unsigned leading_digits(uint64_t w) {
  // A byte is a digit iff its high nibble is 3 and adding 6 keeps it 3.
  // Adding 6 carries out of a byte only at or after the first non-digit,
  // so the bytes before it are judged exactly.
  uint64_t high_not_3 = (w & repeat_byte(0xF0)) ^ repeat_byte(0x30);
  uint64_t above_9 = ((w + repeat_byte(0x06)) & repeat_byte(0xF0)) ^ repeat_byte(0x30);
  uint64_t not_digit = high_not_3 | above_9;
  return not_digit == 0 ? 8u : static_cast<unsigned>(__builtin_ctzll(not_digit)) / 8;
}

/// The value of the first `n` (1..8) bytes of `w`, all digits.
inline uint64_t digits_value(uint64_t w, unsigned n) {
  // Subtracting '0' borrows only at or after the first non-digit; the shift
  // drops those bytes and puts zero digits (leading zeros) in front.
  w -= repeat_byte('0');
  w <<= 8 * (8 - n);
  // Pairs, then quadruples, then the eight digits (each step combines
  // neighbouring bytes: the lower byte holds the more significant digit).
  w = w * 10 + (w >> 8);
  w = (((w & 0x000000FF000000FFull) * (100 + (1000000ull << 32)))
       + (((w >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32))))
      >> 32;
  return w;
}

constexpr uint64_t powers_of_ten_int[] = {1,      10,      100,      1000,     10000,
                                          100000, 1000000, 10000000, 100000000};

constexpr double powers_of_ten[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                    1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/// The run of digits at s[i..] (false if there is none): appended to
/// `significand` while `digits` stays within 19, counted in `digits`, and
/// in `scale` too `after_point`. Always inlined: as a call it cost more
/// than the digits of a short number.
[[gnu::always_inline]] inline bool read_digits(std::string_view s, size_t& i, bool after_point,
                                               uint64_t& significand, size_t& digits,
                                               int& scale) {
  auto first = i;
  while (i + 8 <= s.size()) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    auto n = leading_digits(w);
    if (n == 0)
      break;
    if (digits + n <= 19)
      significand = significand * powers_of_ten_int[n] + digits_value(w, n);
    digits += n;
    i += n;
    if (after_point)
      scale += static_cast<int>(n);
    if (n < 8)
      return true;
  }
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (++digits <= 19)
      significand = significand * 10 + static_cast<uint64_t>(s[i] - '0');
    scale += after_point;
  }
  return i > first;
}

} // namespace json_number_detail

/// A JSON number at s[i..]: its text is [-]digits[.digits][(e|E)[+-]digits].
/// On success `out` holds its value, rounded as std::from_chars rounds, and
/// `i` is past it; false if no number starts at s[i] or it is not finite.
///
/// Where the decimal significand is exact in a double (at most 19 digits
/// read, value at most 2^53) and the power of ten is within 10^+-22 (exact
/// too), one multiply or divide of two exact values is correctly rounded,
/// so it equals from_chars' result (Clinger's fast path). Every other
/// number goes through std::from_chars. Numbers from clients ("0.123456",
/// "17", "-3.5e2") nearly always take the fast path.
[[gnu::always_inline]] inline bool read_json_number(std::string_view s, size_t& i, double& out) {
  using namespace json_number_detail;
  auto start = i;
  uint64_t significand = 0;
  size_t digits = 0;  // digits of the significand read, leading zeros included
  int scale = 0;      // digits after the point
  bool negative = i < s.size() && s[i] == '-';
  if (negative)
    ++i;
  if (i < s.size() && s[i] == '0')
    ++i;  // a leading zero stands alone
  else if (!read_digits(s, i, false, significand, digits, scale))
    return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!read_digits(s, i, true, significand, digits, scale))
      return false;
  }
  int exponent = 0;
  bool exponent_fits = true;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool exponent_negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-'))
      exponent_negative = s[i++] == '-';
    auto first = i;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (exponent < 10000)
        exponent = exponent * 10 + (s[i] - '0');
      else
        exponent_fits = false;
    }
    if (i == first)
      return false;
    if (exponent_negative)
      exponent = -exponent;
  }
  auto power = exponent - scale;
  if (exponent_fits && digits <= 19 && significand <= (uint64_t{1} << 53) && power >= -22
      && power <= 22) {
    auto value = static_cast<double>(significand);
    value = power < 0 ? value / powers_of_ten[-power] : value * powers_of_ten[power];
    out = negative ? -value : value;
    return true;
  }
  auto [end, ec] = std::from_chars(s.data() + start, s.data() + i, out);
  return ec == std::errc{} && end == s.data() + i && std::isfinite(out);
}

} // namespace troupe::serving
