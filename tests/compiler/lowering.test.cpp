// Lowering: schedules become loop programs that compute the same values
// as the default schedule (interpreted and compiled), guards appear
// only where a split leaves a remainder, and illegal schedules are refused
// with errors that name the stage and the loop.
#define BOOST_TEST_MODULE lowering
#include <boost/test/unit_test.hpp>

#include "compiler/codegen/jit.hpp"
#include "compiler/ir/compile_error.hpp"
#include "compiler/ir/interpreter.hpp"
#include "compiler/ir/printer.hpp"
#include "compiler/lower/lower.hpp"
#include "compiler/schedules/matmul_schedule.hpp"
#include "test_values.hpp"

#include <random>

using namespace troupe::compiler;

namespace {

std::vector<float> random_values(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> v(n);
  for (auto& x : v)
    x = dist(rng);
  return v;
}

struct matmul_case {
  int64_t m, n, k;
  tensor a, b, c;
  matmul_case(int64_t m_, int64_t n_, int64_t k_) : m(m_), n(n_), k(k_) {
    a = placeholder({m, k}, "A");
    b = placeholder({k, n}, "B");
    auto r = reduce_axis(k, "r");
    c = compute({m, n}, [&](const std::vector<expr>& i) {
      return sum(read(a, {i[0], r.var}) * read(b, {r.var, i[1]}), {r});
    }, "C");
  }
  std::vector<float> reference(const std::vector<float>& x, const std::vector<float>& y) const {
    std::vector<float> out(static_cast<size_t>(m * n), 0);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        float acc = 0;
        for (int64_t r = 0; r < k; ++r)
          acc += x[static_cast<size_t>(i * k + r)] * y[static_cast<size_t>(r * n + j)];
        out[static_cast<size_t>(i * n + j)] = acc;
      }
    return out;
  }
  /// Interpreted, or compiled to native code.
  std::vector<float> run(const schedule& s, bool compiled) const {
    auto x = random_values(static_cast<size_t>(m * k), 1);
    auto y = random_values(static_cast<size_t>(k * n), 2);
    std::vector<float> out(static_cast<size_t>(m * n), -7);
    auto func = lower(s, {a, b, c}, "matmul");
    if (compiled) {
      jit_module jit;
      void* args[] = {x.data(), y.data(), out.data()};
      jit.compile(func)(args);
    } else {
      interpret(func, {x.data(), y.data(), out.data()});
    }
    return out;
  }
  void check(const schedule& s) const {
    auto x = random_values(static_cast<size_t>(m * k), 1);
    auto y = random_values(static_cast<size_t>(k * n), 2);
    auto expected = reference(x, y);
    for (bool compiled : {false, true}) {
      auto actual = run(s, compiled);
      for (size_t i = 0; i < expected.size(); ++i)
        if (std::abs(actual[i] - expected[i]) > 1e-4f)
          BOOST_FAIL((compiled ? "compiled" : "interpreted") << " element " << i << ": " << actual[i]
                     << " != " << expected[i] << " in\n" << print(lower(s, {a, b, c}, "matmul")));
    }
  }
};

} // namespace

