// Model containers in processes of their own: troupe-container (C++) and the
// Python SDK, reached over Cap'n Proto RPC through proxies, kept alive by
// supervisors. Every container here is a real process on loopback; each
// test kills what it started, by pid.
#define BOOST_TEST_MODULE containers
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <future>
#include <sstream>

#include <caf/scoped_actor.hpp>

#include "actors/serving/container_connection.hpp"
#include "actors/serving/container_proxy.hpp"
#include "actors/serving/container_supervisor.hpp"
#include "messages/errors.hpp"
#include "runtime/child_process.hpp"
#include "runtime/ready_file.hpp"
#include "tests/support/test_support.hpp"

using namespace troupe;
using namespace troupe::serving;
using namespace std::chrono_literals;
using troupe::test::why;

namespace {

const std::string container_binary = TROUPE_CONTAINER;
const std::string make_models = MAKE_MODELS;
const std::string venv_python = TROUPE_VENV_PYTHON;
const std::string python_dir = std::string{TROUPE_SOURCE_DIR} + "/apps/python";

query_input numbers(std::vector<double> xs) {
  query_input x;
  x.kind = input_kind::doubles;
  x.numbers = std::move(xs);
  return x;
}

/// One troupe-container process, started by the test and killed with it.
struct started_container {
  child_process child;
  uint16_t port = 0;
};

started_container start_container(const test::temp_dir& dir, std::vector<std::string> args) {
  auto ready = dir.file("c" + std::to_string(std::rand()) + ".ready");
  std::vector<std::string> argv{container_binary, "--ready-file", ready};
  argv.insert(argv.end(), args.begin(), args.end());
  auto child = child_process::spawn(argv, dir.file("container.log"));
  BOOST_REQUIRE_MESSAGE(child, why(child));
  started_container c;
  c.child = std::move(*child);
  auto waited = test::wait_until([&] { return static_cast<bool>(read_ready_file(ready)); }, 10s);
  BOOST_REQUIRE_MESSAGE(waited >= 0, "troupe-container wrote no ready file within 10 s");
  c.port = read_ready_file(ready)->port;
  return c;
}

/// A predict request with its own bound, as a value.
template <class Handle>
caf::expected<model_outputs> predict(caf::actor_system& sys, const Handle& container,
                                     query_inputs inputs, std::chrono::milliseconds bound = 10s) {
  caf::scoped_actor self{sys};
  caf::expected<model_outputs> result{model_outputs{}};
  self->request(container, bound, predict_atom::value, std::move(inputs))
    .receive([&](model_outputs& out) { result = std::move(out); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

struct supervisor_stats {
  uint64_t restarts = 0;
  uint32_t pid = 0;
};

supervisor_stats stats_of(caf::actor_system& sys, const container_supervisor_actor& sup) {
  caf::scoped_actor self{sys};
  supervisor_stats s;
  self->request(sup, 5s, stats_atom::value)
    .receive([&](uint64_t restarts, uint32_t pid) { s = {restarts, pid}; },
             [&](caf::error& err) { BOOST_FAIL("stats failed: " + describe(err)); });
  return s;
}

int64_t ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t)
    .count();
}

bool process_gone(uint32_t pid) {
  return ::kill(static_cast<pid_t>(pid), 0) != 0;
}

struct fixture {
  test::client_system client;
  test::temp_dir dir;
  caf::actor_system& sys() { return client.sys(); }

  container_supervisor_options supervised(std::vector<std::string> argv) {
    container_supervisor_options o;
    o.argv = std::move(argv);
    o.name = "test-model";
    o.work_dir = dir.path();
    o.rpc_timeout = 1s;
    o.heartbeat_interval = 100ms;
    o.max_missed_heartbeats = 2;
    o.ready_timeout = 10s;
    return o;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(containers, fixture)

// -- proxy and troupe-container -------------------------------------------------

BOOST_AUTO_TEST_CASE(a_proxy_round_trip_to_the_sum_container_gives_exact_sums) {
  auto c = start_container(dir, {"--model", "sum"});
  auto proxy = spawn_container_proxy(sys(), "127.0.0.1", c.port, 2s);
  auto out = predict(sys(), proxy, {numbers({1, 2, 3}), numbers({0.1, 0.2}), numbers({}),
                                    numbers({-1e300, 1e300, 0.5})});
  BOOST_REQUIRE_MESSAGE(out, why(out));
  BOOST_TEST(*out == (model_outputs{"6", "0.30000000000000004", "0", "0.5"}),
             boost::test_tools::per_element());
  // Round trips of a batch of 32 inputs of 64 numbers each.
  query_inputs batch(32, numbers(std::vector<double>(64, 1.0)));
  constexpr int rounds = 200;
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < rounds; ++i) {
    auto r = predict(sys(), proxy, batch);
    BOOST_REQUIRE_MESSAGE(r && r->size() == 32 && (*r)[31] == "64", why(r));
  }
  auto us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started)
              .count()
            / rounds;
  BOOST_TEST_MESSAGE("RPC round trip of a batch of 32 x 64 doubles: " << us << " us");
  BOOST_TEST(us < 50'000);
}

BOOST_AUTO_TEST_CASE(the_container_reports_its_info_over_rpc) {
  auto c = start_container(dir, {"--model", "sum", "--name", "adder", "--version", "7",
                                 "--input-length", "4"});
  container_connection conn{"127.0.0.1", c.port, 2s};
  std::promise<caf::expected<container_info>> got;
  conn.info([&](caf::expected<container_info> x) { got.set_value(std::move(x)); });
  auto f = got.get_future();
  BOOST_REQUIRE(f.wait_for(5s) == std::future_status::ready);
  auto info = f.get();
  BOOST_REQUIRE_MESSAGE(info, why(info));
  BOOST_TEST(info->name == "adder");
  BOOST_TEST(info->version == 7u);
  BOOST_TEST(std::string{to_string(info->kind)} == "doubles");
  BOOST_TEST(info->input_length == 4u);
  BOOST_TEST(info->pid == static_cast<uint32_t>(c.child.pid()));
}

BOOST_AUTO_TEST_CASE(bad_input_gets_an_error_with_its_sentence_and_the_container_stays_up) {
  auto c = start_container(dir, {"--model", "sum", "--input-length", "3"});
  auto proxy = spawn_container_proxy(sys(), "127.0.0.1", c.port, 2s);
  auto short_input = predict(sys(), proxy, {numbers({1, 2, 3}), numbers({1, 2})});
  BOOST_REQUIRE(!short_input);
  BOOST_TEST(is(short_input.error(), errc::invalid_argument), describe(short_input.error()));
  BOOST_TEST(describe(short_input.error())
               == "invalid_argument: input 1 of the batch has 2 numbers, but model 'sum' takes 3");
  query_input text;
  text.kind = input_kind::strings;
  text.text = "seven";
  auto wrong_kind = predict(sys(), proxy, {text});
  BOOST_REQUIRE(!wrong_kind);
  BOOST_TEST(describe(wrong_kind.error()).find("is of kind strings, but model 'sum' takes doubles")
               != std::string::npos,
             describe(wrong_kind.error()));
  BOOST_TEST(c.child.running());
  auto fine = predict(sys(), proxy, {numbers({1, 2, 3})});
  BOOST_REQUIRE_MESSAGE(fine, why(fine));
  BOOST_TEST(fine->at(0) == "6");
}

BOOST_AUTO_TEST_CASE(a_hanging_container_gives_a_timeout_within_the_bound) {
  auto c = start_container(dir, {"--model", "sum", "--fault", "hang"});
  auto proxy = spawn_container_proxy(sys(), "127.0.0.1", c.port, 300ms);
  auto started = std::chrono::steady_clock::now();
  auto out = predict(sys(), proxy, {numbers({1})});
  auto elapsed = ms_since(started);
  BOOST_REQUIRE(!out);
  BOOST_TEST(is(out.error(), errc::timeout), describe(out.error()));
  BOOST_TEST(describe(out.error()).find("container at 127.0.0.1:" + std::to_string(c.port))
               != std::string::npos,
             describe(out.error()));
  BOOST_TEST(elapsed >= 300);
  BOOST_TEST(elapsed < 1500);
}

BOOST_AUTO_TEST_CASE(a_container_answering_the_wrong_number_of_outputs_is_an_invalid_argument) {
  auto c = start_container(dir, {"--model", "sum", "--fault", "garbage"});
  auto proxy = spawn_container_proxy(sys(), "127.0.0.1", c.port, 2s);
  auto out = predict(sys(), proxy, {numbers({1}), numbers({2})});
  BOOST_REQUIRE(!out);
  BOOST_TEST(is(out.error(), errc::invalid_argument), describe(out.error()));
  BOOST_TEST(describe(out.error()).find("returned 3 outputs for 2 inputs") != std::string::npos,
             describe(out.error()));
}

BOOST_AUTO_TEST_CASE(a_proxy_to_a_port_nobody_serves_gives_unavailable_at_once) {
  // A port that was free a moment ago: start a container, note it, kill it.
  uint16_t port = 0;
  {
    auto c = start_container(dir, {"--model", "sum"});
    port = c.port;
  }
  auto proxy = spawn_container_proxy(sys(), "127.0.0.1", port, 2s);
  auto started = std::chrono::steady_clock::now();
  auto out = predict(sys(), proxy, {numbers({1})});
  BOOST_REQUIRE(!out);
  BOOST_TEST(is(out.error(), errc::unavailable), describe(out.error()));
  BOOST_TEST(ms_since(started) < 1000);
}

BOOST_AUTO_TEST_CASE(a_proxy_reconnects_after_its_container_comes_back) {
  auto c = start_container(dir, {"--model", "sum", "--fault", "crash-after", "2"});
  auto proxy = spawn_container_proxy(sys(), "127.0.0.1", c.port, 2s);
  BOOST_REQUIRE(predict(sys(), proxy, {numbers({1})}));
  auto crashed = predict(sys(), proxy, {numbers({1})});
  BOOST_REQUIRE(!crashed);
  BOOST_TEST(is(crashed.error(), errc::unavailable), describe(crashed.error()));
  BOOST_TEST(c.child.wait_for(5s).value_or(-1) == 70);
  auto again = start_container(dir, {"--model", "sum", "--port", std::to_string(c.port)});
  auto out = predict(sys(), proxy, {numbers({2, 2})});
  BOOST_REQUIRE_MESSAGE(out, why(out));
  BOOST_TEST(out->at(0) == "4");
}

BOOST_AUTO_TEST_CASE(troupe_container_refuses_bad_options_with_a_sentence) {
  auto r = test::run_command(container_binary + " --model nope 2>&1");
  BOOST_TEST(r.status != 0);
  BOOST_TEST(r.output.find("no built-in model 'nope'") != std::string::npos, r.output);
  r = test::run_command(container_binary + " --fault crash-after x 2>&1");
  BOOST_TEST(r.status != 0);
  BOOST_TEST(r.output.find("'x' is not a positive count") != std::string::npos, r.output);
}

// -- supervisor ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_supervisor_restarts_a_crashed_container_and_fails_fast_meanwhile) {
  auto opts = supervised({container_binary, "--model", "sum", "--fault", "crash-after", "2"});
  opts.backoff_initial = 1500ms;  // a wide window to observe the restart in
  auto sup = spawn_container_supervisor(sys(), opts);
  BOOST_REQUIRE(test::wait_until([&] { return stats_of(sys(), sup).pid != 0; }, 10s) >= 0);
  auto first = stats_of(sys(), sup);
  BOOST_TEST(first.restarts == 0u);
  auto ok = predict(sys(), sup, {numbers({1, 1})});
  BOOST_REQUIRE_MESSAGE(ok, why(ok));
  BOOST_TEST(ok->at(0) == "2");
  auto crashed = predict(sys(), sup, {numbers({1})});
  BOOST_REQUIRE(!crashed);
  BOOST_TEST(is(crashed.error(), errc::unavailable), describe(crashed.error()));
  // The supervisor notices (at once, or by the next heartbeat) ...
  BOOST_REQUIRE(test::wait_until([&] { return stats_of(sys(), sup).pid == 0; }, 2s) >= 0);
  // ... and while it backs off, predict fails fast instead of hanging.
  auto started = std::chrono::steady_clock::now();
  auto during = predict(sys(), sup, {numbers({1})});
  auto elapsed = ms_since(started);
  BOOST_REQUIRE(!during);
  BOOST_TEST(is(during.error(), errc::unavailable), describe(during.error()));
  BOOST_TEST(describe(during.error()).find("'test-model' is restarting (after: the container "
                                           "exited with status 70")
               != std::string::npos,
             describe(during.error()));
  BOOST_TEST(elapsed < 200);
  // A new process serves.
  BOOST_REQUIRE(test::wait_until([&] { return stats_of(sys(), sup).pid != 0; }, 10s) >= 0);
  auto second = stats_of(sys(), sup);
  BOOST_TEST(second.restarts == 1u);
  BOOST_TEST(second.pid != first.pid);
  BOOST_TEST(process_gone(first.pid));
  auto again = predict(sys(), sup, {numbers({20, 22})});
  BOOST_REQUIRE_MESSAGE(again, why(again));
  BOOST_TEST(again->at(0) == "42");
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  BOOST_TEST(test::wait_until([&] { return process_gone(second.pid); }, 5s) >= 0);
}

BOOST_AUTO_TEST_CASE(a_supervisor_restarts_a_container_that_stops_answering_heartbeats) {
  auto sup = spawn_container_supervisor(
    sys(), supervised({container_binary, "--model", "sum", "--fault", "hang"}));
  BOOST_REQUIRE(test::wait_until([&] { return stats_of(sys(), sup).pid != 0; }, 10s) >= 0);
  auto first = stats_of(sys(), sup);
  auto hung = predict(sys(), sup, {numbers({1})});  // blocks the container's event loop
  BOOST_REQUIRE(!hung);
  BOOST_TEST(is(hung.error(), errc::timeout), describe(hung.error()));
  // rpc_timeout 1 s, heartbeats every 100 ms, 2 missed: a restart within ~3 s.
  auto waited = test::wait_until(
    [&] {
      auto s = stats_of(sys(), sup);
      return s.restarts == 1 && s.pid != 0 && s.pid != first.pid;
    },
    10s);
  BOOST_TEST(waited >= 0);
  BOOST_TEST_MESSAGE("hung container replaced after " << waited << " ms");
  BOOST_TEST(process_gone(first.pid));
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(a_supervisor_kills_its_container_when_it_exits) {
  auto sup = spawn_container_supervisor(sys(), supervised({container_binary, "--model", "sum"}));
  BOOST_REQUIRE(test::wait_until([&] { return stats_of(sys(), sup).pid != 0; }, 10s) >= 0);
  auto pid = stats_of(sys(), sup).pid;
  BOOST_TEST(!process_gone(pid));
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  BOOST_TEST(test::wait_until([&] { return process_gone(pid); }, 5s) >= 0);
}

BOOST_AUTO_TEST_CASE(a_container_that_cannot_start_is_retried_and_predict_says_why) {
  auto sup = spawn_container_supervisor(
    sys(), supervised({container_binary, "--model", "no-such-model"}));
  BOOST_REQUIRE(test::wait_until([&] { return stats_of(sys(), sup).restarts >= 2; }, 10s) >= 0);
  auto out = predict(sys(), sup, {numbers({1})});
  BOOST_REQUIRE(!out);
  BOOST_TEST(is(out.error(), errc::unavailable), describe(out.error()));
  BOOST_TEST(describe(out.error()).find("exited with status 2 before it was ready")
               != std::string::npos,
             describe(out.error()));
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(a_container_that_never_becomes_ready_is_killed_and_retried) {
  // A command that runs but never writes its ready file.
  auto opts = supervised({"/bin/sh", "-c", "echo $$ >> \"$0.pids\"; exec sleep 60",
                          dir.file("silent")});
  opts.ready_timeout = 300ms;
  auto sup = spawn_container_supervisor(sys(), opts);
  BOOST_REQUIRE(test::wait_until([&] { return stats_of(sys(), sup).restarts >= 1; }, 5s) >= 0);
  auto out = predict(sys(), sup, {numbers({1})});
  BOOST_REQUIRE(!out);
  BOOST_TEST(describe(out.error()).find("no ready file within 300 ms") != std::string::npos,
             describe(out.error()));
  // The first attempt's process was killed before the next one started.
  std::ifstream pids{dir.file("silent.pids")};
  uint32_t first_pid = 0;
  pids >> first_pid;
  BOOST_REQUIRE(first_pid != 0u);
  BOOST_TEST(process_gone(first_pid));
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}

// -- model files served through backends ---------------------------------------

BOOST_AUTO_TEST_CASE(troupe_container_refuses_a_missing_file_or_an_unknown_backend) {
  auto r = test::run_command(container_binary + " --backend xgboost --path "
                             + dir.file("absent.json") + " 2>&1");
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.output.find("absent.json") != std::string::npos, r.output);
  r = test::run_command(container_binary + " --backend onnx --path x 2>&1");
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.output.find("unknown backend 'onnx'") != std::string::npos, r.output);
  r = test::run_command(container_binary + " --backend xgboost 2>&1");
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.output.find("--backend xgboost needs --path FILE") != std::string::npos, r.output);
}

BOOST_AUTO_TEST_CASE(a_supervised_xgboost_container_classifies_digits_above_90_percent) {
  auto made = test::run_command("timeout 120 " + make_models + " --out " + dir.file("models")
                                + " 2>&1");
  BOOST_REQUIRE_MESSAGE(made.status == 0, "troupe-make-models failed: " << made.output);
  // test.csv: 64 pixel values, then the label.
  query_inputs rows;
  std::vector<std::string> labels;
  std::ifstream in{dir.file("models/test.csv")};
  for (std::string line; std::getline(in, line);) {
    std::stringstream fields{line};
    query_input x;
    for (std::string field; std::getline(fields, field, ',');)
      x.numbers.push_back(std::stod(field));
    BOOST_REQUIRE_EQUAL(x.numbers.size(), 65u);
    labels.push_back(std::to_string(static_cast<int>(x.numbers.back())));
    x.numbers.pop_back();
    rows.push_back(std::move(x));
  }
  BOOST_REQUIRE_GT(rows.size(), 300u);

  auto sup = spawn_container_supervisor(
    sys(), supervised({container_binary, "--backend", "xgboost", "--path",
                       dir.file("models/digits_xgb.json"), "--version", "3"}));
  BOOST_REQUIRE(test::wait_until([&] { return stats_of(sys(), sup).pid != 0; }, 10s) >= 0);
  size_t correct = 0;
  for (size_t i = 0; i < rows.size(); i += 64) {
    query_inputs part(rows.begin() + i, rows.begin() + std::min(rows.size(), i + 64));
    auto out = predict(sys(), sup, part);
    BOOST_REQUIRE_MESSAGE(out, why(out));
    BOOST_REQUIRE_EQUAL(out->size(), part.size());
    for (size_t j = 0; j < out->size(); ++j)
      correct += (*out)[j] == labels[i + j];
  }
  auto accuracy = static_cast<double>(correct) / static_cast<double>(rows.size());
  BOOST_TEST_MESSAGE("XGBoost digits container: accuracy " << accuracy);
  BOOST_TEST(accuracy > 0.9);
  // The backend's length check reaches the caller as the container's.
  auto short_row = rows[0];
  short_row.numbers.pop_back();
  auto refused = predict(sys(), sup, {short_row});
  BOOST_REQUIRE(!refused);
  BOOST_TEST(describe(refused.error()).find("has 63 numbers, but model 'digits_xgb' takes 64")
               != std::string::npos,
             describe(refused.error()));
  auto pid = stats_of(sys(), sup).pid;
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  BOOST_TEST(test::wait_until([&] { return process_gone(pid); }, 5s) >= 0);
}

BOOST_AUTO_TEST_CASE(a_slow_container_answers_after_its_delay) {
  auto c = start_container(dir, {"--backend", "noop", "--fault", "slow", "50000"});
  auto proxy = spawn_container_proxy(sys(), "127.0.0.1", c.port, 2s);
  auto started = std::chrono::steady_clock::now();
  auto out = predict(sys(), proxy, {numbers({1, 2})});
  auto elapsed = ms_since(started);
  BOOST_REQUIRE_MESSAGE(out, why(out));
  BOOST_TEST(out->at(0) == "0");
  BOOST_TEST(elapsed >= 50);
  BOOST_TEST(elapsed < 2000);
  caf::anon_send_exit(proxy, caf::exit_reason::user_shutdown);
}

// -- the Python SDK -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_supervised_python_container_classifies_digits_above_90_percent) {
  auto probe = test::run_command(venv_python + " -c 'import capnp, sklearn' 2>&1");
  if (probe.status != 0) {
    BOOST_TEST_MESSAGE("skipped: " << venv_python << " lacks pycapnp or sklearn (run "
                                   << "apps/setup.sh): " << probe.output);
    return;
  }
  auto script = python_dir + "/serve_sklearn_digits.py";
  // The held-out rows, from the same split the container trained without.
  auto csv = dir.file("digits_test.csv");
  auto exported = test::run_command(venv_python + " " + script + " --export-test " + csv + " 2>&1");
  BOOST_REQUIRE_MESSAGE(exported.status == 0, exported.output);
  query_inputs rows;
  std::vector<std::string> labels;
  std::ifstream in{csv};
  for (std::string line; std::getline(in, line);) {
    std::stringstream fields{line};
    std::string field;
    std::getline(fields, field, ',');
    labels.push_back(field);
    query_input x;
    while (std::getline(fields, field, ','))
      x.numbers.push_back(std::stod(field));
    rows.push_back(std::move(x));
  }
  BOOST_REQUIRE(rows.size() == 450u);
  BOOST_REQUIRE(rows[0].numbers.size() == 64u);

