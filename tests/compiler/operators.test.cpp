// Every operator of compiler/ops against a naive reference on random
// inputs, run through lowering with its default schedule (interpreted) and
// through the LLVM JIT where a test says so.
#define BOOST_TEST_MODULE operators
#include <boost/test/unit_test.hpp>

#include "compiler/ir/compile_error.hpp"
#include "compiler/ir/interpreter.hpp"
#include "compiler/lower/lower.hpp"
#include "compiler/ops/conv.hpp"
#include "compiler/ops/elementwise.hpp"
#include "compiler/ops/matmul.hpp"
#include "compiler/ops/normalization.hpp"
#include "compiler/ops/pool.hpp"

#include <cmath>
#include <random>

using namespace troupe::compiler;
namespace ops = troupe::compiler::ops;

namespace {

using values = std::vector<float>;

values random_values(const tensor& t, unsigned seed, float lo = -1, float hi = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  values v(static_cast<size_t>(element_count(t)));
  for (auto& x : v)
    x = dist(rng);
  return v;
}

/// Runs `out` = f(inputs) with the default schedule.
values run(const std::vector<tensor>& inputs, std::vector<values*> data, const tensor& out) {
  schedule s({out});
  auto args = inputs;
  args.push_back(out);
  auto func = lower(s, args, "op");
  values result(static_cast<size_t>(element_count(out)), std::nanf(""));
  std::vector<void*> pointers;
  for (auto* d : data)
    pointers.push_back(d->data());
  pointers.push_back(result.data());
  interpret(func, pointers);
  return result;
}

void require_close(const values& actual, const values& expected, float tolerance = 1e-4f) {
  BOOST_REQUIRE_EQUAL(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    if (!(std::abs(actual[i] - expected[i]) <= tolerance * (1 + std::abs(expected[i]))))
      BOOST_FAIL("element " << i << ": " << actual[i] << " != " << expected[i]);
}

// NCHW convolution reference with zero padding.
values conv_reference(const values& x, const values& w, int64_t n, int64_t c, int64_t h, int64_t wd,
                      int64_t o, int64_t kh, int64_t kw, const ops::conv_params& p, bool depthwise) {
  int64_t oh = ops::conv_output_size(h, kh, p.stride_h, p.pad_h);
  int64_t ow = ops::conv_output_size(wd, kw, p.stride_w, p.pad_w);
  values out(static_cast<size_t>(n * o * oh * ow), 0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < o; ++oc)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t xo = 0; xo < ow; ++xo) {
          float acc = 0;
          int64_t channels = depthwise ? 1 : c;
          for (int64_t ic = 0; ic < channels; ++ic)
            for (int64_t ry = 0; ry < kh; ++ry)
              for (int64_t rx = 0; rx < kw; ++rx) {
                int64_t iy = y * p.stride_h + ry - p.pad_h, ix = xo * p.stride_w + rx - p.pad_w;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd)
                  continue;
                int64_t in_c = depthwise ? oc : ic;
                float xv = x[static_cast<size_t>(((b * c + in_c) * h + iy) * wd + ix)];
                float wv = depthwise ? w[static_cast<size_t>((oc * kh + ry) * kw + rx)]
                                     : w[static_cast<size_t>(((oc * c + ic) * kh + ry) * kw + rx)];
                acc += xv * wv;
              }
          out[static_cast<size_t>(((b * o + oc) * oh + y) * ow + xo)] = acc;
        }
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(matmul_dense_and_batch_matmul_match_naive_loops) {
  auto a = placeholder({3, 4, 5}, "A");
  auto b = placeholder({3, 5, 6}, "B");
  auto x = random_values(a, 1), y = random_values(b, 2);
  values expected(3 * 4 * 6, 0);
  for (int bt = 0; bt < 3; ++bt)
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 6; ++j)
        for (int k = 0; k < 5; ++k)
          expected[static_cast<size_t>((bt * 4 + i) * 6 + j)] +=
              x[static_cast<size_t>((bt * 4 + i) * 5 + k)] * y[static_cast<size_t>((bt * 5 + k) * 6 + j)];
  require_close(run({a, b}, {&x, &y}, ops::batch_matmul(a, b)), expected);

  auto in = placeholder({4, 5}, "X");
  auto w = placeholder({6, 5}, "W");
  auto xi = random_values(in, 3), wi = random_values(w, 4);
  values dense_expected(24, 0);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 6; ++j)
      for (int k = 0; k < 5; ++k)
        dense_expected[static_cast<size_t>(i * 6 + j)] += xi[static_cast<size_t>(i * 5 + k)] * wi[static_cast<size_t>(j * 5 + k)];
  require_close(run({in, w}, {&xi, &wi}, ops::dense(in, w)), dense_expected);
  BOOST_CHECK_THROW(ops::matmul(in, w), compile_error);
}

