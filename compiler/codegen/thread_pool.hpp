// The runtime behind parallel loops: generated code calls
// troupe_parallel_for, which splits [0, extent) into chunks and runs them on
// a process-wide pool of worker threads, the calling thread included. After
// a job the workers spin briefly (so that back-to-back parallel loops start
// fast) and then sleep: an idle pool costs no CPU.
#pragma once

#include <cstdint>

extern "C" {

/// The body of a parallel loop: runs iterations [task_begin, task_end).
using troupe_parallel_body = void (*)(int64_t task_begin, int64_t task_end, void* closure);

/// Runs body over [0, extent) split across the pool and returns when every
/// iteration is done. A call from inside a running body (a nested parallel
/// loop), or while another thread's job holds the pool, runs inline.
void troupe_parallel_for(int64_t extent, troupe_parallel_body body, void* closure);
}

namespace troupe::compiler {

/// Sets how many threads (the caller included) run parallel loops; 0 or
/// less means std::thread::hardware_concurrency(). Restarts the pool.
/// REQUIRES: no parallel loop is running.
void set_compiler_threads(int threads);

/// How many threads (the caller included) run parallel loops.
int compiler_threads();

} // namespace troupe::compiler
