// troupe-make-models: writes the models the serving system's tests and
// benchmarks serve, all from C++ (XGBoost's C API and libtorch), into --out:
//
//   digits.csv       the digits data set scikit-learn ships (64 pixels 0..16, label)
//   train.csv        80 % of it, and
//   test.csv         the fixed held-out 20 % (same --seed, same split)
//   digits_xgb.json  XGBoost, multi:softprob over the 10 digits
//   digits_mlp.pt    TorchScript MLP 64-256-256-10 trained with libtorch
//   bench_xgb.json   XGBoost, 100 trees of depth 6 on 28 synthetic features
//                    (binary:logistic), the shape of Clipper's benchmark model
//   bench_mlp.pt     TorchScript MLP 784-256-256-10 with random weights
//
// Every model is loaded back through the serving backends and its held-out
// accuracy printed, so what is written is what the serving system runs.
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <torch/script.h>
#include <xgboost/c_api.h>

#include "actors/serving/torchscript_backend.hpp"
#include "actors/serving/xgboost_backend.hpp"
#include "messages/errors.hpp"

using namespace troupe;
using namespace troupe::serving;

namespace {

// -- data ---------------------------------------------------------------------

/// Rows of features and integer labels.
struct table {
  size_t columns = 0;
  std::vector<std::vector<float>> rows;
  std::vector<int> labels;
};

/// A uniform double in [0, 1) from mt19937_64's raw bits: unlike the
/// standard distributions, the same on every standard library.
double uniform(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

/// A fixed permutation of 0..n-1 (Fisher-Yates on uniform()).
std::vector<size_t> permutation(size_t n, std::mt19937_64& rng) {
  std::vector<size_t> p(n);
  for (size_t i = 0; i < n; ++i)
    p[i] = i;
  for (size_t i = n; i > 1; --i)
    std::swap(p[i - 1], p[static_cast<size_t>(uniform(rng) * static_cast<double>(i))]);
  return p;
}

caf::expected<table> read_csv(const std::string& path, size_t columns) {
  std::ifstream in{path};
  if (!in)
    return make_error(errc::not_found, "cannot read '" + path + "'");
  table t;
  t.columns = columns;
  size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty())
      continue;
    std::vector<float> row;
    std::stringstream fields{line};
    for (std::string f; std::getline(fields, f, ',');)
      row.push_back(std::strtof(f.c_str(), nullptr));
    if (row.size() != columns + 1)
      return make_error(errc::invalid_argument,
                        path + ":" + std::to_string(line_no) + ": expected "
                          + std::to_string(columns + 1) + " values, got "
                          + std::to_string(row.size()));
    t.labels.push_back(static_cast<int>(row.back()));
    row.pop_back();
    t.rows.push_back(std::move(row));
  }
  if (t.rows.size() < 100)
    return make_error(errc::invalid_argument,
                      path + " holds only " + std::to_string(t.rows.size()) + " rows");
  return t;
}

void write_csv(const std::string& path, const table& t) {
  std::ofstream out{path};
  for (size_t i = 0; i < t.rows.size(); ++i) {
    for (auto v : t.rows[i])
      out << v << ',';
    out << t.labels[i] << '\n';
  }
}

/// Splits `t` by a fixed permutation: the last `test_share` go to test.
std::pair<table, table> split(const table& t, double test_share, std::mt19937_64& rng) {
  auto order = permutation(t.rows.size(), rng);
  auto n_test = static_cast<size_t>(test_share * static_cast<double>(t.rows.size()));
  table train, test;
  train.columns = test.columns = t.columns;
  for (size_t k = 0; k < order.size(); ++k) {
    auto& dst = k < order.size() - n_test ? train : test;
    dst.rows.push_back(t.rows[order[k]]);
    dst.labels.push_back(t.labels[order[k]]);
  }
  return {std::move(train), std::move(test)};
}

