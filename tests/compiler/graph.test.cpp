// The graph level: passes (batch-norm folding, constant folding, layout
// transformation, fusion, memory planning) keep the model's values, and
// the compiled executor computes what the operators compute one by one in
// the interpreter; bad graphs are refused with the node named.
#define BOOST_TEST_MODULE graph
#include <boost/test/unit_test.hpp>

#include "compiler/executor/graph_executor.hpp"
#include "compiler/graph/interpret_graph.hpp"
#include "compiler/graph/op_registry.hpp"
#include "compiler/ir/compile_error.hpp"
#include "compiler/ir/interpreter.hpp"
#include "compiler/lower/lower.hpp"
#include "compiler/passes/fold_batch_norm.hpp"
#include "compiler/passes/fold_constants.hpp"
#include "compiler/passes/fuse_operators.hpp"
#include "compiler/passes/plan_memory.hpp"
#include "compiler/passes/transform_layout.hpp"
#include "test_values.hpp"
#include "compiler/tuning/graph_tasks.hpp"

#include <cmath>
#include <random>

using namespace troupe::compiler;

namespace {

using testing::random_values;

int64_t count_of(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto d : shape)
    n *= d;
  return n;
}

int constant(graph& g, const std::string& name, std::vector<int64_t> shape, unsigned seed,
             float lo = -0.5f, float hi = 0.5f) {
  return testing::random_constant(g, name, std::move(shape), seed, lo, hi);
}

/// Every operator on its own, with the default schedule, interpreted.
std::vector<std::vector<float>> reference(const graph& g, const std::vector<std::vector<float>>& inputs) {
  return interpret_graph(g, inputs);
}

void require_close(const std::vector<float>& actual, const std::vector<float>& expected,
                   float tolerance = 1e-3f) {
  BOOST_REQUIRE_EQUAL(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    if (!(std::abs(actual[i] - expected[i]) <= tolerance * (1 + std::abs(expected[i]))))
      BOOST_FAIL("element " << i << ": " << actual[i] << " != " << expected[i]);
}

size_t ops_named(const graph& g, const std::string& op) {
  size_t n = 0;
  for (auto& node : g.nodes)
    n += node.op == op;
  return n;
}

/// conv-bn-relu, maxpool, a residual block, global pooling and a dense head.
graph small_resnet(int64_t channels = 16) {
  graph g;
  int x = g.add_input("image", {1, 3, 16, 16});
  int c1 = g.add_op("conv2d", {x, constant(g, "w1", {channels, 3, 3, 3}, 1)},
                    {{"strides", {1, 1}}, {"pads", {1, 1}}}, {}, "conv1");
  int bn = g.add_op("batch_norm", {c1, constant(g, "gamma", {channels}, 2, 0.5f, 1.5f),
                                   constant(g, "beta", {channels}, 3),
                                   constant(g, "mean", {channels}, 4),
                                   constant(g, "var", {channels}, 5, 0.5f, 1.5f)},
                    {}, {{"epsilon", 1e-5}}, "bn1");
  int r1 = g.add_op("relu", {bn}, {}, {}, "relu1");
  int pool = g.add_op("max_pool2d", {r1}, {{"kernel", {3, 3}}, {"strides", {2, 2}}, {"pads", {1, 1}}},
                      {}, "pool");
  int c2 = g.add_op("conv2d", {pool, constant(g, "w2", {channels, channels, 3, 3}, 6),
                               constant(g, "b2", {channels}, 7)},
                    {{"strides", {1, 1}}, {"pads", {1, 1}}}, {}, "conv2");
  int r2 = g.add_op("relu", {c2}, {}, {}, "relu2");
  int c3 = g.add_op("conv2d", {r2, constant(g, "w3", {channels, channels, 3, 3}, 8)},
                    {{"strides", {1, 1}}, {"pads", {1, 1}}}, {}, "conv3");
  int sum = g.add_op("add", {c3, pool}, {}, {}, "residual");
  int r3 = g.add_op("relu", {sum}, {}, {}, "relu3");
  int gap = g.add_op("global_avg_pool2d", {r3}, {}, {}, "gap");
  int flat = g.add_op("flatten", {gap}, {}, {}, "flatten");
  int fc = g.add_op("dense", {flat, constant(g, "fc_w", {32, channels}, 9), constant(g, "fc_b", {32}, 10)},
                    {}, {}, "fc");
  g.mark_output(fc);
  return g;
}

graph mlp(int64_t batch) {
  graph g;
  int x = g.add_input("x", {batch, 784});
  int h1 = g.add_op("dense", {x, constant(g, "w1", {256, 784}, 11, -0.05f, 0.05f),
                              constant(g, "b1", {256}, 12)}, {}, {}, "fc1");
  int a1 = g.add_op("relu", {h1}, {}, {}, "relu1");
  int h2 = g.add_op("dense", {a1, constant(g, "w2", {256, 256}, 13, -0.1f, 0.1f),
                              constant(g, "b2", {256}, 14)}, {}, {}, "fc2");
  int a2 = g.add_op("relu", {h2}, {}, {}, "relu2");
  int h3 = g.add_op("dense", {a2, constant(g, "w3", {10, 256}, 15, -0.1f, 0.1f),
                              constant(g, "b3", {10}, 16)}, {}, {}, "fc3");
  g.mark_output(h3);
  return g;
}

} // namespace

