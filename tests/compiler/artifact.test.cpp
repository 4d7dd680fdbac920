// Compiled-model artifacts: a saved model loads (in this process or a fresh
// one) without compiling and computes bit for bit what the executor it was
// saved from computes; files that are missing, not artifacts, of another
// version, truncated or corrupt are refused with the path and the problem.
#define BOOST_TEST_MODULE artifact
#include <boost/test/unit_test.hpp>

#include "compiler/executor/artifact.hpp"
#include "compiler/ir/compile_error.hpp"
#include "test_values.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

using namespace troupe::compiler;

namespace {

using testing::random_values;

int constant(graph& g, const std::string& name, std::vector<int64_t> shape, unsigned seed,
             float lo = -0.5f, float hi = 0.5f) {
  return testing::random_constant(g, name, std::move(shape), seed, lo, hi);
}

graph mlp(int64_t batch) {
  graph g;
  int x = g.add_input("x", {batch, 64});
  int h1 = g.add_op("dense", {x, constant(g, "w1", {128, 64}, 11, -0.1f, 0.1f),
                              constant(g, "b1", {128}, 12)}, {}, {}, "fc1");
  int a1 = g.add_op("relu", {h1}, {}, {}, "relu1");
  int h2 = g.add_op("dense", {a1, constant(g, "w2", {10, 128}, 13, -0.1f, 0.1f),
                              constant(g, "b2", {10}, 14)}, {}, {}, "fc2");
  g.mark_output(h2);
  return g;
}

/// conv-bn-relu, pooling, a residual add and a dense head: layouts,
/// attributes and several groups.
graph small_cnn() {
  graph g;
  int x = g.add_input("image", {1, 3, 12, 12});
  int c1 = g.add_op("conv2d", {x, constant(g, "w1", {16, 3, 3, 3}, 1)},
                    {{"strides", {1, 1}}, {"pads", {1, 1}}}, {}, "conv1");
  int bn = g.add_op("batch_norm", {c1, constant(g, "gamma", {16}, 2, 0.5f, 1.5f),
                                   constant(g, "beta", {16}, 3), constant(g, "mean", {16}, 4),
                                   constant(g, "var", {16}, 5, 0.5f, 1.5f)},
                    {}, {{"epsilon", 1e-5}}, "bn1");
  int r1 = g.add_op("relu", {bn}, {}, {}, "relu1");
  int pool = g.add_op("max_pool2d", {r1},
                      {{"kernel", {3, 3}}, {"strides", {2, 2}}, {"pads", {1, 1}}}, {}, "pool");
  int c2 = g.add_op("conv2d", {pool, constant(g, "w2", {16, 16, 3, 3}, 6), constant(g, "b2", {16}, 7)},
                    {{"strides", {1, 1}}, {"pads", {1, 1}}}, {}, "conv2");
  int sum = g.add_op("add", {c2, pool}, {}, {}, "residual");
  int r2 = g.add_op("relu", {sum}, {}, {}, "relu2");
  int gap = g.add_op("global_avg_pool2d", {r2}, {}, {}, "gap");
  int flat = g.add_op("flatten", {gap}, {}, {}, "flatten");
  int fc = g.add_op("dense", {flat, constant(g, "fc_w", {10, 16}, 9), constant(g, "fc_b", {10}, 10)},
                    {}, {}, "fc");
  g.mark_output(fc);
  return g;
}

std::vector<std::vector<float>> inputs_of(const graph_executor& e, unsigned seed) {
  std::vector<std::vector<float>> inputs;
  for (int id : e.model().inputs)
    inputs.push_back(random_values(e.model().elements(id), seed++));
  return inputs;
}

bool bitwise_equal(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].size() != b[i].size()
        || std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(float)) != 0)
      return false;
  return true;
}