/// The digits data set, exported through Debian's python3 and scikit-learn.
caf::error export_digits(const std::string& path) {
  auto cmd = "/usr/bin/python3 -c \"from sklearn.datasets import load_digits; d = load_digits(); "
             "f = open('" + path + "', 'w'); "
             "[f.write(','.join(map(str, list(x) + [int(y)])) + '\\n') "
             "for x, y in zip(d.data.astype(int), d.target)]\"";
  if (std::system(cmd.c_str()) != 0)
    return make_error(errc::unavailable, "exporting digits through /usr/bin/python3 and "
                                         "sklearn failed (is python3-sklearn installed?)");
  return {};
}

/// A synthetic binary task on 28 features: a nonlinear boundary with label
/// noise, so that 100 deep trees have something to learn.
table synthetic_binary(size_t n, std::mt19937_64& rng) {
  table t;
  t.columns = 28;
  for (size_t i = 0; i < n; ++i) {
    std::vector<float> x(28);
    for (auto& v : x)
      v = static_cast<float>(uniform(rng) * 2 - 1);
    double z = x[0] * x[1] + std::sin(3 * x[2]) + x[3] * x[3] - 0.33 + 0.5 * x[4] - x[5] * x[6]
               + 0.3 * (uniform(rng) - 0.5);
    t.rows.push_back(std::move(x));
    t.labels.push_back(z > 0 ? 1 : 0);
  }
  return t;
}

/// The share of `t`'s rows that `backend` labels right.
caf::expected<double> accuracy(model_backend& backend, const table& t) {
  query_inputs batch;
  for (auto& row : t.rows)
    batch.push_back(query_input{input_kind::floats, std::vector<double>(row.begin(), row.end()), {}});
  auto out = backend.predict(batch);
  if (!out)
    return std::move(out.error());
  size_t right = 0;
  for (size_t i = 0; i < t.labels.size(); ++i)
    right += (*out)[i] == std::to_string(t.labels[i]) ? 1 : 0;
  return static_cast<double>(right) / static_cast<double>(t.labels.size());
}

// -- XGBoost ------------------------------------------------------------------

struct xgb_params {
  std::vector<std::pair<std::string, std::string>> params;
  int rounds = 0;
};

caf::error xgb_check(int rc, const char* what) {
  if (rc == 0)
    return {};
  return make_error(errc::io_failure, std::string{what} + ": " + XGBGetLastError());
}

/// Trains a booster on `t` and saves it as JSON at `path`.
caf::error train_xgboost(const table& t, const xgb_params& p, const std::string& path) {
  std::vector<float> dense, labels;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    dense.insert(dense.end(), t.rows[i].begin(), t.rows[i].end());
    labels.push_back(static_cast<float>(t.labels[i]));
  }
  DMatrixHandle dm = nullptr;
  BoosterHandle bst = nullptr;
  auto cleanup = [&] {
    if (bst)
      XGBoosterFree(bst);
    if (dm)
      XGDMatrixFree(dm);
  };
  auto err = [&]() -> caf::error {
    if (auto e = xgb_check(XGDMatrixCreateFromMat(dense.data(), t.rows.size(), t.columns,
                                                  NAN, &dm), "creating the training matrix"))
      return e;
    if (auto e = xgb_check(XGDMatrixSetFloatInfo(dm, "label", labels.data(), labels.size()),
                           "setting labels"))
      return e;
    if (auto e = xgb_check(XGBoosterCreate(&dm, 1, &bst), "creating a booster"))
      return e;
    for (auto& [k, v] : p.params)
      if (auto e = xgb_check(XGBoosterSetParam(bst, k.c_str(), v.c_str()), k.c_str()))
        return e;
    for (int i = 0; i < p.rounds; ++i)
      if (auto e = xgb_check(XGBoosterUpdateOneIter(bst, i, dm), "boosting"))
        return e;
    return xgb_check(XGBoosterSaveModel(bst, path.c_str()), "saving the model");
  }();
  cleanup();
  return err;
}

// -- TorchScript ----------------------------------------------------------------

