// Code generation: hand-built loop programs compiled by LLVM compute what
// the same loops compute in C++: floor division, selects and casts, the
// math intrinsics, vectorized loads and stores of every shape, unrolled and
// parallel loops, allocations and conditionals (masked in vector code).
// Vectorized loops really become vector code, and programs code generation
// cannot compile are refused with errors that name the culprit.
#define BOOST_TEST_MODULE codegen
#include <boost/test/unit_test.hpp>

#include "compiler/codegen/jit.hpp"
#include "compiler/codegen/thread_pool.hpp"
#include "compiler/ir/compile_error.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

using namespace troupe::compiler;

namespace {

stmt loop(const expr& var, int64_t extent, loop_kind kind, stmt body) {
  return for_loop(var, int_imm(0), int_imm(extent), kind, std::move(body));
}

template <class... Data>
std::vector<void*> args(Data*... data) {
  return {static_cast<void*>(data)...};
}

void call(compiled_func f, std::vector<void*> arguments) {
  f(arguments.data());
}

std::vector<float> random_floats(size_t n, unsigned seed, float low = -1, float high = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> v(n);
  for (auto& x : v)
    x = dist(rng);
  return v;
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a % b < 0) != (b < 0))) ? q - 1 : q;
}

int64_t floor_mod(int64_t a, int64_t b) {
  return a - floor_div(a, b) * b;
}

// out[i] = a[i] + b[i] over n elements, `inner` lanes vectorized inside a
// parallel loop.
lowered_func vector_add(int64_t n, int64_t inner) {
  auto a = make_buffer("a", dtype::f32, n);
  auto b = make_buffer("b", dtype::f32, n);
  auto out = make_buffer("out", dtype::f32, n);
  auto io = make_var("io");
  auto ii = make_var("ii");
  auto i = io * inner + ii;
  auto body = store(out, i, load(a, i) + load(b, i));
  return {"vector_add",
          {a, b, out},
          loop(io, n / inner, loop_kind::parallel, loop(ii, inner, loop_kind::vectorized, body))};
}

// C = A*B for n x n matrices: i (parallel or not), j outer, k, j inner vectorized.
lowered_func matmul(int64_t n, int64_t lanes, loop_kind outer) {
  auto a = make_buffer("A", dtype::f32, n * n);
  auto b = make_buffer("B", dtype::f32, n * n);
  auto c = make_buffer("C", dtype::f32, n * n);
  auto i = make_var("i"), jo = make_var("jo"), k = make_var("k"), ji = make_var("ji");
  auto j = jo * lanes + ji;
  auto init = loop(ji, lanes, loop_kind::vectorized, store(c, i * n + j, float_imm(0)));
  auto update =
      loop(ji, lanes, loop_kind::vectorized,
           store(c, i * n + j, load(c, i * n + j) + load(a, i * n + k) * load(b, k * n + j)));
  auto body =
      loop(jo, n / lanes, loop_kind::serial, seq({init, loop(k, n, loop_kind::serial, update)}));
  return {"matmul", {a, b, c}, loop(i, n, outer, body)};
}

