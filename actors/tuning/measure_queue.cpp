#include "actors/tuning/measure_queue.hpp"

#include <atomic>

#include <caf/stateful_actor.hpp>

#include "messages/errors.hpp"

namespace troupe::tuning {

namespace {

struct queue_state {
  size_t next = 0;      ///< the next request to hand out
  size_t reported = 0;  ///< results sent to the caller
  size_t alive = 0;     ///< measurers that have not failed this round
  /// Hands the next request to measurer `m` (or quits when all are answered).
  std::function<void(size_t)> feed;
  static inline const char* name = "tuning_measure_queue";
};

// Tags a round's result messages, so that a late one from an earlier
// round (its caller gave up on it) is never taken for this round's.
std::atomic<uint64_t> next_round{1};

} // namespace

void measure_round(caf::actor_system& sys, caf::scoped_actor& self,
                   const std::vector<tuning_measurer_actor>& measurers,
                   const std::vector<std::string>& requests, std::chrono::milliseconds timeout,
                   const measure_result_handler& on_result) {
  if (requests.empty())
    return;
  if (measurers.empty()) {
    for (size_t i = 0; i < requests.size(); ++i)
      on_result(i, {}, "no measurer");
    return;
  }
  uint64_t round = next_round++;
  auto caller = caf::actor_cast<caf::actor>(self);
  sys.spawn([caller, measurers, requests, timeout,
             round](caf::stateful_actor<queue_state>* q) -> caf::behavior {
    auto report = [q, caller, round, total = requests.size()](size_t index, std::string record,
                                                               std::string error) {
      q->send(caller, round, static_cast<uint64_t>(index), std::move(record), std::move(error));
      if (++q->state.reported == total)
        q->quit();
    };
    q->state.alive = measurers.size();
    q->state.feed = [q, measurers, requests, timeout, report](size_t m) {
      auto& st = q->state;
      if (st.next >= requests.size())
        return;
      auto index = st.next++;
      q->request(measurers[m], timeout, measure_atom::value, requests[index])
        .then(
          [q, m, index, report](std::string& record) {
            q->state.feed(m);  // first: the measurer never waits on the caller
            report(index, std::move(record), {});
          },
          [q, index, report, total = requests.size()](caf::error& err) {
            // This measurer gets no more of the round; when it was the last
            // one, the requests not handed out yet fail now.
            auto& st = q->state;
            bool last = --st.alive == 0;
            std::vector<size_t> orphans;
            if (last)
              for (; st.next < total; ++st.next)
                orphans.push_back(st.next);
            report(index, {}, "measurer did not answer: " + describe(err));
            for (auto i : orphans)
              report(i, {}, "no measurer left to answer (the others did not answer this round)");
          });
    };
    for (size_t m = 0; m < measurers.size(); ++m)
      q->state.feed(m);
    return {};  // replies only
  });

  // Every request resolves within `timeout` of being handed out and one is
  // always in flight, so results never stop for longer than that.
  std::vector<bool> done(requests.size(), false);
  size_t received = 0;
  bool stalled = false;
  while (received < requests.size() && !stalled) {
    self->receive(
      [&](uint64_t tag, uint64_t index, std::string& record, std::string& error) {
        if (tag != round || index >= requests.size() || done[index])
          return;  // a late result of an earlier round
        done[index] = true;
        ++received;
        on_result(static_cast<size_t>(index), record, error);
      },
      caf::after(timeout + std::chrono::seconds(5)) >> [&] { stalled = true; });
  }
  for (size_t i = 0; i < requests.size(); ++i)
    if (!done[i])
      on_result(i, {}, "the measurement queue stopped answering");
}

} // namespace troupe::tuning