BOOST_AUTO_TEST_CASE(the_default_schedule_of_a_matmul_computes_the_product) {
  matmul_case mm(5, 7, 3);
  schedule s({mm.c});
  mm.check(s);
  auto text = print(lower(s, {mm.a, mm.b, mm.c}, "matmul"));
  BOOST_TEST_MESSAGE(text);
  BOOST_TEST(text.find("if") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_exact_split_needs_no_guard_and_an_inexact_one_does) {
  matmul_case mm(8, 8, 4);
  schedule exact({mm.c});
  exact.split(mm.c, mm.c->axes[0].var, 4);
  auto exact_text = print(lower(exact, {mm.a, mm.b, mm.c}, "f"));
  BOOST_TEST(exact_text.find("if") == std::string::npos, exact_text);
  mm.check(exact);

  schedule inexact({mm.c});
  inexact.split(mm.c, mm.c->axes[0].var, 3);
  auto inexact_text = print(lower(inexact, {mm.a, mm.b, mm.c}, "f"));
  BOOST_TEST(inexact_text.find("if") != std::string::npos, inexact_text);
  mm.check(inexact);
}

BOOST_AUTO_TEST_CASE(a_tiled_reordered_matmul_with_cache_write_and_compute_at_is_correct) {
  matmul_case mm(16, 24, 10);
  schedule s({mm.c});
  auto local = s.cache_write(mm.c);
  auto tiles = s.tile(mm.c, mm.c->axes[0].var, mm.c->axes[1].var, 4, 8);
  s.compute_at(local, mm.c, tiles[1]);
  auto& l = s.at(local);
  auto k = l.leaf_vars[2];
  auto [ko, ki] = s.split(local, k, 2);
  s.reorder(local, {ko, ki, l.leaf_vars[0], l.leaf_vars[1]});
  s.vectorize(local, s.at(local).leaf_vars.back());
  s.unroll(local, ki);
  s.parallel(mm.c, tiles[0]);
  auto func = lower(s, {mm.a, mm.b, mm.c}, "matmul");
  auto text = print(func);
  BOOST_TEST_MESSAGE(text);
  // The local accumulator holds one 4x8 tile.
  BOOST_TEST(text.find("allocate C.local[f32 * 32]") != std::string::npos, text);
  mm.check(s);
}

BOOST_AUTO_TEST_CASE(fused_loops_and_inlined_producers_compute_the_same_values) {
  auto a = placeholder({6, 10}, "A");
  auto scaled = compute({6, 10}, [&](const std::vector<expr>& i) {
    return read(a, i) * float_imm(2);
  }, "scaled");
  auto relu = compute({6, 10}, [&](const std::vector<expr>& i) {
    return max_of(read(scaled, i), float_imm(0));
  }, "relu");
  schedule s({relu});
  s.compute_inline(scaled);
  auto fused = s.fuse(relu, relu->axes[0].var, relu->axes[1].var);
  s.split(relu, fused, 7);
  auto func = lower(s, {a, relu}, "relu");
  BOOST_TEST(print(func).find("scaled") == std::string::npos);
  auto x = random_values(60, 3);
  std::vector<float> out(60, -1);
  interpret(func, {x.data(), out.data()});
  for (size_t i = 0; i < 60; ++i)
    BOOST_REQUIRE_EQUAL(out[i], std::max(x[i] * 2, 0.0f));
}

BOOST_AUTO_TEST_CASE(illegal_schedules_are_refused_with_the_stage_and_loop_named) {
  matmul_case mm(8, 8, 4);
  schedule s({mm.c});
  auto i = mm.c->axes[0].var;
  BOOST_TEST(testing::error_of([&] { s.split(mm.c, i, 0); }).find("factor must be positive")
             != std::string::npos);
  auto stranger = make_var("q");
  BOOST_TEST(testing::error_of([&] { s.split(mm.c, stranger, 2); }).find("'q' is not a loop of stage 'C'")
             != std::string::npos);
  auto r = reduction_axes(mm.c)[0].var;
  BOOST_TEST(testing::error_of([&] { s.parallel(mm.c, r); }).find("reduction axis") != std::string::npos);
  BOOST_TEST(testing::error_of([&] { s.vectorize(mm.c, r); }).find("reduction axis") != std::string::npos);
  BOOST_TEST(testing::error_of([&] { s.split(mm.a, i, 2); }).find("input") != std::string::npos);
  BOOST_TEST(testing::error_of([&] { s.compute_inline(mm.c); }).find("reduction") != std::string::npos);

  auto a = placeholder({4}, "X");
  auto p = compute({4}, [&](const std::vector<expr>& j) { return read(a, j) + float_imm(1); }, "P");
  auto c = compute({4}, [&](const std::vector<expr>& j) { return read(p, j) * float_imm(3); }, "Q");
  schedule t({c});
  BOOST_TEST(testing::error_of([&] { t.compute_at(p, c, make_var("elsewhere")); })
                 .find("outside the consumer's loops") != std::string::npos);
  BOOST_TEST(testing::error_of([&] { lower(t, {c}, "f"); }).find("input 'X'") != std::string::npos);
  BOOST_TEST(testing::error_of([&] { lower(t, {a}, "f"); }).find("output 'Q'") != std::string::npos);
  BOOST_TEST(testing::error_of([&] { t.fuse(c, c->axes[0].var, c->axes[0].var); }).find("right before")
             != std::string::npos);
}

BOOST_AUTO_TEST_CASE(random_schedules_compute_what_the_default_schedule_computes) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 300; ++trial) {
    std::uniform_int_distribution<int64_t> size(1, 12);
    matmul_case mm(size(rng), size(rng), size(rng));
    schedule s({mm.c});
    tensor target = mm.c;
    if (rng() % 2) {
      auto local = s.cache_write(mm.c);
      auto& c_stage = s.at(mm.c);
      auto var = c_stage.leaf_vars[rng() % c_stage.leaf_vars.size()];
      auto [outer, inner] = s.split(mm.c, var, 1 + static_cast<int64_t>(rng() % 5));
      s.compute_at(local, mm.c, rng() % 2 ? outer : inner);
      target = local;
    }
    for (int step = 0; step < 4; ++step) {
      auto leaves = s.at(target).leaf_vars;
      auto var = leaves[rng() % leaves.size()];
      switch (rng() % 4) {
        case 0: s.split(target, var, 1 + static_cast<int64_t>(rng() % 6)); break;
        case 1: {
          auto shuffled = leaves;
          std::shuffle(shuffled.begin(), shuffled.end(), rng);
          s.reorder(target, shuffled);
          break;
        }
        case 2: {
          auto position = static_cast<size_t>(rng() % leaves.size());
          if (position + 1 < leaves.size()) {
            auto& st = s.at(target);
            auto a = leaves[position], b = leaves[position + 1];
            if (is_reduction_loop(st, a) == is_reduction_loop(st, b))
              s.fuse(target, a, b);
          }
          break;
        }
        default:
          if (!is_reduction_loop(s.at(target), var))
            s.vectorize(target, var);
          else
            s.unroll(target, var);
      }
    }
    auto& outer = s.at(mm.c).leaf_vars.front();
    if (rng() % 3 == 0 && !is_reduction_loop(s.at(mm.c), outer))
      s.parallel(mm.c, outer);
    BOOST_TEST_CONTEXT("trial " << trial << " " << mm.m << "x" << mm.n << "x" << mm.k) {
      mm.check(s);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_tensorized_matmul_calls_the_kernel_and_computes_the_product) {
  for (int64_t block : {0, 4}) {
    matmul_case mm(16, 64, 12);
    schedule s({mm.c});
    auto tiles = s.tile(mm.c, mm.c->axes[0].var, mm.c->axes[1].var, 8, 32);
    auto r = reduction_axes(mm.c)[0].var;
    if (block == 0) {
      s.reorder(mm.c, {tiles[0], tiles[1], tiles[2], tiles[3], r});
      s.tensorize(mm.c, tiles[2], gemm_accumulate_intrinsic(8, 32, 12));
    } else {
      // Reduction blocks outside the kernel: the initialization stays above them.
      auto [ko, ki] = s.split(mm.c, r, block);
      s.reorder(mm.c, {tiles[0], tiles[1], ko, tiles[2], tiles[3], ki});
      s.tensorize(mm.c, tiles[2], gemm_accumulate_intrinsic(8, 32, block));
    }
    auto text = print(lower(s, {mm.a, mm.b, mm.c}, "matmul"));
    BOOST_TEST(text.find("troupe_gemm_accumulate_f32(&C[") != std::string::npos, text);
    auto x = random_values(static_cast<size_t>(16 * 12), 1);
    auto y = random_values(static_cast<size_t>(12 * 64), 2);
    auto expected = mm.reference(x, y);
    auto actual = mm.run(s, true);
    for (size_t i = 0; i < expected.size(); ++i)
      BOOST_REQUIRE_SMALL(actual[i] - expected[i], 1e-4f);
  }
}

BOOST_AUTO_TEST_CASE(the_tensorized_matmul_schedule_with_packed_panels_is_correct) {
  matmul_config config;
  config.tensorize = true;
  config.block_k = 16;
  auto kernel = make_matmul(32, 64, 48, config);
  auto func = lower(*kernel.sched, kernel.args(), "packed");
  std::vector<float> a = random_values(32 * 48, 3), b = random_values(48 * 64, 4), c(32 * 64, -1);
  jit_module jit;
  void* args[] = {a.data(), b.data(), c.data()};
  jit.compile(func)(args);
  for (int64_t i = 0; i < 32; ++i)
    for (int64_t j = 0; j < 64; ++j) {
      float expected = 0;
      for (int64_t k = 0; k < 48; ++k)
        expected += a[static_cast<size_t>(i * 48 + k)] * b[static_cast<size_t>(k * 64 + j)];
      BOOST_REQUIRE_SMALL(c[static_cast<size_t>(i * 64 + j)] - expected, 1e-4f);
    }
}

BOOST_AUTO_TEST_CASE(a_tensorize_that_does_not_match_is_refused_with_what_differs) {
  matmul_case mm(16, 64, 12);
  {
    schedule s({mm.c});
    auto tiles = s.tile(mm.c, mm.c->axes[0].var, mm.c->axes[1].var, 4, 32);
    s.tensorize(mm.c, tiles[2], gemm_accumulate_intrinsic(8, 32, 12));
    auto message = testing::error_of([&] { lower(s, {mm.a, mm.b, mm.c}, "f"); });
    BOOST_TEST(message.find("does not match axis") != std::string::npos, message);
  }
  {
    // An elementwise stage is not a matrix product.
    auto x = placeholder({8, 32}, "X");
    auto y = compute({8, 32}, [&](const std::vector<expr>& i) { return read(x, i) + float_imm(1); },
                     "Y");
    schedule s({y});
    auto r = reduce_axis(1, "unused");
    (void)r;
    s.tensorize(y, y->axes[0].var, gemm_accumulate_intrinsic(8, 32, 1));
    auto message = testing::error_of([&] { lower(s, {x, y}, "f"); });
    BOOST_TEST(message.find("tensorize of stage 'Y'") != std::string::npos, message);
  }
  {
    // Reading A transposed: the kernel's strides cannot express it.
    auto a = placeholder({12, 8}, "At");
    auto b = placeholder({12, 32}, "B");
    auto k = reduce_axis(12, "k");
    auto c = compute({8, 32}, [&](const std::vector<expr>& i) {
      return sum(read(a, {k.var, i[0]}) * read(b, {k.var, i[1]}), {k});
    }, "Ct");
    schedule s({c});
    s.tensorize(c, c->axes[0].var, gemm_accumulate_intrinsic(8, 32, 12));
    auto func = lower(s, {a, b, c}, "transposed");  // strides (1, 8): legal for the kernel
    std::vector<float> av = random_values(12 * 8, 5), bv = random_values(12 * 32, 6), cv(8 * 32);
    jit_module jit;
    void* args[] = {av.data(), bv.data(), cv.data()};
    jit.compile(func)(args);
    float expected = 0;
    for (int r = 0; r < 12; ++r)
      expected += av[static_cast<size_t>(r * 8 + 3)] * bv[static_cast<size_t>(r * 32 + 5)];
    BOOST_REQUIRE_SMALL(cv[3 * 32 + 5] - expected, 1e-4f);
  }
  {
    schedule s({mm.c});
    auto [io, ii] = s.split(mm.c, mm.c->axes[0].var, 3);  // 16 = 5*3 + 1: a remainder
    (void)io;
    s.tensorize(mm.c, ii, gemm_accumulate_intrinsic(3, 64, 12));
    auto message = testing::error_of([&] { lower(s, {mm.a, mm.b, mm.c}, "f"); });
    BOOST_TEST(message.find("remainder") != std::string::npos, message);
  }
  schedule s({mm.c});
  BOOST_TEST(testing::error_of([&] { s.tensorize(mm.c, make_var("z"), gemm_accumulate_intrinsic(8, 32, 12)); })
                 .find("'z' is not a loop of stage 'C'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(cache_read_copies_an_input_tile_next_to_its_reader) {
  matmul_case mm(16, 32, 8);
  schedule s({mm.c});
  auto copy = s.cache_read(mm.a, {mm.c});
  auto [io, ii] = s.split(mm.c, mm.c->axes[0].var, 4);
  (void)ii;
  s.compute_at(copy, mm.c, io);  // only the 4 rows of A this row block reads
  auto text = print(lower(s, {mm.a, mm.b, mm.c}, "matmul"));
  BOOST_TEST(text.find("allocate A.shared[f32 * 32]") != std::string::npos, text);
  mm.check(s);
  auto message = [&] {
    try {
      s.cache_read(mm.b, {copy});
    } catch (const compile_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  }();
  BOOST_TEST(message.find("does not read 'B'") != std::string::npos, message);
}
