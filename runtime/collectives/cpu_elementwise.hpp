// The element-wise steps of the CPU backends' reductions: adding a peer's
// chunk (UCX's ring), dividing by the world size (reduce_op::average), and
// both at once for a world of two.
//
// Both are written in chunks of a fixed length so that GCC vectorizes them
// at -O2: its cheap cost model leaves a loop of unknown length (or one whose
// pointers might overlap) scalar, and a scalar divide per element took
// several ms on a 16 MB DDP bucket here, at the end of backward, where it
// delays every iteration.
#pragma once

#include <cstddef>

#include <gloo/types.h>

namespace troupe::collectives {

inline constexpr size_t elementwise_chunk = 16;

/// x[i] /= divisor for every i < count. Division, not a multiply by the
/// reciprocal: the same result as PyTorch's bucket / world_size, to the bit.
template <class T>
void divide_in_place(T* x, size_t count, T divisor) {
  size_t i = 0;
  for (; i + elementwise_chunk <= count; i += elementwise_chunk)
    for (size_t k = 0; k < elementwise_chunk; ++k)
      x[i + k] /= divisor;
  for (; i < count; ++i)
    x[i] /= divisor;
}

/// x[i] /= divisor for float16: in float32, rounding once, as PyTorch's CPU
/// average does.
inline void divide_half_in_place(gloo::float16* x, size_t count, int divisor) {
  for (size_t i = 0; i < count; ++i)
    x[i] = gloo::cpu_float2half_rn(gloo::cpu_half2float(x[i]) / static_cast<float>(divisor));
}

/// acc[i] += in[i] for every i < count. REQUIRES: the ranges do not overlap.
template <class T>
void add_in_place(T* __restrict acc, const T* __restrict in, size_t count) {
  size_t i = 0;
  for (; i + elementwise_chunk <= count; i += elementwise_chunk)
    for (size_t k = 0; k < elementwise_chunk; ++k)
      acc[i + k] += in[i + k];
  for (; i < count; ++i)
    acc[i] += in[i];
}

/// c[i] = op(a[i], b[i]) for every i < count, where c may be a or b (Gloo's
/// reduce function signature: it reduces in place). Each chunk is computed
/// into a local array before it is stored, so the loads cannot see the
/// stores and GCC vectorizes without runtime overlap checks (which its -O2
/// cost model would not add; Gloo's own gloo::sum<float>, instantiated here
/// at -O2, stays scalar).
template <class T, class Op>
void combine_into(T* c, const T* a, const T* b, size_t count, Op op) {
  size_t i = 0;
  for (; i + elementwise_chunk <= count; i += elementwise_chunk) {
    T chunk[elementwise_chunk];
    for (size_t k = 0; k < elementwise_chunk; ++k)
      chunk[k] = op(a[i + k], b[i + k]);
    for (size_t k = 0; k < elementwise_chunk; ++k)
      c[i + k] = chunk[k];
  }
  for (; i < count; ++i)
    c[i] = op(a[i], b[i]);
}

/// c[i] = a[i] + b[i], aliasing as in combine_into.
template <class T>
void sum_into(T* c, const T* a, const T* b, size_t count) {
  combine_into(c, a, b, count, [](T x, T y) { return x + y; });
}

/// c[i] = (a[i] + b[i]) / 2, aliasing as in combine_into: the average of a
/// world of two in the reduction itself, so that no pass over the whole
/// result divides it afterwards (16 MiB at the end of every DDP backward).
/// A multiply by 0.5 gives the bits of a divide by 2: both round the same
/// exact value once.
template <class T>
void mean_of_two_into(T* c, const T* a, const T* b, size_t count) {
  combine_into(c, a, b, count, [](T x, T y) { return (x + y) * T(0.5); });
}

} // namespace troupe::collectives