BOOST_AUTO_TEST_CASE(batch_norm_folds_into_the_convolution_without_changing_values) {
  auto g = small_resnet();
  auto folded = fold_batch_norm(g);
  BOOST_TEST(ops_named(folded, "batch_norm") == 0u);
  BOOST_TEST(ops_named(folded, "conv2d") == 3u);
  auto input = random_values(3 * 16 * 16, 20);
  require_close(reference(folded, {input})[0], reference(g, {input})[0], 1e-4f);
}

BOOST_AUTO_TEST_CASE(constant_folding_evaluates_operators_on_constants) {
  graph g;
  int x = g.add_input("x", {4});
  int a = g.add_constant("a", {4}, {1, 2, 3, 4});
  int b = g.add_constant("b", {4}, {10, 20, 30, 40});
  int ab = g.add_op("multiply", {a, b}, {}, {}, "ab");
  int y = g.add_op("add", {x, ab}, {}, {}, "y");
  g.mark_output(y);
  auto folded = fold_constants(g);
  BOOST_TEST(ops_named(folded, "multiply") == 0u);
  BOOST_TEST(folded.nodes.size() == 3u);  // x, the folded product, y
  auto& product = folded.node(folded.node(folded.outputs[0]).inputs[1]);
  BOOST_TEST(product.op == "constant");
  BOOST_TEST((*product.data == std::vector<float>{10, 40, 90, 160}));
}

BOOST_AUTO_TEST_CASE(layout_transformation_keeps_convolutions_blocked_between_them) {
  auto g = fold_batch_norm(small_resnet());
  auto blocked = transform_layout(g);
  BOOST_TEST(ops_named(blocked, "conv2d_nchwc") == 3u);
  BOOST_TEST(ops_named(blocked, "conv2d") == 0u);
  // Into the blocked layout once, before conv1; pooling and the residual
  // add stay blocked; out of it once, before flatten.
  BOOST_TEST(ops_named(blocked, "to_nchwc") == 1u, print(blocked));
  BOOST_TEST(ops_named(blocked, "from_nchwc") == 1u, print(blocked));
  BOOST_TEST(ops_named(blocked, "dense_packed") == 1u);
  auto input = random_values(3 * 16 * 16, 21);
  require_close(reference(blocked, {input})[0], reference(g, {input})[0], 1e-4f);
}

