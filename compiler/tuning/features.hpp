// Features of a lowered candidate for the tuner's cost model (after
// AutoTVM's loop features): what a learned model needs to rank schedules
// without running them. A program is read as loop nests; its "hot"
// statement (the store or kernel call with the most work) contributes its
// loop chain, the rest contributes totals. Every count is weighted by how
// often it runs (the product of the enclosing loops' extents), and big
// numbers are log-scaled: log2(1 + x).
//
// The vector has a fixed length (feature_count()), slot by slot:
//   levels    8 levels of the hot statement's loop chain, innermost first,
//             7 slots each (zeros where the chain is shorter):
//             log extent; kind one-hot serial, parallel, vectorized,
//             unrolled; depth (0 = outermost loop); log bytes the hot
//             statement touches across this loop's iterations (distinct
//             elements, from the extents of this loop and those inside it)
//   hot       depth, log trip count, log product of its unrolled extents,
//             log product of its vectorized extents
//   ops       log weighted counts: f32 add/sub, mul, fused multiply-add
//             (an add of a product), other f32 (div, min, max, math calls),
//             i64 arithmetic, comparisons and selects, loads, stores
//   parallel  log extent of the first parallel loop, number of parallel loops
//   buffers   the 4 buffers with the most bytes touched, 7 slots each:
//             log bytes touched (loads + stores), log distinct bytes, log
//             reuse (accesses / distinct elements), innermost stride of its
//             heaviest access one-hot 0 / 1 / other, is a local allocation
//             (a kernel call counts (m n k)^(2/3) elements per pointer)
//   allocs    number of allocations, log total bytes, log largest
//   externs   log weighted kernel calls, log work (calls x product of the
//             last three integer arguments: the gemm's m, n, k), log of
//             each of those three arguments (of the heaviest call)
//   shape     number of loops, number of top-level statements
#pragma once

#include "compiler/ir/stmt.hpp"

#include <string>
#include <vector>

namespace troupe::compiler {

/// The feature vector of `func` (feature_count() values). Deterministic:
/// the same program gives the same vector.
std::vector<float> extract_features(const lowered_func& func);

/// The length of every feature vector.
size_t feature_count();

/// One name per slot, in order (e.g. "level0_extent", "buffer2_reuse").
const std::vector<std::string>& feature_names();

} // namespace troupe::compiler
