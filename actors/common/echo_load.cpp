#include "actors/common/echo_load.hpp"

#include <algorithm>
#include <chrono>
#include <future>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/errors.hpp"

namespace troupe {

double echo_load_result::latency_quantile_us(double q) const {
  if (latencies_us.empty())
    return 0;
  auto sorted = latencies_us;
  std::sort(sorted.begin(), sorted.end());
  auto index = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

namespace {

using clock_type = std::chrono::steady_clock;

struct load_state {
  caf::actor target;
  size_t count = 0;
  size_t sent = 0;
  caf::timespan timeout;
  clock_type::time_point start;
  echo_load_result result;
  std::shared_ptr<std::promise<echo_load_result>> done;
  static inline const char* name = "troupe.echo_load";
};

using load_pointer = caf::stateful_actor<load_state>*;

void send_next(load_pointer self);

void on_finished_one(load_pointer self) {
  auto& st = self->state;
  if (st.result.completed + st.result.errors == st.count) {
    st.result.seconds = std::chrono::duration<double>(clock_type::now() - st.start).count();
    st.done->set_value(std::move(st.result));
    self->quit();
    return;
  }
  send_next(self);
}

void send_next(load_pointer self) {
  auto& st = self->state;
  if (st.sent == st.count)
    return;
  auto i = st.sent++;
  auto sent_at = clock_type::now();
  self->request(st.target, st.timeout, echo_atom::value, static_cast<uint64_t>(i))
    .then(
      [self, i, sent_at](uint64_t answer) {
        auto& st = self->state;
        if (answer == i) {
          st.result.completed++;
          st.result.latencies_us.push_back(
            std::chrono::duration<double, std::micro>(clock_type::now() - sent_at).count());
        } else {
          st.result.errors++;
        }
        on_finished_one(self);
      },
      [self](caf::error&) {
        self->state.result.errors++;
        on_finished_one(self);
      });
}

caf::behavior load_impl(load_pointer self, caf::actor target, size_t count, size_t window,
                        caf::timespan timeout,
                        std::shared_ptr<std::promise<echo_load_result>> done) {
  auto& st = self->state;
  st.target = std::move(target);
  st.count = count;
  st.timeout = timeout;
  st.done = std::move(done);
  st.result.latencies_us.reserve(count);
  st.start = clock_type::now();
  if (count == 0) {
    st.done->set_value(std::move(st.result));
    self->quit();
    return {};
  }
  for (size_t i = 0; i < window && i < count; ++i)
    send_next(self);
  return {[](caf::tick_atom) {}};  // stays alive for its responses
}

} // namespace

caf::expected<echo_load_result> run_echo_load(caf::actor_system& sys, caf::actor target,
                                              size_t count, size_t window,
                                              caf::timespan request_timeout,
                                              caf::timespan overall_timeout) {
  if (!target)
    return make_error(errc::invalid_argument, "echo load needs a valid target");
  auto done = std::make_shared<std::promise<echo_load_result>>();
  auto future = done->get_future();
  auto client = sys.spawn(load_impl, std::move(target), count, std::max<size_t>(1, window),
                          request_timeout, done);
  if (future.wait_for(overall_timeout) != std::future_status::ready) {
    caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
    return make_error(errc::timeout, "echo load did not finish within its time limit");
  }
  return future.get();
}

} // namespace troupe