/// A file in a fresh temporary folder, removed with it.
struct temp_dir {
  std::filesystem::path dir;
  temp_dir() {
    char name[] = "/tmp/troupe-artifact-XXXXXX";
    dir = mkdtemp(name);
  }
  ~temp_dir() { std::filesystem::remove_all(dir); }
  std::string file(const std::string& name) const { return (dir / name).string(); }
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Expects load_artifact(path) to throw a compile_error naming the path and
/// containing `problem`.
void expect_refused(const std::string& path, const std::string& problem) {
  try {
    load_artifact(path);
    BOOST_FAIL("loading '" + path + "' should fail with: " + problem);
  } catch (const compile_error& e) {
    std::string what = e.what();
    BOOST_TEST_MESSAGE(what);
    BOOST_TEST(what.find(path) != std::string::npos, what);
    BOOST_TEST(what.find(problem) != std::string::npos, what);
  }
}

/// One saved MLP, shared by the bad-input tests.
struct saved_mlp {
  temp_dir tmp;
  std::string path = tmp.file("mlp.troupe");
  std::string bytes;
  saved_mlp() {
    graph_executor compiled(optimize_graph(mlp(4)));
    save_artifact(compiled, path);
    bytes = read_bytes(path);
  }
};

} // namespace

BOOST_AUTO_TEST_CASE(a_loaded_mlp_computes_bitwise_what_the_compiled_one_does) {
  temp_dir tmp;
  graph_executor compiled(optimize_graph(mlp(8)));
  auto path = tmp.file("mlp.troupe");
  save_artifact(compiled, path);
  auto loaded = load_artifact(path);
  BOOST_TEST(loaded->function_count() == compiled.function_count());
  BOOST_TEST(loaded->lowered_functions().empty());  // nothing was lowered again
  BOOST_TEST(loaded->plan().planned_bytes == compiled.plan().planned_bytes);
  BOOST_TEST(print(loaded->model()) == print(compiled.model()));
  for (unsigned seed : {1u, 2u, 3u}) {
    auto inputs = inputs_of(compiled, seed);
    BOOST_TEST(bitwise_equal(loaded->run(inputs), compiled.run(inputs)));
  }
}

BOOST_AUTO_TEST_CASE(a_loaded_cnn_with_layouts_and_fused_groups_computes_bitwise_the_same) {
  temp_dir tmp;
  for (bool fuse : {true, false}) {
    graph_executor compiled(optimize_graph(small_cnn(), {true, true, fuse}));
    auto path = tmp.file(fuse ? "fused.troupe" : "unfused.troupe");
    save_artifact(compiled, path);
    auto loaded = load_artifact(path);
    BOOST_TEST(loaded->function_count() == compiled.function_count());
    auto inputs = inputs_of(compiled, 7);
    BOOST_TEST(bitwise_equal(loaded->run(inputs), compiled.run(inputs)));
  }
}

BOOST_AUTO_TEST_CASE(two_artifacts_load_side_by_side_in_one_process) {
  temp_dir tmp;
  graph_executor a(optimize_graph(mlp(2)));
  graph_executor b(optimize_graph(small_cnn()));
  save_artifact(a, tmp.file("a"));
  save_artifact(b, tmp.file("b"));
  auto la = load_artifact(tmp.file("a"));
  auto la_again = load_artifact(tmp.file("a"));
  auto lb = load_artifact(tmp.file("b"));
  auto in_a = inputs_of(a, 4);
  auto in_b = inputs_of(b, 5);
  BOOST_TEST(bitwise_equal(la->run(in_a), a.run(in_a)));
  BOOST_TEST(bitwise_equal(la_again->run(in_a), a.run(in_a)));
  BOOST_TEST(bitwise_equal(lb->run(in_b), b.run(in_b)));
}

