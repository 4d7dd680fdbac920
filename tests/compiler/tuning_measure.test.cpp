// Measurers and tuning records: candidates are timed in troupe-measure
// worker processes, whose crashes and hangs become errors; records survive
// kill -9 of the process that wrote them.
#define BOOST_TEST_MODULE tuning_measure
#include <boost/test/unit_test.hpp>

#include "compiler/tuning/measurer.hpp"
#include "compiler/tuning/tuning_records.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace troupe::compiler;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const tuning_task matmul128{"matmul", {128, 128, 128}};
// tile_m, tile_n, unroll_k, columns_outer, tensorize, block_k
const tuning_config good_config{4, 32, 4, 1, 0, 0};

/// A fresh directory under /tmp, removed at the end of the test.
struct temp_dir {
  fs::path path;
  temp_dir() {
    char templ[] = "/tmp/tuning_measure_XXXXXX";
    path = mkdtemp(templ);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

measure_result sample_result(int i) {
  measure_result r;
  r.config = {i, 32, 4, 1, 0, 0};
  r.seconds = 0.001 * (10 - i % 7);
  r.mean_seconds = r.seconds * 1.1;
  r.gflops = 1.0 / r.seconds;
  r.max_error = 1e-6;
  r.device = "host/cpu";
  r.timestamp = 1700000000000 + i;
  if (i % 5 == 4)
    r.error = "timeout after 2 s (running)";
  return r;
}

/// sample_result with one value per knob of `task`'s template.
measure_result sample_result(int i, const tuning_task& task) {
  auto r = sample_result(i);
  r.config.resize(space_of(task).knobs.size(), 1);
  return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(measurer_suite)

BOOST_AUTO_TEST_CASE(a_valid_matmul_config_measures_ok_and_correct) {
  measurer m(TROUPE_MEASURE);
  auto r = m.measure(matmul128, good_config);
  BOOST_TEST_MESSAGE("matmul 128: " << r.seconds * 1e3 << " ms, " << r.gflops << " GFLOP/s, error "
                                    << r.max_error << ", device " << r.device);
  BOOST_TEST(r.ok(), r.error);
  BOOST_TEST(r.gflops > 0);
  BOOST_TEST(r.seconds > 0);
  BOOST_TEST(r.mean_seconds > 0);  // the median and the trimmed mean of the repeats
  BOOST_TEST(r.max_error < 1e-3);
  BOOST_TEST(r.device.find('/') != std::string::npos);
  BOOST_TEST(r.timestamp > 0);
  BOOST_TEST((r.config == good_config));
}

BOOST_AUTO_TEST_CASE(a_minimum_repeat_time_lengthens_each_warm_repeat_and_bad_ones_are_refused) {
  measure_request request;
  request.task = matmul128;
  request.config = good_config;
  request.min_repeat_ms = 15;
  BOOST_TEST(request_from_json(request_to_json(request)).min_repeat_ms == 15);
  BOOST_TEST(request_from_json("{\"task\":{\"op\":\"matmul\",\"shape\":[128,128,128]},"
                               "\"config\":[8,32,4,1,0,0]}").min_repeat_ms == 0);  // the default
  for (const char* bad : {"-1", "10001"}) {
    try {
      request_from_json(std::string("{\"task\":{\"op\":\"matmul\",\"shape\":[128,128,128]},"
                                    "\"config\":[8,32,4,1,0,0],\"min_repeat_ms\":") + bad + "}");
      BOOST_FAIL("min_repeat_ms " << bad << " was accepted");
    } catch (const std::invalid_argument& e) {
      BOOST_TEST(std::string(e.what()).find("min_repeat_ms") != std::string::npos, e.what());
    }
  }
  // The worker honours it: a warm-up and 3 repeats of at least 15 ms each
  // (matmul 128 runs in well under a millisecond).
  measurer m(TROUPE_MEASURE);
  measure_options o;
  o.flush = false;
  o.repeats = 3;
  o.min_repeat_ms = 15;
  m.measure(matmul128, good_config, o);  // compiles and makes the reference once
  auto start = std::chrono::steady_clock::now();
  auto r = m.measure(matmul128, good_config, o);
  auto elapsed = std::chrono::steady_clock::now() - start;
  BOOST_TEST(r.ok(), r.error);
  BOOST_TEST(r.gflops > 0);
  bool long_enough = elapsed >= std::chrono::milliseconds(4 * 15);
  BOOST_TEST(long_enough);
  BOOST_TEST(r.seconds < 0.015);  // a run's time, not a repeat's
}

BOOST_AUTO_TEST_CASE(warm_runs_without_cache_flushes_measure_ok_and_travel_in_the_request) {
  measure_request request;
  request.task = matmul128;
  request.config = good_config;
  request.flush = false;
  auto text = request_to_json(request);
  BOOST_TEST(text.find("\"flush\":false") != std::string::npos, text);
  BOOST_TEST(request_from_json(text).flush == false);
  BOOST_TEST(request_from_json("{\"task\":{\"op\":\"matmul\",\"shape\":[128,128,128]},"
                               "\"config\":[8,32,4,1,0,0]}").flush == true);  // the default
  measurer m(TROUPE_MEASURE);
  measure_options warm;
  warm.flush = false;
  auto r = m.measure(matmul128, good_config, warm);
  BOOST_TEST(r.ok(), r.error);
  BOOST_TEST(r.gflops > 0);
  BOOST_TEST(r.max_error < 1e-3);
}

BOOST_AUTO_TEST_CASE(invalid_configs_are_errors_naming_the_reason) {
  measurer m(TROUPE_MEASURE);
  auto r = m.measure(matmul128, {4, 32, 4, 1, 0, 64});  // block_k without tensorize
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.error.find("block_k") != std::string::npos, r.error);
  tuning_task odd{"matmul", {128, 80, 128}};
  r = m.measure(odd, {4, 64, 4, 1, 0, 0});  // tile_n 64 does not divide 80
  BOOST_TEST(r.error.find("tile_n") != std::string::npos, r.error);
  r = m.measure(matmul128, {5, 32, 4, 1, 0, 0});  // not a knob value
  BOOST_TEST(r.error.find("tile_m") != std::string::npos, r.error);
  BOOST_TEST(m.workers_started() == 1);  // refused configs do not cost the worker
}

BOOST_AUTO_TEST_CASE(convolution_tiles_over_rows_and_taps_outer_measure_correct) {
  measurer m(TROUPE_MEASURE);
  tuning_task conv{"conv2d", {16, 14, 14, 32, 3, 1, 1}};
  // reg_n, oc_tile, reg_h, taps_outer, unroll_taps
  for (tuning_config config : {tuning_config{7, 2, 2, 1, 1}, tuning_config{14, 1, 2, 0, 0},
                               tuning_config{2, 2, 1, 1, 0}}) {
    auto r = m.measure(conv, config);
    BOOST_TEST(r.ok(), r.error);
    BOOST_TEST(r.max_error < 1e-3);
  }
  tuning_task strided{"conv2d", {16, 14, 14, 32, 3, 2, 1}};  // 7x7 output
  auto r = m.measure(strided, {7, 1, 1, 1, 0});
  BOOST_TEST(r.ok(), r.error);
  r = m.measure(strided, {7, 1, 2, 0, 0});
  BOOST_TEST(r.error.find("reg_h 2 does not divide the output height 7") != std::string::npos,
             r.error);
  r = m.measure(conv, {14, 2, 2, 0, 0});  // 56 accumulators
  BOOST_TEST(r.error.find("vector registers") != std::string::npos, r.error);
}

BOOST_AUTO_TEST_CASE(depthwise_candidates_measure_correct_and_bad_ones_are_refused) {
  measurer m(TROUPE_MEASURE);
  tuning_task dw{"depthwise_conv2d", {32, 28, 28, 3, 1, 1}};
  BOOST_TEST(dw.flops() == 2.0 * 32 * 28 * 28 * 9);
  BOOST_TEST(space_of(dw).size() == 24u);
  for (tuning_config config : {tuning_config{7, 1}, tuning_config{7, 2}, tuning_config{4, 4}}) {
    auto r = m.measure(dw, config);
    BOOST_TEST(r.ok(), r.error);
    BOOST_TEST(r.max_error < 1e-4);
  }
  tuning_task strided{"depthwise_conv2d", {32, 28, 28, 3, 2, 1}};  // 14x14 output
  auto r = m.measure(strided, {7, 2});
  BOOST_TEST(r.ok(), r.error);
  r = m.measure(dw, {8, 1});
  BOOST_TEST(r.error.find("reg_n 8 does not divide the output width 28") != std::string::npos,
             r.error);
  r = m.measure(dw, {28, 4});
  BOOST_TEST(r.error.find("vector registers") != std::string::npos, r.error);
  r = m.measure(tuning_task{"depthwise_conv2d", {24, 28, 28, 3, 1, 1}}, {7, 1});
  BOOST_TEST(r.error.find("not a multiple of 16") != std::string::npos, r.error);
}

BOOST_AUTO_TEST_CASE(a_crashing_candidate_is_an_error_and_the_next_one_runs) {
  measurer m(TROUPE_MEASURE);
  measure_options crash;
  crash.fault = "crash";
  auto r = m.measure(matmul128, good_config, crash);
  BOOST_TEST(r.error.find("crashed") != std::string::npos, r.error);
  BOOST_TEST(r.error.find("signal 6") != std::string::npos, r.error);
  BOOST_TEST(m.worker_pid() == -1);
  r = m.measure(matmul128, good_config);
  BOOST_TEST(r.ok(), r.error);
  BOOST_TEST(m.workers_started() == 2);
}

BOOST_AUTO_TEST_CASE(a_hanging_candidate_times_out_and_the_next_one_runs) {
  auto t0 = std::chrono::steady_clock::now();
  measurer m(TROUPE_MEASURE);
  BOOST_TEST_REQUIRE(m.measure(matmul128, good_config).ok());
  pid_t first_worker = m.worker_pid();
  BOOST_TEST(first_worker > 0);
  measure_options hang;
  hang.fault = "hang";
  hang.run_timeout = 2s;
  auto r = m.measure(matmul128, good_config, hang);
  BOOST_TEST(r.error.find("timeout after 2 s") != std::string::npos, r.error);
  BOOST_TEST(m.worker_pid() == -1);
  BOOST_TEST(kill(first_worker, 0) == -1);  // killed and reaped
  r = m.measure(matmul128, good_config);
  BOOST_TEST(r.ok(), r.error);
  BOOST_TEST(since(t0) < 10.0);
}

BOOST_AUTO_TEST_CASE(a_wrong_result_is_an_error_with_its_error_size) {
  measurer m(TROUPE_MEASURE);
  measure_options wrong;
  wrong.fault = "wrong";
  auto r = m.measure(matmul128, good_config, wrong);
  BOOST_TEST(r.error.find("wrong result") != std::string::npos, r.error);
  BOOST_TEST(r.max_error > 1e-3);
  BOOST_TEST(m.workers_started() == 1);
}

BOOST_AUTO_TEST_CASE(a_missing_worker_binary_is_an_error_not_an_exception) {
  measurer m("/nonexistent/troupe-measure");
  auto r = m.measure(matmul128, good_config);
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.error.find("failed to start") != std::string::npos, r.error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(records_suite)

BOOST_AUTO_TEST_CASE(records_survive_reopening_in_append_order) {
  temp_dir dir;
  tuning_task other{"conv2d", {16, 14, 14, 32, 3, 1, 1}};
  {
    tuning_records records(dir.path / "db");
    for (int i = 0; i < 12; ++i)
      if (i % 3)
        records.append(matmul128, sample_result(i));
      else
        records.append(other, sample_result(i, other));
  }
  tuning_records records(dir.path / "db");
  auto loaded = records.load(matmul128);
  BOOST_TEST_REQUIRE(loaded.size() == 8u);
  BOOST_TEST(loaded[0].config[0] == 1);
  BOOST_TEST(loaded[7].config[0] == 11);
  BOOST_TEST(loaded[3].error == sample_result(5).error);
  BOOST_TEST(loaded[1].device == "host/cpu");
  BOOST_TEST(loaded[1].timestamp == sample_result(2).timestamp);
  BOOST_TEST(records.load(other).size() == 4u);
  // Appending after reopening continues the order.
  records.append(matmul128, sample_result(20));
  BOOST_TEST(records.load(matmul128).back().config[0] == 20);
  auto best = records.best(matmul128);
  BOOST_TEST_REQUIRE(best.has_value());
  BOOST_TEST(best->ok());
  for (auto& r : records.load(matmul128))
    if (r.ok())
      BOOST_TEST(best->seconds <= r.seconds);
  BOOST_TEST(!records.best(tuning_task{"matmul", {1, 2, 3}}).has_value());
}

BOOST_AUTO_TEST_CASE(a_confirmed_record_is_the_best_and_no_trial) {
  temp_dir dir;
  tuning_records records(dir.path / "db");
  auto lucky = sample_result(1);
  lucky.seconds = 1e-4;  // one fast moment: the fastest trial
  records.append(matmul128, lucky);
  auto finalist = sample_result(2);
  finalist.seconds = 2e-4;
  records.append(matmul128, finalist);
  BOOST_TEST(records.best(matmul128)->seconds == 1e-4);
  auto confirmed = finalist;
  confirmed.seconds = 3e-4;
  confirmed.confirmed = true;
  records.append(matmul128, confirmed);
  auto failed = sample_result(1);
  failed.confirmed = true;
  failed.error = "crashed";
  records.append(matmul128, failed);
  // Re-measured together, the finalists compare with each other, not with
  // a single trial: the best is the fastest valid confirmed record.
  auto best = records.best(matmul128);
  BOOST_TEST_REQUIRE(best.has_value());
  BOOST_TEST(best->confirmed);
  BOOST_TEST((best->config == finalist.config));
  BOOST_TEST(records.trials(matmul128) == 2u);
  BOOST_TEST(records.load(matmul128).size() == 4u);
  // The flag travels in JSON; a record without it is a trial.
  auto [task, back] = record_from_json(record_to_json(matmul128, confirmed));
  BOOST_TEST(back.confirmed);
  BOOST_TEST(record_to_json(matmul128, finalist).find("confirmed") == std::string::npos);
  BOOST_TEST(!record_from_json(record_to_json(matmul128, finalist)).second.confirmed);
}

BOOST_AUTO_TEST_CASE(records_of_an_older_template_are_skipped_not_applied) {
  temp_dir dir;
  tuning_task conv{"conv2d", {16, 14, 14, 32, 3, 1, 1}};
  tuning_records records(dir.path / "db");
  auto old = sample_result(0);
  old.config = {7, 2};  // reg_n, oc_tile: the template before reg_h and the reduction order
  old.seconds = 1e-9;   // would be the best
  records.append(conv, old);
  auto current = sample_result(1, conv);
  records.append(conv, current);
  BOOST_TEST(records.load(conv).size() == 1u);
  BOOST_TEST(records.all().size() == 1u);
  auto best = records.best(conv);
  BOOST_TEST_REQUIRE(best.has_value());
  BOOST_TEST((best->config == current.config));
}

BOOST_AUTO_TEST_CASE(records_appended_before_kill_9_are_all_there) {
  temp_dir dir;
  auto db = dir.path / "db";
  int pipe_fds[2];
  BOOST_TEST_REQUIRE(pipe(pipe_fds) == 0);
  pid_t pid = fork();
  BOOST_TEST_REQUIRE(pid >= 0);
  if (pid == 0) {
    // The writer: appends without end, reporting each append once it returned.
    close(pipe_fds[0]);
    try {
      tuning_records records(db);
      for (int i = 0;; ++i) {
        records.append(matmul128, sample_result(i));
        if (write(pipe_fds[1], &i, sizeof(i)) != sizeof(i))
          _exit(2);
      }
    } catch (...) {
      _exit(1);
    }
  }
  close(pipe_fds[1]);
  int last = -1;
  auto t0 = std::chrono::steady_clock::now();
  while (last < 30 && since(t0) < 20.0) {
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    if (poll(&pfd, 1, 1000) <= 0)
      continue;
    int i = 0;
    if (read(pipe_fds[0], &i, sizeof(i)) != sizeof(i))
      break;
    last = i;
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  // Reports written before the kill but not yet read count too.
  for (int i = 0; read(pipe_fds[0], &i, sizeof(i)) == sizeof(i);)
    last = i;
  close(pipe_fds[0]);
  BOOST_TEST(WIFSIGNALED(status));
  BOOST_TEST_REQUIRE(last >= 30);
  tuning_records records(db);
  auto loaded = records.load(matmul128);
  BOOST_TEST_MESSAGE(last + 1 << " appends reported, " << loaded.size() << " records found");
  BOOST_TEST_REQUIRE(loaded.size() >= static_cast<size_t>(last + 1));
  for (int i = 0; i <= last; ++i)
    BOOST_TEST(loaded[i].config[0] == i);
  // A resumed run appends after them.
  records.append(matmul128, sample_result(1000));
  BOOST_TEST(records.load(matmul128).back().config[0] == 1000);
}

BOOST_AUTO_TEST_CASE(json_lines_export_and_import_round_trip) {
  temp_dir dir;
  tuning_task conv{"conv2d", {16, 14, 14, 32, 3, 1, 1}};
  std::string exported;
  {
    tuning_records records(dir.path / "a");
    for (int i = 0; i < 6; ++i)
      if (i % 2)
        records.append(matmul128, sample_result(i));
      else
        records.append(conv, sample_result(i, conv));
    BOOST_TEST(records.export_json_lines((dir.path / "a.jsonl").string()) == 6u);
    std::ostringstream out;
    records.export_json_lines(out);
    exported = out.str();
  }
  BOOST_TEST(exported.find("\"task\":\"matmul_128x128x128\"") != std::string::npos);
  tuning_records copy(dir.path / "b");
  BOOST_TEST(copy.import_json_lines((dir.path / "a.jsonl").string()) == 6u);
  std::ostringstream again;
  copy.export_json_lines(again);
  BOOST_TEST(again.str() == exported);
  auto a = copy.load(matmul128);
  BOOST_TEST_REQUIRE(a.size() == 3u);
  BOOST_TEST((a[2].config == sample_result(5).config));
  BOOST_TEST(a[2].seconds == sample_result(5).seconds);
  BOOST_TEST(a[1].error == sample_result(3).error);
}

BOOST_AUTO_TEST_CASE(a_corrupt_json_line_is_refused_naming_its_line) {
  temp_dir dir;
  tuning_records records(dir.path / "db");
  std::string good = record_to_json(matmul128, sample_result(1));
  std::istringstream in(good + "\n\n" + good + "\n{\"op\": \"matmul\", \"shape\": [1,\n" + good);
  try {
    records.import_json_lines(in);
    BOOST_FAIL("a corrupt line was accepted");
  } catch (const records_error& e) {
    BOOST_TEST(std::string(e.what()).find("line 4") != std::string::npos, e.what());
  }
  BOOST_TEST(records.load(matmul128).empty());  // all or nothing
  std::istringstream missing("{\"op\": \"matmul\", \"shape\": [1, 2, 3]}\n");
  BOOST_CHECK_THROW(records.import_json_lines(missing), records_error);
}

BOOST_AUTO_TEST_SUITE_END()
