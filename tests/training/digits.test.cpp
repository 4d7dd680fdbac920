#define BOOST_TEST_MODULE digits
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include "tests/support/test_support.hpp"

using namespace troupe;

namespace {

// The digits data set that Debian's python3-sklearn ships, as CSV.
std::string export_digits(const test::temp_dir& dir) {
  auto path = dir.file("digits.csv");
  auto r = test::run_command(
    "/usr/bin/python3 -c \"from sklearn.datasets import load_digits; d = load_digits(); "
    "f = open('" + path + "', 'w'); "
    "[f.write(','.join(map(str, list(x) + [int(y)])) + '\\n') "
    "for x, y in zip(d.data.astype(int), d.target)]\"");
  BOOST_REQUIRE_MESSAGE(r.status == 0, "exporting digits: " << r.output);
  return path;
}

// "epoch E loss L accuracy A" lines -> losses; and the final accuracy.
std::pair<std::vector<double>, double> parse(const std::string& output) {
  std::vector<double> losses;
  double accuracy = -1;
  std::istringstream in{output};
  for (std::string line; std::getline(in, line);) {
    std::istringstream words{line};
    std::string first;
    words >> first;
    if (first == "epoch") {
      int e;
      std::string word;
      double loss;
      words >> e >> word >> loss;
      losses.push_back(loss);
    } else if (first == "final") {
      std::string word;
      words >> word >> accuracy;
    }
  }
  return {losses, accuracy};
}

// Trains `model` locally and with 2 ranks; the loss curves must agree to
// 1e-4 for `strict_epochs` epochs, and within 25 % after that: a
// convolution's backward sums in another order for half the batch, and SGD
// amplifies that float rounding over the epochs.
void check_model(const std::string& model, const std::string& data, size_t strict_epochs) {
  auto args = std::string{" --data "} + data + " --model " + model;
  auto local = test::run_command("timeout 120 " + std::string{DIGITS_DDP} + args);
  BOOST_REQUIRE_MESSAGE(local.status == 0, local.output);
  auto ddp = test::run_command("timeout 120 " + test::troupe_binary() + " train --nproc 2 -- "
                               + DIGITS_DDP + args);
  BOOST_REQUIRE_MESSAGE(ddp.status == 0, ddp.output);
  auto [local_losses, local_accuracy] = parse(local.output);
  auto [ddp_losses, ddp_accuracy] = parse(ddp.output);
  BOOST_REQUIRE(local_losses.size() == 12u);
  BOOST_REQUIRE(ddp_losses.size() == local_losses.size());
  for (size_t e = 0; e < local_losses.size(); ++e)
    BOOST_TEST(std::abs(ddp_losses[e] - local_losses[e])
                 <= (e < strict_epochs ? 1e-4 : 0.25) * local_losses[e],
               model << " epoch " << e << ": ddp " << ddp_losses[e] << " local "
                     << local_losses[e]);
  BOOST_TEST(local_losses.back() < local_losses.front() / 5);  // it learned
  BOOST_TEST(ddp_accuracy > 0.9, model << " accuracy " << ddp_accuracy);
  BOOST_TEST(local_accuracy > 0.9, model << " accuracy " << local_accuracy);
}

} // namespace

BOOST_AUTO_TEST_CASE(an_mlp_on_two_ranks_follows_local_training_and_passes_90_percent) {
  test::temp_dir dir;
  check_model("mlp", export_digits(dir), 12);
}

BOOST_AUTO_TEST_CASE(a_cnn_on_two_ranks_follows_local_training_and_passes_90_percent) {
  test::temp_dir dir;
  check_model("cnn", export_digits(dir), 4);
}

BOOST_AUTO_TEST_CASE(a_malformed_data_file_is_refused_naming_the_line) {
  test::temp_dir dir;
  auto path = dir.file("bad.csv");
  std::ofstream{path} << "1,2,3\n";
  auto r = test::run_command(std::string{DIGITS_DDP} + " --data " + path);
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.output.find(path + ":1: expected 65 values, got 3") != std::string::npos, r.output);
  auto missing = test::run_command(std::string{DIGITS_DDP} + " --data /nonexistent.csv");
  BOOST_TEST(missing.status == 2);
  BOOST_TEST(missing.output.find("cannot read data file '/nonexistent.csv'") != std::string::npos);
}