// The child half of the next test, disabled unless that test runs this
// binary again naming it (a plain fork would inherit the parent's thread
// pool without its threads).
BOOST_AUTO_TEST_CASE(child_loads_an_artifact_and_writes_its_outputs,
                     *boost::unit_test::disabled()) {
  const char* spec = std::getenv("TROUPE_ARTIFACT_CHILD");
  BOOST_REQUIRE(spec);
  std::string dir = spec;
  auto in = read_bytes(dir + "/inputs.bin");
  auto loaded = load_artifact(dir + "/mlp.troupe");
  std::vector<float> input(in.size() / sizeof(float));
  std::memcpy(input.data(), in.data(), in.size());
  auto outputs = loaded->run({input});
  write_bytes(dir + "/outputs.bin", std::string(reinterpret_cast<const char*>(outputs.at(0).data()),
                                                outputs.at(0).size() * sizeof(float)));
}

BOOST_AUTO_TEST_CASE(a_fresh_process_loads_the_artifact_and_computes_the_same) {
  temp_dir tmp;
  graph_executor compiled(optimize_graph(mlp(4)));
  save_artifact(compiled, tmp.file("mlp.troupe"));
  auto inputs = inputs_of(compiled, 9);
  auto expected = compiled.run(inputs);
  write_bytes(tmp.file("inputs.bin"), std::string(reinterpret_cast<const char*>(inputs[0].data()),
                                                  inputs[0].size() * sizeof(float)));
  pid_t pid = fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    setenv("TROUPE_ARTIFACT_CHILD", tmp.dir.c_str(), 1);
    execl("/proc/self/exe", "artifact_test",
          "--run_test=child_loads_an_artifact_and_writes_its_outputs", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  BOOST_REQUIRE(waitpid(pid, &status, 0) == pid);
  BOOST_REQUIRE(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
  auto bytes = read_bytes(tmp.file("outputs.bin"));
  BOOST_REQUIRE(bytes.size() == expected.at(0).size() * sizeof(float));
  BOOST_TEST(std::memcmp(bytes.data(), expected[0].data(), bytes.size()) == 0);
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_refused_with_its_path) {
  temp_dir tmp;
  expect_refused(tmp.file("nowhere.troupe"), "cannot open");
}

BOOST_AUTO_TEST_CASE(a_file_without_the_magic_is_not_a_compiled_model) {
  saved_mlp saved;
  write_bytes(saved.path, "ir_version: 8\nthis is an onnx text dump, not an artifact");
  expect_refused(saved.path, "not a compiled model");
  write_bytes(saved.path, "");
  expect_refused(saved.path, "not a compiled model");
}

BOOST_AUTO_TEST_CASE(another_format_version_is_refused) {
  saved_mlp saved;
  auto bytes = saved.bytes;
  uint32_t version = artifact_version + 1;
  std::memcpy(bytes.data() + 8, &version, sizeof(version));
  write_bytes(saved.path, bytes);
  expect_refused(saved.path, "format version " + std::to_string(version));
}

BOOST_AUTO_TEST_CASE(a_truncated_file_is_refused_wherever_it_ends) {
  saved_mlp saved;
  for (size_t size : {size_t{10}, size_t{20}, size_t{40}, saved.bytes.size() / 2,
                      saved.bytes.size() - 1}) {
    write_bytes(saved.path, saved.bytes.substr(0, size));
    expect_refused(saved.path, "truncated");
  }
}

BOOST_AUTO_TEST_CASE(a_flipped_byte_is_refused_as_corrupt) {
  saved_mlp saved;
  for (size_t at : {size_t{30}, saved.bytes.size() / 3, saved.bytes.size() - 5}) {
    auto bytes = saved.bytes;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x5a);
    write_bytes(saved.path, bytes);
    expect_refused(saved.path, "corrupt");
  }
}

BOOST_AUTO_TEST_CASE(a_loaded_model_cannot_be_saved_again) {
  saved_mlp saved;
  auto loaded = load_artifact(saved.path);
  BOOST_CHECK_THROW(save_artifact(*loaded, saved.tmp.file("again")), compile_error);
}
