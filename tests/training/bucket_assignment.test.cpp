#define BOOST_TEST_MODULE bucket_assignment
#include <boost/test/unit_test.hpp>

#include "actors/training/bucket_assignment.hpp"

using namespace troupe::training;

BOOST_AUTO_TEST_CASE(buckets_fill_in_reverse_order_with_a_small_first_bucket) {
  // Six parameters of 400 bytes; first cap 500, then 1000.
  std::vector<size_t> bytes(6, 400);
  std::vector<uint8_t> dtypes(6, 0);
  auto layout = assign_buckets(bytes, dtypes, reverse_order(6), 500, 1000);
  BOOST_REQUIRE(layout.size() == 3u);
  BOOST_TEST((layout[0] == std::vector<size_t>{5, 4}));     // 800 >= 500
  BOOST_TEST((layout[1] == std::vector<size_t>{3, 2, 1}));  // 1200 >= 1000
  BOOST_TEST((layout[2] == std::vector<size_t>{0}));        // the rest
}

BOOST_AUTO_TEST_CASE(a_parameter_larger_than_the_cap_gets_its_own_bucket) {
  std::vector<size_t> bytes{10, 5000, 10};
  auto layout = assign_buckets(bytes, {0, 0, 0}, reverse_order(3), 100, 100);
  BOOST_REQUIRE(layout.size() == 2u);
  BOOST_TEST((layout[0] == std::vector<size_t>{2, 1}));
  BOOST_TEST((layout[1] == std::vector<size_t>{0}));
}

BOOST_AUTO_TEST_CASE(parameters_of_different_dtypes_never_share_a_bucket) {
  std::vector<size_t> bytes(4, 10);
  auto layout = assign_buckets(bytes, {0, 1, 0, 1}, reverse_order(4), 1000, 1000);
  BOOST_REQUIRE(layout.size() == 2u);
  for (auto& bucket : layout)
    for (auto p : bucket)
      BOOST_TEST(p % 2 == bucket.front() % 2);
}

BOOST_AUTO_TEST_CASE(every_parameter_lands_in_exactly_one_bucket_in_any_order) {
  std::vector<size_t> bytes{7, 300, 12, 999, 1, 64, 5000, 3};
  std::vector<size_t> order{3, 0, 7, 6, 1, 5, 2, 4};
  auto layout = assign_buckets(bytes, std::vector<uint8_t>(8, 0), order, 100, 1024);
  std::vector<int> seen(8, 0);
  std::vector<size_t> flattened;
  for (auto& bucket : layout)
    for (auto p : bucket) {
      seen[p]++;
      flattened.push_back(p);
    }
  for (auto n : seen)
    BOOST_TEST(n == 1);
  BOOST_TEST(flattened == order);  // one dtype: bucket order follows `order`
}
