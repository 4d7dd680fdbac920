// OpenBLAS's kernels on CPUs it does not recognise.
//
// OpenBLAS (Debian's libopenblas0, which libtorch's linear layers call)
// picks its kernels from the CPU id when it loads. On a CPU model it does
// not know, virtualized Xeons among them, it falls back to SSE3 "Prescott"
// kernels even where the CPU has AVX2 or AVX-512: on the 2-core VM that
// serves Troupe's benchmarks a TorchScript MLP ran 4x slower at batch 1 and
// 4x slower at batch 128 than with the kernels the CPU supports. The choice
// can only be changed before the library loads, through the environment
// variable OPENBLAS_CORETYPE: hence a re-exec.
#pragma once

#include <string>

namespace troupe {

/// The OPENBLAS_CORETYPE this process should run with, or "" when there is
/// nothing to fix: OpenBLAS is not loaded, OPENBLAS_CORETYPE is already set
/// (the user's choice, respected), or OpenBLAS chose kernels that use AVX2
/// or better. `loaded_core` is OpenBLAS's own choice ("Prescott").
std::string better_openblas_coretype(std::string* loaded_core = nullptr);

/// As better_openblas_coretype(), for a process that does not load OpenBLAS
/// itself but starts programs that do (`troupe train`'s launcher): loads
/// libopenblas.so.0 for the question when it is not loaded.
std::string probe_openblas_coretype(std::string* loaded_core = nullptr);

/// Re-executes this program (same pid, same arguments) with
/// OPENBLAS_CORETYPE set when better_openblas_coretype() names a core; call
/// it first thing in main(), before any thread starts. Returns only when
/// there is nothing to fix or the re-exec failed (then OpenBLAS keeps its
/// own choice).
void reexec_with_better_openblas_kernels(char** argv);

/// Sets the number of threads of the OpenBLAS loaded in this process to
/// `threads` unless the user chose with OPENBLAS_NUM_THREADS or
/// OMP_NUM_THREADS. Returns the count OpenBLAS then runs with, or 0 when
/// OpenBLAS is not loaded. (Debian's OpenBLAS starts a thread per core, and
/// its idle threads spin on sched_yield beside the serving frontend's own.)
int limit_openblas_threads(int threads);

} // namespace troupe
