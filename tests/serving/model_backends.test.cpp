// In-process models behind Clipper's container interface: the models that
// troupe-make-models writes (real XGBoost and TorchScript files), opened
// through open_backend and served by model container actors.
#define BOOST_TEST_MODULE model_backends
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <caf/scoped_actor.hpp>

#include "actors/serving/model_backend.hpp"
#include "actors/serving/model_container.hpp"
#include "messages/errors.hpp"
#include "tests/support/test_support.hpp"

using namespace troupe;
using namespace troupe::serving;
using namespace std::chrono_literals;

namespace {

/// The models, made once per run by the real program into a temporary folder.
const test::temp_dir& models() {
  static test::temp_dir dir;
  static bool made = [] {
    auto r = test::run_command("timeout 180 " MAKE_MODELS " --out " + dir.path());
    BOOST_TEST_MESSAGE(r.output);
    BOOST_REQUIRE_MESSAGE(r.status == 0, "troupe-make-models failed: " << r.output);
    return true;
  }();
  (void) made;
  return dir;
}

model_spec spec(const std::string& backend, const std::string& file) {
  model_spec s;
  s.name = file.empty() ? backend : file;
  s.backend = backend;
  s.path = file.empty() ? "" : models().file(file);
  return s;
}

query_input numbers(std::vector<double> xs, input_kind kind = input_kind::doubles) {
  return query_input{kind, std::move(xs), {}};
}

query_input text(std::string s) {
  return query_input{input_kind::strings, {}, std::move(s)};
}

/// test.csv: inputs (64 pixel values as ints) and their labels.
std::pair<query_inputs, std::vector<std::string>> held_out_digits() {
  std::ifstream in{models().file("test.csv")};
  query_inputs xs;
  std::vector<std::string> labels;
  for (std::string line; std::getline(in, line);) {
    std::vector<double> row;
    std::stringstream fields{line};
    for (std::string f; std::getline(fields, f, ',');)
      row.push_back(std::stod(f));
    BOOST_REQUIRE_EQUAL(row.size(), 65u);
    labels.push_back(std::to_string(static_cast<int>(row.back())));
    row.pop_back();
    xs.push_back(numbers(std::move(row), input_kind::ints));
  }
  BOOST_REQUIRE_GT(xs.size(), 300u);
  return {std::move(xs), std::move(labels)};
}

/// A container for the backend `s` names, and a blocking client of it.
struct fixture {
  test::client_system client;
  caf::scoped_actor self{client.sys()};

  model_container_actor open(const model_spec& s) {
    auto backend = open_backend(s);
    BOOST_REQUIRE_MESSAGE(backend, test::why(backend));
    return spawn_model_container(client.sys(), *backend, wants_own_thread(s));
  }

  caf::expected<model_outputs> predict(const model_container_actor& c, const query_inputs& xs) {
    caf::expected<model_outputs> result{caf::error{}};
    self->request(c, 10s, predict_atom::value, xs)
      .receive([&](model_outputs& out) { result = std::move(out); },
               [&](caf::error& e) { result = std::move(e); });
    return result;
  }

  double accuracy(const model_container_actor& c) {
    auto [xs, labels] = held_out_digits();
    auto out = predict(c, xs);
    BOOST_REQUIRE_MESSAGE(out, test::why(out));
    BOOST_REQUIRE_EQUAL(out->size(), labels.size());
    size_t right = 0;
    for (size_t i = 0; i < labels.size(); ++i)
      right += (*out)[i] == labels[i] ? 1 : 0;
    return static_cast<double>(right) / static_cast<double>(labels.size());
  }