BOOST_AUTO_TEST_CASE(elementwise_ops_broadcast_like_numpy) {
  auto a = placeholder({2, 3, 4}, "a");
  auto b = placeholder({3, 1}, "b");
  auto x = random_values(a, 5), y = random_values(b, 6);
  values expected(24);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k)
        expected[static_cast<size_t>((i * 3 + j) * 4 + k)] = x[static_cast<size_t>((i * 3 + j) * 4 + k)] * y[static_cast<size_t>(j)];
  require_close(run({a, b}, {&x, &y}, ops::multiply(a, b)), expected);
  auto relu_expected = x;
  for (auto& v : relu_expected)
    v = std::max(v, 0.0f);
  require_close(run({a}, {&x}, ops::relu(a)), relu_expected);
  auto c = placeholder({2, 5}, "c");
  BOOST_CHECK_THROW(ops::add(a, c), compile_error);
}

BOOST_AUTO_TEST_CASE(convolutions_match_the_reference_with_stride_and_padding) {
  ops::conv_params p{2, 2, 1, 1};
  auto data = placeholder({1, 3, 9, 8}, "data");
  auto weight = placeholder({4, 3, 3, 3}, "weight");
  auto x = random_values(data, 7), w = random_values(weight, 8);
  auto expected = conv_reference(x, w, 1, 3, 9, 8, 4, 3, 3, p, false);
  require_close(run({data, weight}, {&x, &w}, ops::conv2d_nchw(data, weight, p)), expected);

  auto dw_weight = placeholder({3, 1, 3, 3}, "dw");
  auto dw = random_values(dw_weight, 9);
  require_close(run({data, dw_weight}, {&x, &dw}, ops::depthwise_conv2d_nchw(data, dw_weight, p)),
                conv_reference(x, dw, 1, 3, 9, 8, 3, 3, 3, p, true));

  // Blocked layout: pack, convolve, unpack gives the NCHW result.
  auto data4 = placeholder({1, 4, 6, 6}, "data4");
  auto weight4 = placeholder({8, 4, 3, 3}, "weight4");
  auto x4 = random_values(data4, 10), w4 = random_values(weight4, 11);
  ops::conv_params same{1, 1, 1, 1};
  auto blocked = ops::from_nchwc(ops::conv2d_nchwc(ops::to_nchwc(data4, 2),
                                                   ops::pack_conv_weight(weight4, 2, 4), same));
  require_close(run({data4, weight4}, {&x4, &w4}, blocked),
                conv_reference(x4, w4, 1, 4, 6, 6, 8, 3, 3, same, false));
  // Blocked depthwise: the channels of a block are lanes; pack, convolve,
  // unpack gives the NCHW result, with stride 2 and with stride 1.
  auto data8 = placeholder({1, 8, 7, 6}, "data8");
  auto dw8 = placeholder({8, 1, 3, 3}, "dw8");
  auto x8 = random_values(data8, 16), w8 = random_values(dw8, 17);
  for (auto params : {p, same}) {
    auto blocked_dw = ops::from_nchwc(ops::depthwise_conv2d_nchwc(
        ops::to_nchwc(data8, 4), ops::pack_depthwise_weight(dw8, 4), params));
    require_close(run({data8, dw8}, {&x8, &w8}, blocked_dw),
                  conv_reference(x8, w8, 1, 8, 7, 6, 8, 3, 3, params, true));
  }
  BOOST_CHECK_THROW(ops::pack_depthwise_weight(dw8, 3), compile_error);
  BOOST_CHECK_THROW(ops::depthwise_conv2d_nchwc(ops::to_nchwc(data8, 4),
                                                ops::pack_depthwise_weight(dw8, 2), p),
                    compile_error);
  BOOST_CHECK_THROW(ops::conv2d_nchw(data, weight4, p), compile_error);
  BOOST_CHECK_THROW(ops::to_nchwc(data, 2), compile_error);
}