BOOST_AUTO_TEST_CASE(fusion_follows_the_four_operator_patterns) {
  auto g = fuse_operators(fold_batch_norm(small_resnet()));
  auto group_of = [&](const std::string& name) {
    for (auto& n : g.nodes)
      if (n.name == name)
        return n.fusion_group;
    return -2;
  };
  // Complex-out-fusable absorbs its elementwise consumers...
  BOOST_TEST(group_of("bn1") == group_of("relu1"));  // bn1 is conv1 after folding
  BOOST_TEST(group_of("conv2") == group_of("relu2"));
  BOOST_TEST(group_of("conv3") == group_of("residual"));
  BOOST_TEST(group_of("residual") == group_of("relu3"));
  // ...but not a value that has two users (the pool feeds conv2 and the residual).
  BOOST_TEST(group_of("pool") != group_of("conv2"));
  // A reduction starts its own group; the dense head too.
  BOOST_TEST(group_of("gap") != group_of("relu3"));
  BOOST_TEST(group_of("fc") != group_of("flatten"));
  BOOST_TEST(group_of("flatten") != group_of("gap"));
}

BOOST_AUTO_TEST_CASE(memory_planning_reuses_buffers_of_dead_tensors) {
  graph g;
  int x = g.add_input("x", {1024});
  int v = x;
  for (int i = 0; i < 8; ++i)
    v = g.add_op(i % 2 ? "relu" : "add", i % 2 ? std::vector<int>{v} : std::vector<int>{v, x});
  g.mark_output(v);
  auto unfused = optimize_graph(g, {false, false, false});
  auto plan = plan_memory(unfused);
  BOOST_TEST(plan.naive_bytes == 7 * 1024 * 4);  // seven intermediates
  BOOST_TEST(plan.planned_bytes == 2 * 1024 * 4);  // ping-pong between two blocks
  graph_executor executor(unfused);
  auto input = random_values(1024, 22);
  require_close(executor.run({input})[0], reference(g, {input})[0], 1e-5f);
}

BOOST_AUTO_TEST_CASE(the_compiled_mlp_matches_the_reference) {
  for (int64_t batch : {1, 5, 16}) {
    auto g = mlp(batch);
    graph_executor executor(optimize_graph(g));
    // The 256-wide layers in panels of 32, the 10-wide one as one panel of 10.
    BOOST_TEST(ops_named(executor.model(), "dense_packed") == 3u);
    auto input = random_values(batch * 784, 23);
    require_close(executor.run({input})[0], reference(g, {input})[0]);
  }
}

BOOST_AUTO_TEST_CASE(the_compiled_cnn_matches_the_reference_fused_or_not) {
  auto g = small_resnet();
  auto input = random_values(3 * 16 * 16, 24);
  auto expected = reference(g, {input})[0];
  graph_executor fused(optimize_graph(g));
  require_close(fused.run({input})[0], expected);
  graph_executor plain(optimize_graph(g, {true, false, false}));
  require_close(plain.run({input})[0], expected);
  BOOST_TEST(fused.function_count() < plain.function_count());
}

BOOST_AUTO_TEST_CASE(a_depthwise_block_compiles_to_the_reference_values) {
  // 8 channels stay NCHW; 32 fill two blocks of 16 and run blocked.
  for (int64_t channels : {8, 32})
    for (int64_t width : {14, 32, 9}) {
      graph g;
      int x = g.add_input("x", {1, channels, width, width});
      int dw = g.add_op("conv2d", {x, constant(g, "dw", {channels, 1, 3, 3}, 30)},
                        {{"strides", {1, 1}}, {"pads", {1, 1}}, {"groups", {channels}}}, {}, "dw");
      int r = g.add_op("relu", {dw}, {}, {}, "relu");
      int strided = g.add_op("conv2d", {r, constant(g, "dw2", {channels, 1, 3, 3}, 31)},
                             {{"strides", {2, 2}}, {"pads", {1, 1}}, {"groups", {channels}}}, {},
                             "dw2");
      g.mark_output(strided);
      auto input = random_values(channels * width * width, 32);
      graph_executor executor(optimize_graph(g));
      BOOST_TEST_CONTEXT("channels " << channels << ", width " << width) {
        BOOST_TEST(ops_named(executor.model(), "depthwise_conv2d_nchwc") == (channels == 32 ? 2u : 0u));
        require_close(executor.run({input})[0], reference(g, {input})[0]);
      }
    }
}

