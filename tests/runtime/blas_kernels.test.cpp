#define BOOST_TEST_MODULE blas_kernels
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "runtime/blas_kernels.hpp"
#include "runtime/child_process.hpp"
#include "runtime/rank_threads.hpp"
#include "tests/support/test_support.hpp"

// Linked (see tests/CMakeLists.txt) so that OpenBLAS is loaded here as it
// is in `troupe`; the reference keeps the linker from dropping it.
extern "C" int openblas_get_num_threads();

using namespace troupe;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool has_avx2() {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/// The OPENBLAS_CORETYPE a rank of `troupe train --nproc 1` gets ("" for
/// none); `environment` prefixes the command line (env assignments).
std::string core_type_a_rank_gets(const std::string& environment) {
  auto r = test::run_command(environment + " timeout 60 " + test::troupe_binary()
                             + " train --nproc 1 -- sh -c 'echo \"core=[$OPENBLAS_CORETYPE]"
                               " threads=[$OPENBLAS_NUM_THREADS]\"' 2>&1");
  BOOST_TEST_REQUIRE(r.status == 0, r.output);
  // The launcher's probe must not leave its one-thread setting to the ranks.
  BOOST_TEST(r.output.find("threads=[]") != std::string::npos, r.output);
  auto at = r.output.find("core=[");
  BOOST_TEST_REQUIRE(at != std::string::npos, r.output);
  auto end = r.output.find(']', at);
  return r.output.substr(at + 6, end - at - 6);
}

/// What a started `troupe serve` shows: the OPENBLAS_CORETYPE in its
/// environment ("" when it has none) and its log up to serving. `env` is
/// added to the environment it starts with, `args` to its command line.
struct started_serve {
  std::string core_type;
  std::string log;
};
started_serve start_troupe_serve(const std::vector<std::string>& env,
                                 const std::vector<std::string>& args = {}) {
  test::temp_dir dir;
  auto ready = dir.file("ready.json");
  std::vector<std::string> argv{TROUPE_BINARY, "serve", "start", "--port", "0", "--admin-port",
                                "0", "--store", dir.file("store"), "--ready-file", ready};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = child_process::spawn(argv, dir.file("serve.log"), env);
  BOOST_TEST_REQUIRE(static_cast<bool>(p), test::why(p));
  // `troupe serve start` becomes troupe-serve, which may re-exec itself:
  // the pid stays, and the ready file says the process serves.
  auto waited = test::wait_until(
    [&] {
      std::ifstream in{ready};
      std::string text{std::istreambuf_iterator<char>{in}, {}};
      return text.find("\"admin_port\"") != std::string::npos;
    },
    std::chrono::seconds{20});
  BOOST_TEST_REQUIRE(waited >= 0, "troupe serve wrote no ready file");
  std::ifstream in{"/proc/" + std::to_string(p->pid()) + "/environ", std::ios::binary};
  std::string all{std::istreambuf_iterator<char>{in}, {}};
  p->stop();
  std::ifstream log_in{dir.file("serve.log")};
  started_serve result;
  result.log.assign(std::istreambuf_iterator<char>{log_in}, {});
  for (size_t at = 0; at < all.size();) {
    auto end = all.find('\0', at);
    auto entry = all.substr(at, end - at);
    if (entry.rfind("OPENBLAS_CORETYPE=", 0) == 0)
      result.core_type = entry.substr(18);
    at = end == std::string::npos ? all.size() : end + 1;
  }
  return result;
}

std::string core_type_troupe_serve_runs_with(const std::vector<std::string>& env) {
  return start_troupe_serve(env).core_type;
}

/// The OpenBLAS thread count troupe serve reports in its log (-1: none).
int openblas_threads_in(const std::string& log) {
  const std::string marker = "in-process models compute on ";
  auto at = log.find(marker);
  return at == std::string::npos ? -1 : std::atoi(log.c_str() + at + marker.size());
}

} // namespace

BOOST_AUTO_TEST_CASE(a_core_type_the_user_set_is_left_alone) {
  BOOST_TEST_REQUIRE(openblas_get_num_threads() >= 1);
  setenv("OPENBLAS_CORETYPE", "Haswell", 1);
  BOOST_TEST(better_openblas_coretype() == "");
  unsetenv("OPENBLAS_CORETYPE");
  BOOST_TEST(core_type_troupe_serve_runs_with({"OPENBLAS_CORETYPE=Haswell"}) == "Haswell");
  BOOST_TEST(core_type_a_rank_gets("env OPENBLAS_CORETYPE=Haswell") == "Haswell");
}

BOOST_AUTO_TEST_CASE(openblas_fallback_kernels_are_replaced_by_what_the_cpu_supports) {
  unsetenv("OPENBLAS_CORETYPE");
  std::string loaded;
  auto better = better_openblas_coretype(&loaded);
  BOOST_TEST_MESSAGE("OpenBLAS chose '" << loaded << "'; better: '" << better << "'");
  BOOST_TEST_REQUIRE(!loaded.empty(), "OpenBLAS is loaded in this test, so it has a core name");
  // The case seen on this project's VMs: an AVX-512 Xeon that OpenBLAS
  // 0.3.21 does not know, given SSE3 kernels.
  if (lower(loaded) == "prescott" && has_avx2())
    BOOST_TEST(!better.empty());
  if (better == "SkylakeX")
    BOOST_TEST(__builtin_cpu_supports("avx512f"));
  else if (better == "Haswell")
    BOOST_TEST(has_avx2());
  else
    BOOST_TEST(better == "");
  // The serving frontend (whose TorchScript models call OpenBLAS) runs with
  // the same choice.
  BOOST_TEST(core_type_troupe_serve_runs_with({}) == better);
  // So do the ranks `troupe train` starts (the launcher itself does not
  // load OpenBLAS: it asks a copy loaded for the question).
  BOOST_TEST(core_type_a_rank_gets("env -u OPENBLAS_CORETYPE -u OPENBLAS_NUM_THREADS") == better);
}

// In-process models share the cores with the HTTP thread: OpenBLAS gets the
// rest (one thread on 2 cores, where its default of one per core left a
// worker spinning beside the HTTP thread), unless the user chose.
BOOST_AUTO_TEST_CASE(troupe_serve_gives_openblas_the_cores_the_http_threads_leave) {
  unsetenv("OPENBLAS_NUM_THREADS");  // the server inherits this environment
  unsetenv("OMP_NUM_THREADS");
  auto cores = usable_cores();
  auto plain = start_troupe_serve({}, {});
  BOOST_TEST(openblas_threads_in(plain.log) == std::max(1, cores - 1), plain.log);
  if (cores < 2)
    return;  // then every choice is one thread
  auto chosen = start_troupe_serve({}, {"--model-threads", "2"});
  BOOST_TEST(openblas_threads_in(chosen.log) == 2, chosen.log);
  auto users = start_troupe_serve({"OPENBLAS_NUM_THREADS=2"}, {});
  BOOST_TEST(openblas_threads_in(users.log) == 2, users.log);
}