BOOST_AUTO_TEST_CASE(pooling_ignores_padding) {
  auto data = placeholder({1, 2, 5, 5}, "data");
  auto x = random_values(data, 12);
  ops::pool_params p{3, 3, 2, 2, 1, 1};
  values max_expected(2 * 3 * 3), avg_expected(2 * 3 * 3);
  for (int c = 0; c < 2; ++c)
    for (int y = 0; y < 3; ++y)
      for (int xo = 0; xo < 3; ++xo) {
        float best = -INFINITY, total = 0;
        int count = 0;
        for (int ry = 0; ry < 3; ++ry)
          for (int rx = 0; rx < 3; ++rx) {
            int iy = y * 2 + ry - 1, ix = xo * 2 + rx - 1;
            if (iy < 0 || iy >= 5 || ix < 0 || ix >= 5)
              continue;
            float v = x[static_cast<size_t>((c * 5 + iy) * 5 + ix)];
            best = std::max(best, v);
            total += v;
            ++count;
          }
        max_expected[static_cast<size_t>((c * 3 + y) * 3 + xo)] = best;
        avg_expected[static_cast<size_t>((c * 3 + y) * 3 + xo)] = total / static_cast<float>(count);
      }
  require_close(run({data}, {&x}, ops::max_pool2d(data, p)), max_expected);
  require_close(run({data}, {&x}, ops::avg_pool2d(data, p)), avg_expected);
  values global(2, 0);
  for (int c = 0; c < 2; ++c) {
    for (int i = 0; i < 25; ++i)
      global[static_cast<size_t>(c)] += x[static_cast<size_t>(c * 25 + i)];
    global[static_cast<size_t>(c)] /= 25;
  }
  require_close(run({data}, {&x}, ops::global_avg_pool2d(data)), global);
}

BOOST_AUTO_TEST_CASE(softmax_layer_norm_and_batch_norm_match_their_formulas) {
  auto x = placeholder({3, 7}, "x");
  auto xv = random_values(x, 13, -5, 5);
  values soft(21), norm(21);
  auto gamma = placeholder({7}, "gamma"), beta = placeholder({7}, "beta");
  auto g = random_values(gamma, 14), bt = random_values(beta, 15);
  for (int r = 0; r < 3; ++r) {
    float m = -INFINITY, total = 0, mean = 0, var = 0;
    for (int i = 0; i < 7; ++i)
      m = std::max(m, xv[static_cast<size_t>(r * 7 + i)]);
    for (int i = 0; i < 7; ++i)
      total += std::exp(xv[static_cast<size_t>(r * 7 + i)] - m);
    for (int i = 0; i < 7; ++i)
      soft[static_cast<size_t>(r * 7 + i)] = std::exp(xv[static_cast<size_t>(r * 7 + i)] - m) / total;
    for (int i = 0; i < 7; ++i)
      mean += xv[static_cast<size_t>(r * 7 + i)] / 7;
    for (int i = 0; i < 7; ++i)
      var += (xv[static_cast<size_t>(r * 7 + i)] - mean) * (xv[static_cast<size_t>(r * 7 + i)] - mean) / 7;
    for (int i = 0; i < 7; ++i)
      norm[static_cast<size_t>(r * 7 + i)] = (xv[static_cast<size_t>(r * 7 + i)] - mean) / std::sqrt(var + 1e-5f) * g[static_cast<size_t>(i)] + bt[static_cast<size_t>(i)];
  }
  require_close(run({x}, {&xv}, ops::softmax(x)), soft);
  require_close(run({x, gamma, beta}, {&xv, &g, &bt}, ops::layer_norm(x, gamma, beta)), norm);

  auto data = placeholder({2, 3, 2, 2}, "data");
  auto dv = random_values(data, 16);
  std::vector<tensor> stats;
  std::vector<values> stat_values;
  for (int s = 0; s < 4; ++s) {
    stats.push_back(placeholder({3}, "stat" + std::to_string(s)));
    stat_values.push_back(random_values(stats.back(), static_cast<unsigned>(17 + s), 0.5f, 1.5f));
  }
  values bn(24);
  for (int i = 0; i < 24; ++i) {
    auto c = static_cast<size_t>((i / 4) % 3);
    bn[static_cast<size_t>(i)] = (dv[static_cast<size_t>(i)] - stat_values[2][c])
        * (stat_values[0][c] / std::sqrt(stat_values[3][c] + 1e-5f)) + stat_values[1][c];
  }
  require_close(run({data, stats[0], stats[1], stats[2], stats[3]},
                    {&dv, &stat_values[0], &stat_values[1], &stat_values[2], &stat_values[3]},
                    ops::batch_norm(data, stats[0], stats[1], stats[2], stats[3])),
                bn);
  BOOST_CHECK_THROW(ops::layer_norm(x, stats[0], beta), compile_error);
}