  /// A bad batch fails with `fragments` in its message, and the container
  /// then answers `good` with one output per input.
  void expect_rejected_then_served(const model_container_actor& c, const query_inputs& bad,
                                   const std::vector<std::string>& fragments,
                                   const query_inputs& good) {
    auto out = predict(c, bad);
    BOOST_REQUIRE(!out);
    auto msg = describe(out.error());
    BOOST_TEST_MESSAGE(msg);
    BOOST_CHECK(is(out.error(), errc::invalid_argument));
    for (auto& f : fragments)
      BOOST_CHECK_MESSAGE(msg.find(f) != std::string::npos, "'" << f << "' not in: " << msg);
    auto next = predict(c, good);
    BOOST_REQUIRE_MESSAGE(next, test::why(next));
    BOOST_CHECK_EQUAL(next->size(), good.size());
  }
};

/// Throws on every other batch: what a buggy model does.
class throwing_backend : public model_backend {
public:
  bool logic = false;
  int calls = 0;
  caf::expected<model_outputs> predict(const query_inputs& batch) override {
    if (++calls % 2 == 1) {
      if (logic)
        throw std::invalid_argument("bad shape");
      throw std::runtime_error("disk on fire");
    }
    return model_outputs(batch.size(), "ok");
  }
  std::string describe() const override { return "throwing model"; }
  input_requirement input() const override { return {false, 0}; }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(model_backends, fixture)

BOOST_AUTO_TEST_CASE(an_xgboost_model_labels_held_out_digits_above_90_percent) {
  auto acc = accuracy(open(spec("xgboost", "digits_xgb.json")));
  BOOST_TEST_MESSAGE("xgboost digits accuracy " << acc);
  BOOST_CHECK_GT(acc, 0.9);
}

BOOST_AUTO_TEST_CASE(a_container_on_its_own_thread_or_on_the_workers_answers_alike) {
  auto own = spec("xgboost", "digits_xgb.json");
  own.thread = "own";
  auto shared = own;
  shared.thread = "shared";
  BOOST_CHECK(wants_own_thread(own));
  BOOST_CHECK(!wants_own_thread(shared));
  auto [xs, labels] = held_out_digits();
  auto a = predict(open(own), xs);
  auto b = predict(open(shared), xs);
  BOOST_REQUIRE_MESSAGE(a, test::why(a));
  BOOST_REQUIRE_MESSAGE(b, test::why(b));
  BOOST_CHECK(*a == *b);
  BOOST_CHECK_EQUAL(a->size(), labels.size());
  BOOST_CHECK(wants_own_thread(model_spec{}));  // the default
}

BOOST_AUTO_TEST_CASE(a_torchscript_model_labels_held_out_digits_above_90_percent) {
  auto acc = accuracy(open(spec("torchscript", "digits_mlp.pt")));
  BOOST_TEST_MESSAGE("torchscript digits accuracy " << acc);
  BOOST_CHECK_GT(acc, 0.9);
}

BOOST_AUTO_TEST_CASE(backends_report_the_input_they_need) {
  auto need = [](const std::string& backend, const std::string& file) {
    auto b = open_backend(spec(backend, file));
    BOOST_REQUIRE_MESSAGE(b, test::why(b));
    return (*b)->input();
  };
  BOOST_CHECK_EQUAL(need("xgboost", "digits_xgb.json").length, 64u);
  BOOST_CHECK_EQUAL(need("torchscript", "digits_mlp.pt").length, 64u);
  BOOST_CHECK_EQUAL(need("xgboost", "bench_xgb.json").length, 28u);
  BOOST_CHECK_EQUAL(need("torchscript", "bench_mlp.pt").length, 784u);
  BOOST_CHECK(need("xgboost", "bench_xgb.json").numeric);
  BOOST_CHECK(!need("noop", "").numeric);
  BOOST_CHECK_EQUAL(need("noop", "").length, 0u);
}

BOOST_AUTO_TEST_CASE(the_benchmark_models_answer_one_label_per_input) {
  query_inputs xgb_batch, mlp_batch;
  for (int i = 0; i < 16; ++i) {
    xgb_batch.push_back(numbers(std::vector<double>(28, 0.1 * (i % 7) - 0.3)));
    mlp_batch.push_back(numbers(std::vector<double>(784, 0.01 * i)));
  }
  auto xgb = predict(open(spec("xgboost", "bench_xgb.json")), xgb_batch);
  BOOST_REQUIRE_MESSAGE(xgb, test::why(xgb));
  BOOST_REQUIRE_EQUAL(xgb->size(), 16u);
  for (auto& y : *xgb)
    BOOST_CHECK(y == "0" || y == "1");
  auto mlp = predict(open(spec("torchscript", "bench_mlp.pt")), mlp_batch);
  BOOST_REQUIRE_MESSAGE(mlp, test::why(mlp));
  BOOST_REQUIRE_EQUAL(mlp->size(), 16u);
  for (auto& y : *mlp)
    BOOST_CHECK(y.size() == 1 && y[0] >= '0' && y[0] <= '9');
}

BOOST_AUTO_TEST_CASE(the_noop_model_answers_zero_for_any_input) {
  auto c = open(spec("noop", ""));
  auto out = predict(c, {numbers({1, 2, 3}), text("hello"), numbers({}), numbers({7}, input_kind::ints)});
  BOOST_REQUIRE_MESSAGE(out, test::why(out));
  BOOST_CHECK(*out == (model_outputs{"0", "0", "0", "0"}));
}

BOOST_AUTO_TEST_CASE(an_empty_batch_answers_no_outputs) {
  for (auto [backend, file] : {std::pair{"noop", ""}, std::pair{"xgboost", "digits_xgb.json"},
                               std::pair{"torchscript", "digits_mlp.pt"}}) {
    auto out = predict(open(spec(backend, file)), {});
    BOOST_REQUIRE_MESSAGE(out, backend << ": " << test::why(out));
    BOOST_CHECK_EQUAL(out->size(), 0u);
  }
}

BOOST_AUTO_TEST_CASE(a_wrong_input_length_names_the_input_and_both_lengths) {
  query_inputs good{numbers(std::vector<double>(64, 1)), numbers(std::vector<double>(64, 2))};
  query_inputs bad = good;
  bad.push_back(numbers(std::vector<double>(10, 1)));
  for (auto [backend, file] : {std::pair{"xgboost", "digits_xgb.json"},
                               std::pair{"torchscript", "digits_mlp.pt"}})
    expect_rejected_then_served(open(spec(backend, file)), bad,
                                {"input 2", "expected 64", "got 10"}, good);
}

BOOST_AUTO_TEST_CASE(a_wrong_input_kind_names_the_input_and_the_kind) {
  query_inputs good{numbers(std::vector<double>(64, 1), input_kind::floats)};
  query_inputs bad{numbers(std::vector<double>(64, 1)), text("not a digit")};
  for (auto [backend, file] : {std::pair{"xgboost", "digits_xgb.json"},
                               std::pair{"torchscript", "digits_mlp.pt"}})
    expect_rejected_then_served(open(spec(backend, file)), bad,
                                {"input 1", "expected numbers", "got strings"}, good);
}

BOOST_AUTO_TEST_CASE(a_missing_model_file_is_an_error_naming_the_path) {
  for (auto backend : {"xgboost", "torchscript"}) {
    auto s = spec(backend, "");
    s.path = models().file("no_such_model.bin");
    auto b = open_backend(s);
    BOOST_REQUIRE(!b);
    BOOST_CHECK(is(b.error(), errc::not_found));
    BOOST_CHECK_MESSAGE(describe(b.error()).find(s.path) != std::string::npos,
                        describe(b.error()));
  }
}

BOOST_AUTO_TEST_CASE(a_file_that_is_no_model_is_an_error_naming_the_path) {
  auto path = models().file("garbage.json");
  std::ofstream{path} << "this is not a model";
  for (auto backend : {"xgboost", "torchscript"}) {
    auto s = spec(backend, "");
    s.path = path;
    auto b = open_backend(s);
    BOOST_REQUIRE(!b);
    BOOST_TEST_MESSAGE(describe(b.error()));
    BOOST_CHECK(is(b.error(), errc::invalid_argument));
    BOOST_CHECK(describe(b.error()).find(path) != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(an_unknown_backend_is_an_error_naming_it_and_the_known_ones) {
  auto b = open_backend(spec("tensorflow", ""));
  BOOST_REQUIRE(!b);
  auto msg = describe(b.error());
  BOOST_CHECK(is(b.error(), errc::invalid_argument));
  for (auto f : {"'tensorflow'", "noop", "xgboost", "torchscript"})
    BOOST_CHECK_MESSAGE(msg.find(f) != std::string::npos, "'" << f << "' not in: " << msg);
}

BOOST_AUTO_TEST_CASE(a_backend_that_throws_fails_the_batch_and_the_container_lives_on) {
  for (bool logic : {false, true}) {
    auto backend = std::make_shared<throwing_backend>();
    backend->logic = logic;
    auto c = spawn_model_container(client.sys(), backend);
    auto failed = predict(c, {text("a")});
    BOOST_REQUIRE(!failed);
    BOOST_CHECK(is(failed.error(), logic ? errc::invalid_argument : errc::io_failure));
    BOOST_CHECK(describe(failed.error()).find(logic ? "bad shape" : "disk on fire")
                != std::string::npos);
    auto served = predict(c, {text("a"), text("b")});
    BOOST_REQUIRE_MESSAGE(served, test::why(served));
    BOOST_CHECK(*served == (model_outputs{"ok", "ok"}));
  }
}

BOOST_AUTO_TEST_CASE(the_model_maker_rejects_a_malformed_digits_file) {
  test::temp_dir dir;
  std::ofstream{dir.file("bad.csv")} << "1,2,3\n";
  auto r = test::run_command("timeout 60 " MAKE_MODELS " --out " + dir.file("out")
                             + " --digits-csv " + dir.file("bad.csv"));
  BOOST_CHECK_EQUAL(r.status, 1);
  BOOST_CHECK_MESSAGE(r.output.find("expected 65 values, got 3") != std::string::npos, r.output);
}

BOOST_AUTO_TEST_CASE(serving_latency_per_batch_is_measured) {
  // Not a benchmark (shared CI cores): a record of the order of magnitude.
  struct model { const char* backend; const char* file; size_t length; };
  for (auto m : {model{"noop", "", 1}, model{"xgboost", "bench_xgb.json", 28},
                 model{"torchscript", "bench_mlp.pt", 784}}) {
    auto c = open(spec(m.backend, m.file));
    for (size_t batch : {1u, 64u}) {
      query_inputs xs(batch, numbers(std::vector<double>(m.length, 0.5)));
      const int rounds = 50;
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < rounds; ++i)
        BOOST_REQUIRE(predict(c, xs));
      auto us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                  .count()
                / rounds;
      BOOST_TEST_MESSAGE(m.backend << " " << m.file << " batch " << batch << ": " << us
                                   << " us per round trip");
      BOOST_CHECK_LT(us, 1e6);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
