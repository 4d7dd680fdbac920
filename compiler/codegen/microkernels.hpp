// Native kernels that tensorized code calls (see schedule/tensor_intrinsic.hpp
// for the ABI). The JIT resolves them by name; an object file or artifact
// that calls one needs this library linked.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

extern "C" {
/// c[i*cs0 + j*cs1] += sum_r a[i*as0 + r*as1] * b[r*bs0 + j*bs1] for i < m, j < n, r < k.
/// AVX-512 register tiles of up to 8 rows x 32 columns when cs1 = bs1 = 1
/// and n is a multiple of 16; a portable loop otherwise.
void troupe_gemm_accumulate_f32(float* c, const float* a, const float* b, int64_t cs0, int64_t cs1,
                                int64_t as0, int64_t as1, int64_t bs0, int64_t bs1, int64_t m,
                                int64_t n, int64_t k);
}

namespace troupe::compiler {

/// Every kernel by symbol name, for the JIT's symbol table.
std::vector<std::pair<std::string, void*>> microkernel_symbols();

} // namespace troupe::compiler
