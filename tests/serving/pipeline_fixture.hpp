// What the pipeline's tests share: a small real model behind a container
// (the sum of the input, with a configurable cost per batch), batchers and
// apps in front of it, and a client that asks them and waits.
#pragma once

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/serving/app.hpp"
#include "actors/serving/batcher.hpp"
#include "actors/serving/serving_metrics.hpp"
#include "messages/errors.hpp"
#include "runtime/state_store.hpp"
#include "tests/support/test_support.hpp"

using namespace troupe;
using namespace troupe::serving;
using namespace std::chrono_literals;

namespace {

/// What a test container does and how it reports what it saw.
struct sum_model {
  std::chrono::microseconds per_batch{0};
  std::chrono::microseconds per_query{0};
  bool fail = false;
  std::string offset;  // appended to each output, to tell models apart
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> queries{0};
  std::atomic<uint64_t> largest{0};
};

/// A detached container: like a real one, it blocks its own thread while
/// it computes.
model_container_actor spawn_sum_container(caf::actor_system& sys,
                                          std::shared_ptr<sum_model> model) {
  return sys.spawn<caf::detached>(
    [model](model_container_actor::pointer) -> model_container_actor::behavior_type {
      return {
        [model](predict_atom, const query_inputs& batch) -> caf::result<model_outputs> {
          ++model->batches;
          model->queries += batch.size();
          if (batch.size() > model->largest)
            model->largest = batch.size();
          std::this_thread::sleep_for(model->per_batch + model->per_query * batch.size());
          if (model->fail)
            return make_error(errc::io_failure, "this container always fails");
          model_outputs out;
          for (auto& x : batch) {
            double sum = 0;
            for (auto v : x.numbers)
              sum += v;
            out.push_back(std::to_string(static_cast<long long>(sum)) + model->offset);
          }
          return out;
        },
      };
    });
}

query_input numbers(std::vector<double> xs) {
  return query_input{input_kind::doubles, std::move(xs), {}};
}

struct fixture {
  test::client_system client;
  caf::scoped_actor self{client.sys()};
  // Batchers and apps keep timers at their queries' deadlines, which keep
  // them alive; a test stops what it spawned so that shutdown is immediate.
  std::vector<caf::actor> spawned;