BOOST_AUTO_TEST_CASE(a_blocked_depthwise_convolution_adds_its_bias_and_matches_unblocked) {
  graph g;
  int x = g.add_input("x", {1, 48, 10, 12});
  int dw = g.add_op("conv2d", {x, constant(g, "dw", {48, 1, 3, 3}, 33), constant(g, "b", {48}, 34)},
                    {{"strides", {2, 1}}, {"pads", {1, 1}}, {"groups", {48}}}, {}, "dw");
  g.mark_output(g.add_op("relu", {dw}, {}, {}, "relu"));
  auto input = random_values(48 * 10 * 12, 35);
  auto expected = reference(g, {input})[0];
  graph_executor blocked(optimize_graph(g));
  BOOST_TEST(ops_named(blocked.model(), "depthwise_conv2d_nchwc") == 1u);
  require_close(blocked.run({input})[0], expected);
  graph_executor plain(optimize_graph(g, {true, false, true}));
  BOOST_TEST(ops_named(plain.model(), "depthwise_conv2d_nchwc") == 0u);
  require_close(plain.run({input})[0], expected);
}

BOOST_AUTO_TEST_CASE(bad_graphs_are_refused_naming_the_node) {
  graph g;
  int x = g.add_input("x", {2, 8});
  BOOST_TEST(testing::error_of([&] { g.add_op("gelu", {x}); }).find("unsupported operator 'gelu'")
             != std::string::npos);
  int w = g.add_constant("w", {4, 7}, std::vector<float>(28, 0.5f));
  auto mismatch = testing::error_of([&] { g.add_op("dense", {x, w}, {}, {}, "head"); });
  BOOST_TEST(mismatch.find("head") != std::string::npos, mismatch);
  BOOST_TEST(mismatch.find("input features differ") != std::string::npos, mismatch);
  int ok = g.add_op("relu", {x}, {}, {}, "r");
  g.mark_output(ok);
  graph_executor executor(optimize_graph(g));
  BOOST_TEST(testing::error_of([&] { executor.run({std::vector<float>(3)}); }).find("input 'x' needs 16")
             != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_tasks_of_a_cnn_are_its_blocked_convolutions_counted_by_node) {
  auto optimized = optimize_graph(small_resnet());
  auto tasks = extract_tuning_tasks(optimized);
  BOOST_REQUIRE_EQUAL(tasks.size(), 2u);
  BOOST_TEST(tasks[0].task.name() == "conv2d_3x16x16x16x3x1x1");  // conv1
  BOOST_TEST(tasks[0].nodes == 1);
  BOOST_TEST(tasks[1].task.name() == "conv2d_16x8x8x16x3x1x1");  // conv2 and conv3 after the pool
  BOOST_TEST(tasks[1].nodes == 2);
  // The task's candidate has the node's parameters: same blocked data and packed weight.
  for (auto& n : optimized.nodes)
    if (auto task = tuning_task_of(optimized, n)) {
      auto sizes = parameter_sizes(*task);
      BOOST_TEST(sizes[0] == count_of(optimized.node(n.inputs[0]).shape));
      BOOST_TEST(sizes[1] == count_of(optimized.node(n.inputs[1]).shape));
      BOOST_TEST(sizes[2] == count_of(n.shape));
    }
  // Unblocked convolutions have no task.
  BOOST_TEST(extract_tuning_tasks(optimize_graph(small_resnet(), {true, false, true})).empty());
}

BOOST_AUTO_TEST_CASE(tuned_configs_change_the_convolution_schedules_but_not_the_values) {
  auto g = small_resnet();
  auto input = random_values(3 * 16 * 16, 24);
  auto expected = reference(g, {input})[0];
  auto optimized = optimize_graph(g);
  graph_executor untuned(optimized);
  // The defaults: reg_n 8 for both widths (16 and 8); tuned: 4 and 2, the
  // second with two rows a tile and the taps outside the channels.
  // (reg_n, oc_tile, reg_h, taps_outer, unroll_taps)
  tuned_configs tuned{{"conv2d_3x16x16x16x3x1x1", {4, 1, 1, 0, 0}},
                      {"conv2d_16x8x8x16x3x1x1", {2, 1, 2, 1, 1}},
                      {"conv2d_99x1x1x16x1x1x0", {1, 1, 1, 0, 0}}};
  graph_executor tuned_executor(optimized, tuned);
  BOOST_TEST(untuned.tuned_function_count() == 0u);
  BOOST_TEST(tuned_executor.tuned_function_count() == 3u);
  require_close(tuned_executor.run({input})[0], expected);
  require_close(untuned.run({input})[0], expected);
  auto text = tuned_executor.lowered_text(), default_text = untuned.lowered_text();
  BOOST_TEST(text != default_text);
  // The register tile's width is the extent of the accumulator's unrolled
  // pixel loop (conv1 is named bn1 once the batch norm folds into it).
  BOOST_TEST(text.find("unrolled (bn1.l, 0, 4)") != std::string::npos);
  BOOST_TEST(text.find("unrolled (conv2.l, 0, 2)") != std::string::npos);
  BOOST_TEST(text.find("unrolled (conv3.l, 0, 2)") != std::string::npos);
  BOOST_TEST(default_text.find("unrolled (bn1.l, 0, 8)") != std::string::npos);
  BOOST_TEST(default_text.find("unrolled (conv2.l, 0, 8)") != std::string::npos);
  // A config that does not fit the node (reg_n 3 does not divide 16; a
  // record of the older two-knob template) is ignored.
  graph_executor misfit(optimized, {{"conv2d_3x16x16x16x3x1x1", {3, 1, 1, 0, 0}},
                                    {"conv2d_16x8x8x16x3x1x1", {2, 1}}});
  BOOST_TEST(misfit.tuned_function_count() == 0u);
  BOOST_TEST(misfit.lowered_text() == default_text);
}

BOOST_AUTO_TEST_CASE(a_tuned_depthwise_config_changes_its_tile_but_not_the_values) {
  graph g;
  int x = g.add_input("x", {1, 32, 12, 12});
  int dw = g.add_op("conv2d", {x, constant(g, "dw", {32, 1, 3, 3}, 36)},
                    {{"strides", {1, 1}}, {"pads", {1, 1}}, {"groups", {32}}}, {}, "dw");
  g.mark_output(g.add_op("relu", {dw}, {}, {}, "relu"));
  auto input = random_values(32 * 12 * 12, 37);
  auto expected = reference(g, {input})[0];
  auto optimized = optimize_graph(g);
  auto tasks = extract_tuning_tasks(optimized);
  BOOST_TEST_REQUIRE(tasks.size() == 1u);
  BOOST_TEST(tasks[0].task.name() == "depthwise_conv2d_32x12x12x3x1x1");
  graph_executor untuned(optimized);
  graph_executor tuned(optimized, {{"depthwise_conv2d_32x12x12x3x1x1", {4, 2}}});  // reg_n, reg_h
  BOOST_TEST(tuned.tuned_function_count() == 1u);
  require_close(tuned.run({input})[0], expected);
  BOOST_TEST(tuned.lowered_text() != untuned.lowered_text());
  graph_executor misfit(optimized, {{"depthwise_conv2d_32x12x12x3x1x1", {7, 1}}});  // 7 ∤ 12
  BOOST_TEST(misfit.tuned_function_count() == 0u);
}