/// An MLP as a TorchScript module built in C++: parameters w1, b1, ... in the
/// layout of nn.Linear ([out, in], so the first one's shape[1] is the input
/// length), and a forward that scales the input by `scale` first.
torch::jit::Module script_mlp(const std::vector<torch::nn::Linear>& layers, double scale) {
  torch::jit::Module m{"TroupeMlp"};
  std::string body = fmt::format("def forward(self, x):\n    h = x * {}\n", scale);
  for (size_t i = 0; i < layers.size(); ++i) {
    auto n = std::to_string(i + 1);
    m.register_parameter("w" + n, layers[i]->weight.detach().clone(), false);
    m.register_parameter("b" + n, layers[i]->bias.detach().clone(), false);
    body += "    h = torch.linear(h, self.w" + n + ", self.b" + n + ")\n";
    if (i + 1 < layers.size())
      body += "    h = torch.relu(h)\n";
  }
  body += "    return h\n";
  m.define(body);
  return m;
}

std::vector<torch::nn::Linear> mlp_layers(const std::vector<int64_t>& widths) {
  std::vector<torch::nn::Linear> layers;
  for (size_t i = 0; i + 1 < widths.size(); ++i)
    layers.emplace_back(widths[i], widths[i + 1]);
  return layers;
}

/// Trains an MLP on `t` (inputs multiplied by `scale`) with Adam.
void train_mlp(std::vector<torch::nn::Linear>& layers, const table& t, double scale,
               int epochs, uint64_t seed) {
  auto n = static_cast<int64_t>(t.rows.size());
  auto cols = static_cast<int64_t>(t.columns);
  std::vector<float> flat;
  for (auto& row : t.rows)
    flat.insert(flat.end(), row.begin(), row.end());
  std::vector<int64_t> labels(t.labels.begin(), t.labels.end());
  auto x = torch::from_blob(flat.data(), {n, cols}).clone() * scale;
  auto y = torch::from_blob(labels.data(), {n}, torch::kInt64).clone();
  std::vector<torch::Tensor> params;
  for (auto& l : layers)
    for (auto& p : l->parameters())
      params.push_back(p);
  torch::optim::Adam opt{params, torch::optim::AdamOptions(1e-3)};
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t batch = 64;
  for (int e = 0; e < epochs; ++e) {
    auto order = torch::randperm(n, gen, torch::kInt64);
    for (int64_t b = 0; b < n; b += batch) {
      auto idx = order.slice(0, b, std::min(n, b + batch));
      auto h = x.index_select(0, idx);
      for (size_t i = 0; i < layers.size(); ++i) {
        h = layers[i]->forward(h);
        if (i + 1 < layers.size())
          h = torch::relu(h);
      }
      auto loss = torch::nn::functional::cross_entropy(h, y.index_select(0, idx));
      opt.zero_grad();
      loss.backward();
      opt.step();
    }
  }
}

// -- driver -----------------------------------------------------------------------

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

template <class Backend>
caf::error report(const std::string& file, caf::expected<Backend> backend, const table& test) {
  if (!backend)
    return std::move(backend.error());
  auto acc = accuracy(**backend, test);
  if (!acc)
    return std::move(acc.error());
  fmt::print("{}: held-out accuracy {:.4f} ({} rows)\n", file, *acc, test.rows.size());
  return {};
}

struct options {
  std::string out;
  std::string digits_csv;
  uint64_t seed = 7;
};