  ~fixture() {
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  template <class T, class Handle, class... Ts>
  caf::expected<T> ask(const Handle& h, Ts&&... xs) {
    caf::expected<T> result = make_error(errc::timeout, "no answer");
    self->request(h, 10s, std::forward<Ts>(xs)...)
      .receive([&](T& x) { result = std::move(x); }, [&](caf::error& e) { result = e; });
    return result;
  }

  batcher_actor batcher_for(std::shared_ptr<sum_model> model, const std::string& id,
                            aimd_options aimd = {}, int64_t delay_us = 0, uint32_t replica = 0,
                            uint32_t in_flight = 2) {
    batcher_options opts;
    opts.model = id;
    opts.replica = replica;
    opts.aimd = aimd;
    opts.batch_delay_us = delay_us;
    opts.batches_in_flight = in_flight;
    auto container = spawn_sum_container(client.sys(), model);
    auto b = spawn_batcher(client.sys(), container, opts);
    spawned.push_back(caf::actor_cast<caf::actor>(container));
    spawned.push_back(caf::actor_cast<caf::actor>(b));
    return b;
  }

  app_actor app_with(app_spec spec, std::vector<app_model> models,
                     std::shared_ptr<prediction_cache> cache = nullptr,
                     state_store_actor store = {}, std::string state = {},
                     std::shared_ptr<serving_metrics> metrics = nullptr) {
    app_options opts;
    opts.metrics = std::move(metrics);
    opts.spec = std::move(spec);
    opts.models = std::move(models);
    opts.cache = std::move(cache);
    opts.store = std::move(store);
    opts.policy_state = std::move(state);
    auto app = spawn_app(client.sys(), std::move(opts));
    BOOST_REQUIRE_MESSAGE(app, test::why(app));
    spawned.push_back(caf::actor_cast<caf::actor>(*app));
    return *app;
  }

  /// Occupies every worker of the client's scheduler until release() (or
  /// destruction), so that no event-based actor runs meanwhile: messages
  /// sent from a scoped actor (the test's own thread) pile up in their
  /// receivers' mailboxes, however loaded the machine is.
  class scheduler_hold {
  public:
    explicit scheduler_hold(caf::actor_system& sys) : state_(std::make_shared<state>()) {
      auto workers = sys.scheduler().num_workers();
      for (size_t w = 0; w < workers; ++w) {
        // The blockers share the state: they may still be waking up when
        // this object is gone.
        auto blocker = sys.spawn([st = state_](caf::event_based_actor*) -> caf::behavior {
          return {[st](caf::ok_atom) {
            std::unique_lock<std::mutex> guard{st->mutex};
            ++st->parked;
            st->changed.notify_all();
            st->changed.wait(guard, [&] { return st->released; });
          }};
        });
        caf::anon_send(blocker, caf::ok_atom::value);
      }
      std::unique_lock<std::mutex> guard{state_->mutex};
      bool all = state_->changed.wait_for(guard, 10s,
                                          [&] { return state_->parked == workers; });
      BOOST_REQUIRE_MESSAGE(all, "only " << state_->parked << " of " << workers
                                         << " workers parked");
    }
    ~scheduler_hold() { release(); }
    void release() {
      std::lock_guard<std::mutex> guard{state_->mutex};
      state_->released = true;
      state_->changed.notify_all();
    }

  private:
    struct state {
      std::mutex mutex;
      std::condition_variable changed;
      size_t parked = 0;
      bool released = false;
    };
    std::shared_ptr<state> state_;
  };

  /// Sends `n` queries at once (input {i, 1}, `budget_us(i)` to live)
  /// without waiting for their answers. The scheduler is held meanwhile, so
  /// the batcher finds the whole burst in its mailbox even when the machine
  /// is loaded (otherwise it might start on the first queries alone).
  auto send_burst(const batcher_actor& b, size_t n,
                  const std::function<int64_t(size_t)>& budget_us) {
    using handle = decltype(self->request(b, 10s, predict_atom::value, query_input{}, int64_t{}));
    std::vector<handle> pending;
    scheduler_hold hold{client.sys()};
    for (size_t i = 0; i < n; ++i)
      pending.push_back(self->request(b, 10s, predict_atom::value, numbers({double(i), 1}),
                                      budget_us(i)));
    return pending;
  }

  /// Waits for the answers of send_burst, in order.
  template <class Handles>
  std::vector<caf::expected<std::string>> answers(Handles& pending) {
    std::vector<caf::expected<std::string>> results;
    for (auto& h : pending) {
      caf::expected<std::string> r = make_error(errc::timeout, "none");
      h.receive([&](std::string& out) { r = out; }, [&](caf::error& e) { r = e; });
      results.push_back(std::move(r));
    }
    return results;
  }

  /// Sends `n` queries at once (input {i, 1}) and waits for all answers.
  std::vector<caf::expected<std::string>> burst(const batcher_actor& b, size_t n,
                                                int64_t budget_us) {
    auto pending = send_burst(b, n, [budget_us](size_t) { return budget_us; });
    return answers(pending);
  }

  /// Every answer is its query's sum, i + 1.
  static void check_sums(const std::vector<caf::expected<std::string>>& results) {
    for (size_t i = 0; i < results.size(); ++i) {
      BOOST_REQUIRE_MESSAGE(results[i], test::why(results[i]));
      BOOST_CHECK_EQUAL(*results[i], std::to_string(i + 1));
    }
  }

  template <class T, class Handle, class... Ts>
  std::vector<caf::expected<T>> many(const Handle& h, size_t n, const std::function<query_input(size_t)>& input) {
    using handle = decltype(self->request(h, 10s, predict_atom::value, query_input{}));
    std::vector<handle> pending;
    {
      scheduler_hold hold{client.sys()};  // the burst waits whole in h's mailbox
      for (size_t i = 0; i < n; ++i)
        pending.push_back(self->request(h, 10s, predict_atom::value, input(i)));
    }
    std::vector<caf::expected<T>> results;
    for (auto& p : pending) {
      caf::expected<T> r = make_error(errc::timeout, "none");
      p.receive([&](T& out) { r = std::move(out); }, [&](caf::error& e) { r = e; });
      results.push_back(std::move(r));
    }
    return results;
  }
};

} // namespace
