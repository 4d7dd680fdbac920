// A program that links troupe_serving_models alone (no libtorch) serves
// noop and XGBoost models, and is told plainly that TorchScript needs
// troupe_serving_torch.
#define BOOST_TEST_MODULE model_backends_torch_free
#include <boost/test/unit_test.hpp>

#include "actors/serving/model_backend.hpp"
#include "messages/errors.hpp"
#include "tests/support/test_support.hpp"

using namespace troupe;
using namespace troupe::serving;

BOOST_AUTO_TEST_CASE(without_libtorch_open_backend_knows_noop_and_xgboost_only) {
  BOOST_CHECK(known_backends() == (std::vector<std::string>{"noop", "xgboost"}));
  model_spec noop;
  auto b = open_backend(noop);
  BOOST_REQUIRE_MESSAGE(b, test::why(b));
  auto out = (*b)->predict({query_input{input_kind::strings, {}, "x"}});
  BOOST_REQUIRE_MESSAGE(out, test::why(out));
  BOOST_CHECK(*out == model_outputs{"0"});
}

BOOST_AUTO_TEST_CASE(without_libtorch_a_torchscript_model_is_an_error_saying_what_to_link) {
  model_spec s;
  s.name = "mlp";
  s.backend = "torchscript";
  s.path = "/nonexistent/mlp.pt";
  auto b = open_backend(s);
  BOOST_REQUIRE(!b);
  BOOST_CHECK(is(b.error(), errc::invalid_argument));
  auto msg = describe(b.error());
  BOOST_CHECK_MESSAGE(msg.find("troupe_serving_torch") != std::string::npos, msg);
  BOOST_CHECK_MESSAGE(msg.find("'torchscript'") != std::string::npos, msg);
}