caf::error run(const options& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(o.out, ec);
  if (ec)
    return make_error(errc::io_failure, "cannot create '" + o.out + "': " + ec.message());
  auto at = [&](const std::string& name) { return (fs::path{o.out} / name).string(); };
  torch::manual_seed(o.seed);
  std::mt19937_64 rng{o.seed};

  // Digits: export (or copy) and split once, with a fixed seed.
  auto t0 = clock_type::now();
  if (o.digits_csv.empty()) {
    fmt::print("digits.csv: exporting through /usr/bin/python3 and sklearn\n");
    if (auto err = export_digits(at("digits.csv")))
      return err;
  } else if (fs::absolute(o.digits_csv) != fs::absolute(at("digits.csv"))) {
    fs::copy_file(o.digits_csv, at("digits.csv"), fs::copy_options::overwrite_existing, ec);
    if (ec)
      return make_error(errc::not_found,
                        "cannot copy '" + o.digits_csv + "': " + ec.message());
  }
  auto digits = read_csv(at("digits.csv"), 64);
  if (!digits)
    return std::move(digits.error());
  auto [train, test] = split(*digits, 0.2, rng);
  write_csv(at("train.csv"), train);
  write_csv(at("test.csv"), test);
  fmt::print("digits.csv: {} rows, train.csv {} rows, test.csv {} rows ({:.1f} s)\n",
             digits->rows.size(), train.rows.size(), test.rows.size(), seconds_since(t0));

  t0 = clock_type::now();
  fmt::print("digits_xgb.json: training 60 rounds, multi:softprob, 10 classes\n");
  xgb_params digits_xgb{{{"objective", "multi:softprob"}, {"num_class", "10"},
                         {"max_depth", "4"}, {"eta", "0.3"}, {"nthread", "1"},
                         {"seed", std::to_string(o.seed)}},
                        60};
  if (auto err = train_xgboost(train, digits_xgb, at("digits_xgb.json")))
    return err;
  if (auto err = report("digits_xgb.json", open_xgboost_backend(at("digits_xgb.json")), test))
    return err;
  fmt::print("digits_xgb.json: done ({:.1f} s)\n", seconds_since(t0));

  t0 = clock_type::now();
  fmt::print("digits_mlp.pt: training MLP 64-256-256-10, 30 epochs\n");
  auto mlp = mlp_layers({64, 256, 256, 10});
  train_mlp(mlp, train, 1.0 / 16, 30, o.seed);
  script_mlp(mlp, 1.0 / 16).save(at("digits_mlp.pt"));
  if (auto err = report("digits_mlp.pt", open_torchscript_backend(at("digits_mlp.pt")), test))
    return err;
  fmt::print("digits_mlp.pt: done ({:.1f} s)\n", seconds_since(t0));

  t0 = clock_type::now();
  fmt::print("bench_xgb.json: training 100 trees of depth 6 on 28 synthetic features\n");
  auto [bench_train, bench_test] = split(synthetic_binary(10000, rng), 0.2, rng);
  xgb_params bench_xgb{{{"objective", "binary:logistic"}, {"max_depth", "6"}, {"eta", "0.1"},
                        {"nthread", "1"}, {"seed", std::to_string(o.seed)}},
                       100};
  if (auto err = train_xgboost(bench_train, bench_xgb, at("bench_xgb.json")))
    return err;
  if (auto err = report("bench_xgb.json", open_xgboost_backend(at("bench_xgb.json")),
                        bench_test))
    return err;
  fmt::print("bench_xgb.json: done ({:.1f} s)\n", seconds_since(t0));

  fmt::print("bench_mlp.pt: MLP 784-256-256-10 with random weights (no accuracy)\n");
  script_mlp(mlp_layers({784, 256, 256, 10}), 1.0).save(at("bench_mlp.pt"));
  auto bench_mlp = open_torchscript_backend(at("bench_mlp.pt"));
  if (!bench_mlp)
    return std::move(bench_mlp.error());
  fmt::print("bench_mlp.pt: done\n");
  return {};
}

} // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"Write the serving system's models (digits and benchmark models) into a folder",
               "troupe-make-models"};
  app.add_option("--out", o.out, "folder to write the models and CSV files into")->required();
  app.add_option("--digits-csv", o.digits_csv,
                 "digits as CSV (64 pixels, label); default: export through sklearn")
    ->check(CLI::ExistingFile);
  app.add_option("--seed", o.seed, "seed of the split, the training and the random weights")
    ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Bad usage exits 2, as every Troupe program does (CLI11's own codes
    // start at 100).
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    if (auto err = run(o)) {
      std::cerr << "troupe-make-models: " << describe(err) << '\n';
      return 1;
    }
  } catch (const std::exception& ex) {
    // libtorch and the filesystem report by exception; end with a message.
    std::cerr << "troupe-make-models: " << ex.what() << '\n';
    return 1;
  }
  return 0;
}