  auto opts = supervised({venv_python, script, "--name", "digits"});
  opts.rpc_timeout = 5s;
  auto sup = spawn_container_supervisor(sys(), opts);
  BOOST_REQUIRE(test::wait_until([&] { return stats_of(sys(), sup).pid != 0; }, 30s) >= 0);
  size_t correct = 0;
  constexpr size_t batch = 64;
  auto started = std::chrono::steady_clock::now();
  for (size_t i = 0; i < rows.size(); i += batch) {
    query_inputs part(rows.begin() + i, rows.begin() + std::min(rows.size(), i + batch));
    auto out = predict(sys(), sup, part);
    BOOST_REQUIRE_MESSAGE(out, why(out));
    for (size_t j = 0; j < out->size(); ++j)
      correct += (*out)[j] == labels[i + j];
  }
  auto accuracy = static_cast<double>(correct) / static_cast<double>(rows.size());
  BOOST_TEST_MESSAGE("Python digits container: accuracy " << accuracy << " on " << rows.size()
                       << " held-out rows, " << ms_since(started) << " ms in batches of "
                       << batch);
  BOOST_TEST(accuracy > 0.9);

  // Bad input: its sentence crosses from Python, and the container stays up.
  auto short_row = rows[0];
  short_row.numbers.pop_back();
  auto refused = predict(sys(), sup, {rows[1], short_row});
  BOOST_REQUIRE(!refused);
  BOOST_TEST(describe(refused.error())
               == "invalid_argument: input 1 of the batch has 63 numbers, but model 'digits' "
                  "takes 64");
  auto pid = stats_of(sys(), sup).pid;
  auto again = predict(sys(), sup, {rows[0]});
  BOOST_REQUIRE_MESSAGE(again, why(again));
  BOOST_TEST(again->at(0) == labels[0]);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  BOOST_TEST(test::wait_until([&] { return process_gone(pid); }, 5s) >= 0);
}

BOOST_AUTO_TEST_SUITE_END()
