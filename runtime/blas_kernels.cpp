#include "runtime/blas_kernels.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <string_view>

namespace troupe {

namespace {

/// 0: SSE-era kernels (OpenBLAS's fallback), 1: AVX2 + FMA, 2: AVX-512.
int cpu_tier() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
      && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return 2;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return 1;
#endif
  return 0;
}

/// Whether OpenBLAS's core name stands for kernels using AVX2 or more.
/// Anything else (Prescott, Core2, Nehalem, Sandybridge, "Unknown", ...) is
/// a fallback on a CPU that has AVX2; a modern core is left alone (Zen on an
/// AVX-512 Zen 4 is OpenBLAS's deliberate choice, not a fallback).
bool is_modern_core(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  constexpr std::array<std::string_view, 6> modern{"haswell",    "zen",           "skylakex",
                                                    "cooperlake", "sapphirerapids", "excavator"};
  return std::any_of(modern.begin(), modern.end(),
                     [&](std::string_view m) { return name.rfind(m, 0) == 0; });
}

using corename_fn = char* (*)();

/// The better core for a process whose OpenBLAS answers `corename`.
std::string better_than(corename_fn corename, std::string* loaded_core) {
  const char* name = corename();
  if (name == nullptr)
    return "";
  if (loaded_core != nullptr)
    *loaded_core = name;
  if (is_modern_core(name))
    return "";
  switch (cpu_tier()) {
    case 2:
      return "SkylakeX";
    case 1:
      return "Haswell";
    default:
      return "";
  }
}

} // namespace

std::string better_openblas_coretype(std::string* loaded_core) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr)
    return "";
  // Looked up, not linked: a program without OpenBLAS has nothing to fix.
  auto corename = reinterpret_cast<corename_fn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (corename == nullptr)
    return "";
  return better_than(corename, loaded_core);
}

std::string probe_openblas_coretype(std::string* loaded_core) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr)
    return "";
  if (dlsym(RTLD_DEFAULT, "openblas_get_corename") != nullptr)
    return better_openblas_coretype(loaded_core);
  // Loaded for the question only, with one thread so that it starts no
  // worker threads, and closed again. The variable is taken back at once:
  // the programs started later (training ranks) must not inherit it.
  bool had_threads = std::getenv("OPENBLAS_NUM_THREADS") != nullptr;
  if (!had_threads)
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
  void* library = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!had_threads)
    unsetenv("OPENBLAS_NUM_THREADS");
  if (library == nullptr)
    return "";
  std::string result;
  if (auto corename = dlsym(library, "openblas_get_corename"); corename != nullptr)
    result = better_than(reinterpret_cast<corename_fn>(corename), loaded_core);
  dlclose(library);
  return result;
}

void reexec_with_better_openblas_kernels(char** argv) {
  auto core = better_openblas_coretype();
  if (core.empty())
    return;
  setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  execv("/proc/self/exe", argv);
  // The exec failed (no /proc?): run on with OpenBLAS's own choice, and keep
  // the variable out of the children's environment so they decide alike.
  unsetenv("OPENBLAS_CORETYPE");
}

int limit_openblas_threads(int threads) {
  using get_fn = int (*)();
  using set_fn = void (*)(int);
  auto get = reinterpret_cast<get_fn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  auto set = reinterpret_cast<set_fn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (get == nullptr || set == nullptr)
    return 0;
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr && std::getenv("OMP_NUM_THREADS") == nullptr
      && threads > 0)
    set(threads);
  return get();
}

} // namespace troupe
