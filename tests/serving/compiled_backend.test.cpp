// The "compiled" backend serves artifacts of `troupe compile`: an MLP gives
// the classes its executor computes, in batches of any size (chunked to the
// compiled batch size, the last chunk padded), and refuses bad inputs and
// bad files with the index or path named.
#define BOOST_TEST_MODULE compiled_backend
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <fstream>

#include "actors/serving/compiled_backend.hpp"
#include "compiler/executor/artifact.hpp"
#include "messages/errors.hpp"
#include "tests/compiler/test_values.hpp"
#include "tests/support/test_support.hpp"

using namespace troupe;
using namespace troupe::serving;
namespace tc = troupe::compiler;

namespace {

constexpr int64_t batch_size = 4;
constexpr int64_t features = 64;

using tc::testing::random_values;

/// A digits-shaped MLP: [4, 64] -> 32 -> `classes`.
tc::graph mlp(int64_t classes) {
  tc::graph g;
  int x = g.add_input("x", {batch_size, features});
  int w1 = g.add_constant("w1", {32, features}, random_values(32 * features, 1, -0.3f, 0.3f));
  int b1 = g.add_constant("b1", {32}, random_values(32, 2, -0.1f, 0.1f));
  int h = g.add_op("relu", {g.add_op("dense", {x, w1, b1}, {}, {}, "fc1")}, {}, {}, "relu1");
  int w2 = g.add_constant("w2", {classes, 32}, random_values(classes * 32, 3, -0.3f, 0.3f));
  int b2 = g.add_constant("b2", {classes}, random_values(classes, 4, -0.1f, 0.1f));
  g.mark_output(g.add_op("dense", {h, w2, b2}, {}, {}, "fc2"));
  return g;
}

query_input numbers(std::vector<double> values) {
  query_input x;
  x.kind = input_kind::doubles;
  x.numbers = std::move(values);
  return x;
}

struct fixture {
  test::temp_dir dir;
  std::string path = dir.file("mlp.troupe");
  tc::graph_executor compiled{tc::optimize_graph(mlp(10))};

  fixture() { tc::save_artifact(compiled, path); }

  backend_ptr open() {
    model_spec spec;
    spec.name = "mlp";
    spec.backend = "compiled";
    spec.path = path;
    auto b = open_backend(spec);
    BOOST_REQUIRE_MESSAGE(b, test::why(b));
    return *b;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(compiled_backend, fixture)

BOOST_AUTO_TEST_CASE(a_served_mlp_answers_the_classes_its_executor_computes_for_any_batch_size) {
  auto backend = open();
  BOOST_TEST(backend->input().numeric);
  BOOST_TEST(backend->input().length == static_cast<uint64_t>(features));
  BOOST_TEST_MESSAGE(backend->describe());
  // 11 inputs: two full chunks of 4 and one of 3, padded.
  auto values = random_values(11 * features, 7, 0.0f, 16.0f);
  query_inputs batch;
  for (int r = 0; r < 11; ++r)
    batch.push_back(numbers({values.begin() + r * features, values.begin() + (r + 1) * features}));
  auto out = backend->predict(batch);
  BOOST_REQUIRE_MESSAGE(out, test::why(out));
  BOOST_REQUIRE_EQUAL(out->size(), 11u);
  std::set<std::string> distinct;
  for (int first = 0; first < 11; first += batch_size) {
    std::vector<float> chunk(static_cast<size_t>(batch_size * features), 0.0f);
    auto rows = std::min<int64_t>(batch_size, 11 - first);
    std::copy(values.begin() + first * features, values.begin() + (first + rows) * features,
              chunk.begin());
    auto logits = compiled.run({chunk}).at(0);
    for (int64_t r = 0; r < rows; ++r) {
      auto row = logits.begin() + r * 10;
      auto expected = std::to_string(std::max_element(row, row + 10) - row);
      BOOST_TEST((*out)[static_cast<size_t>(first + r)] == expected, "input " << first + r);
      distinct.insert(expected);
    }
  }
  BOOST_TEST_MESSAGE(distinct.size() << " distinct classes");
  // Alone, an input gets the answer it got in a full batch.
  auto alone = backend->predict({batch[9]});
  BOOST_REQUIRE_MESSAGE(alone, test::why(alone));
  BOOST_TEST(alone->at(0) == out->at(9));
}

BOOST_AUTO_TEST_CASE(an_empty_batch_answers_no_outputs) {
  auto out = open()->predict({});
  BOOST_REQUIRE_MESSAGE(out, test::why(out));
  BOOST_TEST(out->empty());
}

BOOST_AUTO_TEST_CASE(a_model_with_one_value_per_row_answers_the_value) {
  tc::graph_executor regression(tc::optimize_graph(mlp(1)));
  tc::save_artifact(regression, path);
  auto out = open()->predict({numbers(std::vector<double>(features, 1.0))});
  BOOST_REQUIRE_MESSAGE(out, test::why(out));
  std::vector<float> ones(static_cast<size_t>(batch_size * features), 0.0f);
  std::fill(ones.begin(), ones.begin() + features, 1.0f);
  std::ostringstream expected;
  expected << static_cast<double>(regression.run({ones}).at(0)[0]);
  BOOST_TEST(out->at(0) == expected.str());
}

BOOST_AUTO_TEST_CASE(a_wrong_input_length_names_the_input_and_both_lengths) {
  auto out = open()->predict({numbers(std::vector<double>(features, 0.0)),
                              numbers(std::vector<double>(features, 0.0)),
                              numbers(std::vector<double>(10, 0.0))});
  BOOST_REQUIRE(!out);
  BOOST_TEST(is(out.error(), errc::invalid_argument));
  auto msg = describe(out.error());
  BOOST_TEST(msg.find("input 2") != std::string::npos, msg);
  BOOST_TEST(msg.find("expected 64 values, got 10") != std::string::npos, msg);
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_not_found_and_names_the_path) {
  auto b = open_compiled_backend(dir.file("nowhere.troupe"));
  BOOST_REQUIRE(!b);
  BOOST_TEST(is(b.error(), errc::not_found));
  BOOST_TEST(describe(b.error()).find("nowhere.troupe") != std::string::npos, describe(b.error()));
}

BOOST_AUTO_TEST_CASE(a_file_that_is_no_compiled_model_is_refused_naming_the_path) {
  std::ofstream(path, std::ios::trunc) << "{\"learner\": {}}";
  auto b = open_compiled_backend(path);
  BOOST_REQUIRE(!b);
  BOOST_TEST(is(b.error(), errc::invalid_argument));
  auto msg = describe(b.error());
  BOOST_TEST(msg.find(path) != std::string::npos, msg);
  BOOST_TEST(msg.find("not a compiled model") != std::string::npos, msg);
}

BOOST_AUTO_TEST_SUITE_END()