std::vector<float> reference_matmul(const std::vector<float>& a, const std::vector<float>& b,
                                    int64_t n) {
  std::vector<float> c(static_cast<size_t>(n * n), 0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < n; ++j)
        c[i * n + j] += a[i * n + k] * b[k * n + j];
  return c;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

BOOST_AUTO_TEST_CASE(integer_division_and_modulo_round_towards_negative_infinity) {
  const int64_t n = 12;
  std::vector<int64_t> x = {-7, -6, -5, -1, 0, 1, 5, 6, 7, -13, 13, -100};
  std::vector<int64_t> d = {3, -3, 4, -4, 5, -5, 3, -3, -2, 7, -7, 8};
  auto bx = make_buffer("x", dtype::i64, n);
  auto bd = make_buffer("d", dtype::i64, n);
  auto out = make_buffer("out", dtype::i64, n * 6);
  auto i = make_var("i");
  auto xi = load(bx, i), di = load(bd, i);
  auto body = seq({store(out, i * 6, xi / di), store(out, i * 6 + 1, xi % di),
                   store(out, i * 6 + 2, xi / 4), store(out, i * 6 + 3, xi % 4),
                   store(out, i * 6 + 4, xi / 3), store(out, i * 6 + 5, xi % 3)});
  jit_module jit;
  auto f = jit.compile({"divmod", {bx, bd, out}, loop(i, n, loop_kind::serial, body)});
  std::vector<int64_t> result(n * 6);
  call(f, args(x.data(), d.data(), result.data()));
  for (int64_t k = 0; k < n; ++k) {
    BOOST_TEST_CONTEXT(x[k] << " and " << d[k]) {
      BOOST_TEST(result[k * 6] == floor_div(x[k], d[k]));
      BOOST_TEST(result[k * 6 + 1] == floor_mod(x[k], d[k]));
      BOOST_TEST(result[k * 6 + 2] == floor_div(x[k], 4));
      BOOST_TEST(result[k * 6 + 3] == floor_mod(x[k], 4));
      BOOST_TEST(result[k * 6 + 4] == floor_div(x[k], 3));
      BOOST_TEST(result[k * 6 + 5] == floor_mod(x[k], 3));
    }
  }
}

BOOST_AUTO_TEST_CASE(min_max_select_and_casts_follow_their_definitions) {
  for (int64_t lanes : {1, 8}) {
    const int64_t n = 16;
    auto a = random_floats(n, 1, -3, 3), b = random_floats(n, 2, -3, 3);
    auto ba = make_buffer("a", dtype::f32, n), bb = make_buffer("b", dtype::f32, n);
    auto fout = make_buffer("fout", dtype::f32, n * 3);
    auto iout = make_buffer("iout", dtype::i64, n * 3);
    auto bout = make_buffer("bout", dtype::boolean, n);
    auto io = make_var("io"), ii = make_var("ii");
    auto i = io * lanes + ii;
    auto ai = load(ba, i), bi = load(bb, i);
    auto body = seq({
        store(fout, i * 3, select(ai < bi, min_of(ai, bi) * 2, max_of(ai, bi))),
        store(fout, i * 3 + 1, cast(dtype::f32, i - 5) + cast(dtype::f32, ai < bi)),
        store(fout, i * 3 + 2, cast(dtype::f32, cast(dtype::i64, ai * 10))),
        store(iout, i * 3, cast(dtype::i64, ai * 10)),
        store(iout, i * 3 + 1, min_of(i - 8, int_imm(3)) + max_of(i * 2, int_imm(20))),
        store(iout, i * 3 + 2,
              cast(dtype::i64, (ai < bi) && logical_not(binary(expr_op::eq, i, int_imm(3))))),
        store(bout, i, (ai <= bi) || (cast(dtype::boolean, i % 5))),
    });
    auto kind = lanes > 1 ? loop_kind::vectorized : loop_kind::serial;
    jit_module jit;
    auto f = jit.compile({"mixed",
                          {ba, bb, fout, iout, bout},
                          loop(io, n / lanes, loop_kind::serial, loop(ii, lanes, kind, body))});
    std::vector<float> fo(n * 3);
    std::vector<int64_t> ioo(n * 3);
    std::vector<uint8_t> bo(n, 7);
    call(f, args(a.data(), b.data(), fo.data(), ioo.data(), bo.data()));
    for (int64_t k = 0; k < n; ++k) {
      BOOST_TEST_CONTEXT("lanes " << lanes << ", element " << k) {
        float lo = a[k] < b[k] ? a[k] : b[k], hi = a[k] > b[k] ? a[k] : b[k];
        BOOST_TEST(fo[k * 3] == (a[k] < b[k] ? lo * 2 : hi));
        BOOST_TEST(fo[k * 3 + 1] == static_cast<float>(k - 5) + (a[k] < b[k] ? 1.f : 0.f));
        BOOST_TEST(fo[k * 3 + 2] == static_cast<float>(static_cast<int64_t>(a[k] * 10)));
        BOOST_TEST(ioo[k * 3] == static_cast<int64_t>(a[k] * 10));
        BOOST_TEST(ioo[k * 3 + 1] == std::min<int64_t>(k - 8, 3) + std::max<int64_t>(k * 2, 20));
        BOOST_TEST(ioo[k * 3 + 2] == ((a[k] < b[k] && k != 3) ? 1 : 0));
        BOOST_TEST(bo[k] == ((a[k] <= b[k] || k % 5 != 0) ? 1 : 0));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(math_intrinsics_match_libm_in_scalar_and_vector_loops) {
  const int64_t n = 32;
  auto x = random_floats(n, 3, 0.05f, 3.f);
  for (auto kind : {loop_kind::serial, loop_kind::vectorized}) {
    auto bx = make_buffer("x", dtype::f32, n);
    auto out = make_buffer("out", dtype::f32, n * 6);
    auto io = make_var("io"), ii = make_var("ii");
    auto i = io * 16 + ii;
    std::vector<stmt> stores;
    const char* names[] = {"exp", "log", "sqrt", "tanh", "fabs", "erf"};
    for (int64_t k = 0; k < 6; ++k) {
      auto arg = k == 4 ? float_imm(0) - load(bx, i) : load(bx, i);
      stores.push_back(store(out, int_imm(k * n) + i, call(names[k], {arg})));
    }
    jit_module jit;
    auto f = jit.compile({"intrinsics",
                          {bx, out},
                          loop(io, n / 16, loop_kind::serial, loop(ii, 16, kind, seq(stores)))});
    std::vector<float> result(n * 6);
    call(f, args(x.data(), result.data()));
    for (int64_t k = 0; k < n; ++k) {
      float v = x[k];
      float expected[] = {std::exp(v), std::log(v), std::sqrt(v), std::tanh(v), v, std::erf(v)};
      for (int64_t m = 0; m < 6; ++m)
        BOOST_TEST_CONTEXT(names[m] << "(" << v << ")") {
          BOOST_TEST(result[m * n + k] == expected[m], boost::test_tools::tolerance(1e-6f));
        }
    }
  }
}

BOOST_AUTO_TEST_CASE(vectorized_loops_load_contiguous_broadcast_and_strided_data) {
  // out[i*16 + j] = a[i*16 + j] + s[i] + b[j*4 + i] + c[(j*j) % 7]; t[j*4 + i] = a[i*16 + j]
  const int64_t rows = 4, lanes = 16;
  auto a = random_floats(rows * lanes, 4), s = random_floats(rows, 5);
  auto b = random_floats(rows * lanes, 6), c = random_floats(7, 7);
  auto ba = make_buffer("a", dtype::f32, rows * lanes), bs = make_buffer("s", dtype::f32, rows);
  auto bb = make_buffer("b", dtype::f32, rows * lanes), bc = make_buffer("c", dtype::f32, 7);
  auto out = make_buffer("out", dtype::f32, rows * lanes);
  auto t = make_buffer("t", dtype::f32, rows * lanes);
  auto i = make_var("i"), j = make_var("j");
  auto body = seq({
      store(out, i * lanes + j,
            load(ba, i * lanes + j) + load(bs, i) + load(bb, j * 4 + i) + load(bc, (j * j) % 7)),
      store(t, j * 4 + i, load(ba, i * lanes + j)),
  });
  lowered_func func{"shapes",
                    {ba, bs, bb, bc, out, t},
                    loop(i, rows, loop_kind::serial, loop(j, lanes, loop_kind::vectorized, body))};
  jit_module jit;
  auto f = jit.compile(func);
  std::vector<float> result(rows * lanes), transposed(rows * lanes);
  call(f, args(a.data(), s.data(), b.data(), c.data(), result.data(), transposed.data()));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t l = 0; l < lanes; ++l) {
      BOOST_TEST(result[r * lanes + l] == a[r * lanes + l] + s[r] + b[l * 4 + r] + c[(l * l) % 7]);
      BOOST_TEST(transposed[l * 4 + r] == a[r * lanes + l]);
    }
  auto ir = optimized_ir({func});
  BOOST_TEST(ir.find("<16 x float>") != std::string::npos);
  BOOST_TEST(ir.find("masked.gather") != std::string::npos);
  BOOST_TEST(ir.find("masked.scatter") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_vectorized_accumulation_becomes_vector_fma_code) {
  const int64_t n = 64;
  auto a = random_floats(n * n, 8), b = random_floats(n * n, 9);
  auto func = matmul(n, 16, loop_kind::serial);
  jit_module jit;
  auto f = jit.compile(func);
  std::vector<float> c(n * n, -1);
  call(f, args(a.data(), b.data(), c.data()));
  auto expected = reference_matmul(a, b, n);
  for (int64_t k = 0; k < n * n; ++k)
    BOOST_TEST(c[k] == expected[k], boost::test_tools::tolerance(1e-4f));
  auto code = assembly({func});
  BOOST_TEST(code.find("zmm") != std::string::npos);
  BOOST_TEST(code.find("vfmadd") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unrolled_loops_substitute_each_value_of_the_loop_variable) {
  auto in = make_buffer("in", dtype::f32, 8), out = make_buffer("out", dtype::f32, 8);
  auto i = make_var("i"), u = make_var("u");
  auto idx = i * 4 + u;
  auto body = store(out, idx, load(in, idx) * cast(dtype::f32, u + 1));
  jit_module jit;
  auto f = jit.compile({"unrolled",
                        {in, out},
                        loop(i, 2, loop_kind::serial, loop(u, 4, loop_kind::unrolled, body))});
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8}, y(8);
  call(f, args(x.data(), y.data()));
  for (int k = 0; k < 8; ++k)
    BOOST_TEST(y[k] == x[k] * static_cast<float>(k % 4 + 1));
}

BOOST_AUTO_TEST_CASE(parallel_loops_compute_what_serial_loops_compute) {
  // for i in 0..8 (serial): parallel j in 0..1000: out[i*1000 + j] = a[...] * i + j
  // (nested parallel loop: out2 with an inner parallel loop that runs inline)
  const int64_t rows = 8, cols = 1000;
  auto a = random_floats(rows * cols, 10);
  for (auto& x : a)  // whole numbers: exact whether or not a*b + c is fused
    x = std::round(x * 100);
  for (int threads : {1, 3, 0}) {
    set_compiler_threads(threads);
    auto ba = make_buffer("a", dtype::f32, rows * cols);
    auto out = make_buffer("out", dtype::f32, rows * cols);
    auto out2 = make_buffer("out2", dtype::f32, rows * cols);
    auto i = make_var("i"), j = make_var("j"), p = make_var("p"), q = make_var("q");
    auto value = [&](const expr& r, const expr& c) {
      return load(ba, r * cols + c) * cast(dtype::f32, r) + cast(dtype::f32, c);
    };
    auto first = loop(i, rows, loop_kind::serial,
                      loop(j, cols, loop_kind::parallel, store(out, i * cols + j, value(i, j))));
    auto second = loop(p, rows, loop_kind::parallel,
                       loop(q, cols, loop_kind::parallel, store(out2, p * cols + q, value(p, q))));
    jit_module jit;
    auto f = jit.compile({"parallel", {ba, out, out2}, seq({first, second})});
    std::vector<float> r1(rows * cols), r2(rows * cols);
    call(f, args(a.data(), r1.data(), r2.data()));
    bool all_equal = true;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        float expected = a[r * cols + c] * static_cast<float>(r) + static_cast<float>(c);
        all_equal = all_equal && r1[r * cols + c] == expected && r2[r * cols + c] == expected;
      }
    BOOST_TEST(all_equal, "threads " << threads);
  }
  BOOST_TEST(compiler_threads() >= 1);
}

BOOST_AUTO_TEST_CASE(a_parallel_loop_with_an_offset_captures_enclosing_variables) {
  // for base in 0..3 (serial): parallel j in [base*10+1, base*10+1 + 9): out[j] += base + 1
  auto out = make_buffer("out", dtype::i64, 40);
  auto base = make_var("base"), j = make_var("j");
  auto inner = for_loop(j, base * 10 + 1, int_imm(9), loop_kind::parallel,
                        store(out, j, load(out, j) + base + 1));
  jit_module jit;
  auto f = jit.compile({"offset", {out}, loop(base, 3, loop_kind::serial, inner)});
  std::vector<int64_t> result(40, 0);
  call(f, args(result.data()));
  for (int64_t k = 0; k < 40; ++k) {
    int64_t block = (k - 1) / 10, expected = (k >= 1 && k < 30 && (k - 1) % 10 < 9) ? block + 1 : 0;
    BOOST_TEST(result[k] == expected, "element " << k);
  }
}

BOOST_AUTO_TEST_CASE(the_runtime_runs_every_iteration_exactly_once) {
  set_compiler_threads(4);
  std::vector<std::atomic<int>> hits(10007);
  auto body = [](int64_t begin, int64_t end, void* closure) {
    auto& counts = *static_cast<std::vector<std::atomic<int>>*>(closure);
    for (int64_t k = begin; k < end; ++k)
      counts[static_cast<size_t>(k)].fetch_add(1);
  };
  for (int round = 0; round < 50; ++round)
    troupe_parallel_for(static_cast<int64_t>(hits.size()), body, &hits);
  bool exact = true;
  for (auto& h : hits)
    exact = exact && h.load() == 50;
  BOOST_TEST(exact);
  troupe_parallel_for(0, body, &hits);  // nothing to do
  set_compiler_threads(0);
}

BOOST_AUTO_TEST_CASE(small_and_large_allocations_hold_intermediate_values) {
  for (int64_t n : {int64_t{64}, int64_t{1} << 20}) {
    auto in = make_buffer("in", dtype::f32, n), out = make_buffer("out", dtype::f32, n);
    auto tmp = make_buffer("tmp", dtype::f32, n);
    auto i = make_var("i"), k = make_var("k");
    auto body = allocate(
        tmp, seq({loop(i, n, loop_kind::serial, store(tmp, i, load(in, i) * 2)),
                  loop(k, n, loop_kind::serial, store(out, k, load(tmp, int_imm(n - 1) - k)))}));
    jit_module jit;
    auto f = jit.compile({"scratch", {in, out}, body});
    auto x = random_floats(static_cast<size_t>(n), 11);
    std::vector<float> y(static_cast<size_t>(n));
    call(f, args(x.data(), y.data()));
    bool reversed = true;
    for (int64_t m = 0; m < n; ++m)
      reversed = reversed && y[m] == x[n - 1 - m] * 2;
    BOOST_TEST(reversed, "size " << n);
  }
}

BOOST_AUTO_TEST_CASE(an_allocation_inside_a_parallel_loop_is_private_to_each_task) {
  const int64_t rows = 64, cols = 32;
  auto in = make_buffer("in", dtype::f32, rows * cols), out = make_buffer("out", dtype::f32, rows);
  auto row = make_buffer("row", dtype::f32, cols), acc = make_buffer("acc", dtype::f32, 1);
  auto r = make_var("r"), c = make_var("c"), c2 = make_var("c2");
  auto body = allocate(
      row,
      allocate(acc,
               seq({
                   loop(c, cols, loop_kind::vectorized, store(row, c, load(in, r * cols + c) * 3)),
                   store(acc, int_imm(0), float_imm(0)),
                   loop(c2, cols, loop_kind::serial,
                        store(acc, int_imm(0), load(acc, int_imm(0)) + load(row, c2))),
                   store(out, r, load(acc, int_imm(0))),
               })));
  jit_module jit;
  auto f = jit.compile({"rowsum", {in, out}, loop(r, rows, loop_kind::parallel, body)});
  auto x = random_floats(rows * cols, 12);
  std::vector<float> y(rows);
  call(f, args(x.data(), y.data()));
  for (int64_t m = 0; m < rows; ++m) {
    float expected = 0;
    for (int64_t n = 0; n < cols; ++n)
      expected += x[m * cols + n] * 3;
    BOOST_TEST(y[m] == expected, boost::test_tools::tolerance(1e-5f));
  }
}

BOOST_AUTO_TEST_CASE(guards_in_vectorized_loops_become_masked_loads_and_stores) {
  // n = 90 elements in chunks of 16: the last chunk's guard masks 6 lanes;
  // an if/else on the lane's parity masks both branches.
  const int64_t n = 90, lanes = 16, chunks = (n + lanes - 1) / lanes;
  auto a = random_floats(n, 13), b = random_floats(n, 14);
  auto ba = make_buffer("a", dtype::f32, n), bb = make_buffer("b", dtype::f32, n);
  auto out = make_buffer("out", dtype::f32, n), signs = make_buffer("signs", dtype::f32, n);
  auto io = make_var("io"), ii = make_var("ii");
  auto i = io * lanes + ii;
  auto body = if_then_else(
      i < int_imm(n),
      seq({store(out, i, load(ba, i) + load(bb, i)),
           if_then_else(binary(expr_op::eq, i % 2, int_imm(0)), store(signs, i, load(ba, i)),
                        store(signs, i, float_imm(0) - load(ba, i)))}));
  lowered_func func{
      "guarded",
      {ba, bb, out, signs},
      loop(io, chunks, loop_kind::serial, loop(ii, lanes, loop_kind::vectorized, body))};
  jit_module jit;
  auto f = jit.compile(func);
  std::vector<float> y(n + 16, 42), z(n + 16, 42);  // room to see stray stores
  call(f, args(a.data(), b.data(), y.data(), z.data()));
  for (int64_t k = 0; k < n; ++k) {
    BOOST_TEST(y[k] == a[k] + b[k]);
    BOOST_TEST(z[k] == (k % 2 == 0 ? a[k] : -a[k]));
  }
  for (int64_t k = n; k < n + 16; ++k)
    BOOST_TEST((y[k] == 42 && z[k] == 42), "element " << k << " past the end was written");
  auto ir = optimized_ir({func});
  BOOST_TEST(ir.find("masked.store") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(vectorized_loops_that_cannot_run_over_vectors_become_scalar_loops) {
  // A sum into an invariant index, a nested loop, and an integer division by
  // a variable under a lane-varying guard: all scalar, all correct.
  const int64_t n = 16;
  auto a = random_floats(n, 15);
  std::vector<int64_t> d = {1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0};
  auto ba = make_buffer("a", dtype::f32, n), total = make_buffer("total", dtype::f32, 1);
  auto bd = make_buffer("d", dtype::i64, n), quotients = make_buffer("q", dtype::i64, n);
  auto rows = make_buffer("rows", dtype::f32, n * 2);
  auto i = make_var("i"), j = make_var("j"), r = make_var("r");
  auto sum = seq({store(total, int_imm(0), float_imm(0)),
                  loop(j, n, loop_kind::vectorized,
                       store(total, int_imm(0), load(total, int_imm(0)) + load(ba, j)))});
  auto nested = loop(i, n, loop_kind::vectorized,
                     loop(r, 2, loop_kind::serial, store(rows, i * 2 + r, load(ba, i))));
  auto k = make_var("k");
  auto divide = loop(k, n, loop_kind::vectorized,
                     if_then_else(binary(expr_op::ne, load(bd, k), int_imm(0)),
                                  store(quotients, k, int_imm(100) / load(bd, k)),
                                  store(quotients, k, int_imm(-1))));
  jit_module jit;
  auto f = jit.compile({"fallbacks", {ba, total, bd, quotients, rows}, seq({sum, nested, divide})});
  std::vector<float> t(1), row_values(n * 2);
  std::vector<int64_t> q(n);
  call(f, args(a.data(), t.data(), d.data(), q.data(), row_values.data()));
  float expected_total = 0;
  for (int64_t m = 0; m < n; ++m) {
    expected_total += a[m];
    BOOST_TEST(q[m] == (d[m] != 0 ? floor_div(100, d[m]) : -1));
    BOOST_TEST((row_values[m * 2] == a[m] && row_values[m * 2 + 1] == a[m]));
  }
  BOOST_TEST(t[0] == expected_total, boost::test_tools::tolerance(1e-5f));
}

BOOST_AUTO_TEST_CASE(an_object_file_is_written_for_ahead_of_time_use) {
  auto path = boost::unit_test::framework::current_test_case().p_name.get() + ".o";
  emit_object_file({vector_add(1024, 16)}, path);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  BOOST_TEST(bytes.size() > 64u);
  BOOST_TEST(bytes.substr(0, 4)
             == std::string("\x7f"
                            "ELF"));
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(programs_code_generation_cannot_compile_are_refused_with_clear_errors) {
  auto i = make_var("i"), n = make_var("n");
  auto out = make_buffer("out", dtype::f32, 16), ghost = make_buffer("ghost", dtype::f32, 16);
  BOOST_CHECK_THROW(for_loop(i, int_imm(0), n, loop_kind::vectorized, store(out, i, float_imm(1))),
                    compile_error);
  jit_module jit;
  auto message_of = [&](lowered_func func) -> std::string {
    try {
      jit.compile(func);
    } catch (const compile_error& error) {
      return error.what();
    }
    return "";
  };
  auto ghost_read = message_of(
      {"ghost_read", {out}, loop(i, 16, loop_kind::serial, store(out, i, load(ghost, i)))});
  BOOST_TEST(ghost_read.find("'ghost'") != std::string::npos, ghost_read);
  auto unbound = message_of({"unbound", {out}, store(out, n, float_imm(1))});
  BOOST_TEST(unbound.find("'n'") != std::string::npos, unbound);
  jit.compile({"twice", {out}, store(out, int_imm(0), float_imm(1))});
  auto duplicate = message_of({"twice", {out}, store(out, int_imm(0), float_imm(2))});
  BOOST_TEST(duplicate.find("'twice'") != std::string::npos, duplicate);
  BOOST_CHECK_THROW(jit.lookup("nowhere"), compile_error);
}

BOOST_AUTO_TEST_CASE(performance_of_an_elementwise_add_and_a_naive_matmul) {
  const int64_t n = int64_t{1} << 24;
  auto a = random_floats(n, 14), b = random_floats(n, 15);
  std::vector<float> c(n);
  jit_module jit;
  auto add = jit.compile(vector_add(n, 16));
  call(add, args(a.data(), b.data(), c.data()));
  auto start = std::chrono::steady_clock::now();
  const int repeats = 10;
  for (int r = 0; r < repeats; ++r)
    call(add, args(a.data(), b.data(), c.data()));
  double add_seconds = seconds_since(start) / repeats;
  BOOST_TEST(c[12345] == a[12345] + b[12345]);
  BOOST_TEST_MESSAGE("elementwise add of 16M floats ("
                     << compiler_threads() << " threads): " << 3.0 * 4 * n / add_seconds / 1e9
                     << " GB/s");

  const int64_t m = 512;
  auto x = random_floats(m * m, 16), y = random_floats(m * m, 17);
  std::vector<float> z(m * m);
  for (auto kind : {loop_kind::serial, loop_kind::parallel}) {
    jit_module mm_jit;
    auto mm = mm_jit.compile(matmul(m, 16, kind));
    call(mm, args(x.data(), y.data(), z.data()));
    start = std::chrono::steady_clock::now();
    for (int r = 0; r < 3; ++r)
      call(mm, args(x.data(), y.data(), z.data()));
    double mm_seconds = seconds_since(start) / 3;
    BOOST_TEST_MESSAGE("matmul 512, j vectorized by 16, i " << to_string(kind) << ": "
                                                            << 2.0 * m * m * m / mm_seconds / 1e9
                                                            << " GFLOP/s");
  }
  auto expected = reference_matmul(x, y, m);
  BOOST_TEST(z[777] == expected[777], boost::test_tools::tolerance(1e-3f));
}
