#include "compiler/codegen/microkernels.hpp"

#include <algorithm>

#include <immintrin.h>

namespace troupe::compiler {

namespace {

void gemm_portable(float* c, const float* a, const float* b, int64_t cs0, int64_t cs1, int64_t as0,
                   int64_t as1, int64_t bs0, int64_t bs1, int64_t m, int64_t n, int64_t k) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t r = 0; r < k; ++r) {
      float x = a[i * as0 + r * as1];
      for (int64_t j = 0; j < n; ++j)
        c[i * cs0 + j * cs1] += x * b[r * bs0 + j * bs1];
    }
}

// ROWS x (16 * VECS) accumulators stay in zmm registers for the whole k loop.
template <int ROWS, int VECS>
__attribute__((target("avx512f"))) void gemm_tile(float* c, const float* a, const float* b,
                                                  int64_t cs0, int64_t as0, int64_t as1,
                                                  int64_t bs0, int64_t k) {
  // Fully unrolled (GCC keeps the accumulators in registers only then).
  __m512 acc[ROWS][VECS];
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < VECS; ++v)
      acc[i][v] = _mm512_loadu_ps(c + i * cs0 + v * 16);
  for (int64_t r = 0; r < k; ++r) {
    __m512 bv[VECS];
#pragma GCC unroll 2
    for (int v = 0; v < VECS; ++v)
      bv[v] = _mm512_loadu_ps(b + r * bs0 + v * 16);
    const float* column = a + r * as1;
#pragma GCC unroll 8
    for (int i = 0; i < ROWS; ++i) {
      __m512 x = _mm512_set1_ps(column[i * as0]);
#pragma GCC unroll 2
      for (int v = 0; v < VECS; ++v)
        acc[i][v] = _mm512_fmadd_ps(x, bv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < VECS; ++v)
      _mm512_storeu_ps(c + i * cs0 + v * 16, acc[i][v]);
}

template <int VECS>
void gemm_rows(float* c, const float* a, const float* b, int64_t cs0, int64_t as0, int64_t as1,
               int64_t bs0, int64_t rows, int64_t k) {
  switch (rows) {
    case 1: return gemm_tile<1, VECS>(c, a, b, cs0, as0, as1, bs0, k);
    case 2: return gemm_tile<2, VECS>(c, a, b, cs0, as0, as1, bs0, k);
    case 3: return gemm_tile<3, VECS>(c, a, b, cs0, as0, as1, bs0, k);
    case 4: return gemm_tile<4, VECS>(c, a, b, cs0, as0, as1, bs0, k);
    case 5: return gemm_tile<5, VECS>(c, a, b, cs0, as0, as1, bs0, k);
    case 6: return gemm_tile<6, VECS>(c, a, b, cs0, as0, as1, bs0, k);
    case 7: return gemm_tile<7, VECS>(c, a, b, cs0, as0, as1, bs0, k);
    default: return gemm_tile<8, VECS>(c, a, b, cs0, as0, as1, bs0, k);
  }
}

bool has_avx512() {
  static const bool supported = __builtin_cpu_supports("avx512f");
  return supported;
}

} // namespace

std::vector<std::pair<std::string, void*>> microkernel_symbols() {
  return {{"troupe_gemm_accumulate_f32", reinterpret_cast<void*>(&troupe_gemm_accumulate_f32)}};
}

} // namespace troupe::compiler

extern "C" void troupe_gemm_accumulate_f32(float* c, const float* a, const float* b, int64_t cs0,
                                           int64_t cs1, int64_t as0, int64_t as1, int64_t bs0,
                                           int64_t bs1, int64_t m, int64_t n, int64_t k) {
  using namespace troupe::compiler;
  if (!has_avx512() || cs1 != 1 || bs1 != 1 || n % 16 != 0) {
    gemm_portable(c, a, b, cs0, cs1, as0, as1, bs0, bs1, m, n, k);
    return;
  }
  for (int64_t i = 0; i < m; i += 8) {
    int64_t rows = std::min<int64_t>(8, m - i);
    int64_t j = 0;
    for (; j + 32 <= n; j += 32)
      gemm_rows<2>(c + i * cs0 + j, a + i * as0, b + j, cs0, as0, as1, bs0, rows, k);
    for (; j < n; j += 16)
      gemm_rows<1>(c + i * cs0 + j, a + i * as0, b + j, cs0, as0, as1, bs0, rows, k);
  }
}
