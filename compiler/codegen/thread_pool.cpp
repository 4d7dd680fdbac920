#include "compiler/codegen/thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace troupe::compiler {

namespace {

// How long an idle worker spins on the job counter before it sleeps.
constexpr auto spin_before_sleep = std::chrono::microseconds(200);
// Chunks per thread: a little over-decomposition lets fast threads take
// the work of a late one.
constexpr int64_t chunks_per_thread = 4;

thread_local bool inside_parallel_body = false;

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// One job at a time. A worker joins generation g by raising `participants`
// and then checking that g is still open (seq_cst on both sides, so either
// the caller sees the worker and waits for it, or the worker sees the job
// closed and keeps away from the caller's job fields).
//
//   caller:  fill job -> open = g -> generation = g -> run chunks
//            -> wait done == chunks -> open = 0 -> wait participants == 0
//   worker:  see generation g -> participants++ -> open == g ? run chunks
//            -> participants--
class thread_pool {
public:
  explicit thread_pool(int threads) {
    for (int i = 1; i < threads; ++i)
      workers_.emplace_back([this] { work(); });
  }

  ~thread_pool() {
    {
      std::lock_guard<std::mutex> guard(sleep_mutex_);
      stop_.store(true);
    }
    wake_.notify_all();
    for (auto& worker : workers_)
      worker.join();
  }

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Returns false when another thread's job holds the pool.
  bool try_run(int64_t extent, troupe_parallel_body body, void* closure) {
    std::unique_lock<std::mutex> busy(job_mutex_, std::try_to_lock);
    if (!busy.owns_lock())
      return false;
    int64_t chunks = std::min<int64_t>(extent, threads() * chunks_per_thread);
    body_ = body;
    closure_ = closure;
    extent_ = extent;
    chunks_ = chunks;
    next_chunk_.store(0);
    done_chunks_.store(0);
    uint64_t generation = generation_.load() + 1;
    open_.store(generation);
    {
      std::lock_guard<std::mutex> guard(sleep_mutex_);
      generation_.store(generation);
    }
    wake_.notify_all();
    run_chunks();
    wait_until([&] { return done_chunks_.load() >= chunks; });
    open_.store(0);
    wait_until([&] { return participants_.load() == 0; });
    return true;
  }

private:
  // Spins, then yields: a worker that holds a chunk may have lost its core.
  template <class Condition>
  static void wait_until(Condition done) {
    for (int spins = 0; !done(); ++spins) {
      if (spins < 4096)
        cpu_relax();
      else
        std::this_thread::yield();
    }
  }

  void run_chunks() {
    bool was_inside = inside_parallel_body;
    inside_parallel_body = true;
    for (;;) {
      int64_t chunk = next_chunk_.fetch_add(1);
      if (chunk >= chunks_)
        break;
      int64_t begin = extent_ * chunk / chunks_;
      int64_t end = extent_ * (chunk + 1) / chunks_;
      body_(begin, end, closure_);
      done_chunks_.fetch_add(1);
    }
    inside_parallel_body = was_inside;
  }

  void work() {
    uint64_t seen = 0;
    for (;;) {
      uint64_t generation = wait_for_job(seen);
      if (generation == 0)
        return;
      seen = generation;
      participants_.fetch_add(1);
      if (open_.load() == generation)
        run_chunks();
      participants_.fetch_sub(1);
    }
  }

  // The next generation after `seen`, or 0 when the pool stops.
  uint64_t wait_for_job(uint64_t seen) {
    auto deadline = std::chrono::steady_clock::now() + spin_before_sleep;
    for (int spins = 0;; ++spins) {
      if (stop_.load(std::memory_order_relaxed))
        return 0;
      uint64_t generation = generation_.load();
      if (generation != seen)
        return generation;
      cpu_relax();
      if (spins % 64 == 63 && std::chrono::steady_clock::now() > deadline)
        break;
    }
    std::unique_lock<std::mutex> lock(sleep_mutex_);
    wake_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
    return stop_.load() ? 0 : generation_.load();
  }

  std::vector<std::thread> workers_;
  std::mutex job_mutex_;
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> open_{0};
  std::atomic<int> participants_{0};
  std::atomic<int64_t> next_chunk_{0};
  std::atomic<int64_t> done_chunks_{0};
  // The current job; written only while no worker participates.
  troupe_parallel_body body_ = nullptr;
  void* closure_ = nullptr;
  int64_t extent_ = 0;
  int64_t chunks_ = 0;
};

std::mutex pool_mutex;
std::shared_ptr<thread_pool> pool;
int requested_threads = 0;

int default_threads() {
  unsigned hardware = std::thread::hardware_concurrency();
  return hardware == 0 ? 1 : static_cast<int>(hardware);
}

std::shared_ptr<thread_pool> current_pool() {
  std::lock_guard<std::mutex> guard(pool_mutex);
  if (!pool)
    pool = std::make_shared<thread_pool>(requested_threads > 0 ? requested_threads
                                                               : default_threads());
  return pool;
}

}  // namespace

void set_compiler_threads(int threads) {
  std::shared_ptr<thread_pool> old;
  {
    std::lock_guard<std::mutex> guard(pool_mutex);
    requested_threads = threads;
    old = std::move(pool);
  }
  // `old` joins its workers here, outside the lock.
}

int compiler_threads() {
  std::lock_guard<std::mutex> guard(pool_mutex);
  if (pool)
    return pool->threads();
  return requested_threads > 0 ? requested_threads : default_threads();
}

}  // namespace troupe::compiler

extern "C" void troupe_parallel_for(int64_t extent, troupe_parallel_body body, void* closure) {
  using namespace troupe::compiler;
  if (extent <= 0)
    return;
  if (extent > 1 && !inside_parallel_body) {
    auto workers = current_pool();
    if (workers->threads() > 1 && workers->try_run(extent, body, closure))
      return;
  }
  bool was_inside = inside_parallel_body;
  inside_parallel_body = true;
  body(0, extent, closure);
  inside_parallel_body = was_inside;
}
