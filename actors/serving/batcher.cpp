#include "actors/serving/batcher.hpp"

#include <algorithm>
#include <chrono>
#include <map>

#include <caf/typed_event_based_actor.hpp>

#include "actors/serving/earliest_timer.hpp"
#include "messages/errors.hpp"

namespace troupe::serving {

namespace {

using clock_type = std::chrono::steady_clock;

// Who waits for a query's output: one caller per query, or one caller per
// group of queries (a batch request's rows travel as one message and are
// answered by one).
struct reply_group {
  model_outputs outputs;
  size_t remaining = 0;
  bool answered = false;
  caf::typed_response_promise<model_outputs> promise;
};

/// Consecutive queries of one caller in a batch: a single query, or rows
/// [first, first + count) of a group. A batch holds one span per caller
/// rather than one entry per row: 512 rows of one request are one span.
struct reply_span {
  caf::typed_response_promise<std::string> single;  // when group is null
  std::shared_ptr<reply_group> group;
  size_t first = 0;
  size_t count = 1;

  /// outputs[0, count) are this span's.
  void deliver(std::string* outputs) {
    if (!group) {
      single.deliver(std::move(outputs[0]));
      return;
    }
    for (size_t k = 0; k < count; ++k)
      group->outputs[first + k] = std::move(outputs[k]);
    group->remaining -= count;
    if (group->remaining == 0 && !group->answered) {
      group->answered = true;
      group->promise.deliver(std::move(group->outputs));
    }
  }

  // A group fails as a whole, once: its caller answers those rows without
  // this model.
  void fail(const caf::error& err) {
    if (!group) {
      single.deliver(err);
    } else if (!group->answered) {
      group->answered = true;
      group->promise.deliver(err);
    }
  }
};

/// Queries that arrived together and share a deadline: one query, or a
/// batch request's rows. Batches take rows from the front (`taken`), so a
/// group may be split over several batches.
struct queued_queries {
  query_inputs inputs;
  size_t taken = 0;
  reply_span reply;  // who waits (its first and count are set per batch)

  size_t waiting() const { return inputs.size() - taken; }
};

// A batch the container has not answered yet. The reply handler finds it
// here by number; a batch the watchdog failed is gone, and its late answer
// is dropped.
struct running_batch {
  clock_type::time_point sent;
  clock_type::time_point deadline;  // the last of its queries' deadlines
  size_t size = 0;
  std::shared_ptr<std::vector<reply_span>> replies;
};

// Recent batch latencies for the p99 in stats.
constexpr size_t latency_window = 512;

struct batcher_state {
  batcher_options options;
  model_container_actor container;
  aimd_batch_sizer sizer;
  std::multimap<clock_type::time_point, queued_queries> queue;  // by deadline
  size_t queued = 0;  // queries waiting in `queue`, over all its entries
  uint32_t batches_in_flight = 0;
  // When the container answered the last batch: the next one in its
  // mailbox started then (it runs batches in order), not when it was sent.
  clock_type::time_point last_answer{};
  bool delay_armed = false;
  clock_type::time_point oldest_arrival{};
  std::vector<int64_t> recent_latency_us;
  size_t recent_next = 0;
  batcher_stats stats;
  uint64_t batched_queries = 0;
  // Batches in flight by number (at most options.batches_in_flight).
  std::map<uint64_t, running_batch> running;
  uint64_t next_batch = 0;
  // One timer for the earliest deadline of the running batches, not a
  // request timeout per batch: those cost CAF's clock thread ~5 % of the
  // machine at 3K batches/s.
  earliest_timer watchdog;
  static inline const char* name = "troupe.batcher";
};

using batcher_pointer = batcher_actor::stateful_pointer<batcher_state>;

void drop_expired(batcher_pointer self, clock_type::time_point now) {
  auto& st = self->state;
  while (!st.queue.empty() && st.queue.begin()->first <= now) {
    auto& entry = st.queue.begin()->second;
    entry.reply.fail(make_error(
      errc::timeout, "query expired in the queue of " + st.options.model + " replica "
                       + std::to_string(st.options.replica) + " before a batch took it"));
    st.queued -= entry.waiting();
    st.stats.expired += entry.waiting();
    st.queue.erase(st.queue.begin());
  }
}

void record_latency(batcher_state& st, int64_t latency_us) {
  if (st.recent_latency_us.size() < latency_window) {
    st.recent_latency_us.push_back(latency_us);
  } else {
    st.recent_latency_us[st.recent_next] = latency_us;
    st.recent_next = (st.recent_next + 1) % latency_window;
  }
}

void dispatch(batcher_pointer self);

/// Arms the watchdog for the earliest deadline of the running batches.
void arm_watchdog(batcher_pointer self) {
  auto& st = self->state;
  if (st.running.empty())
    return;
  auto earliest = st.running.begin()->second.deadline;
  for (auto& [id, batch] : st.running)
    earliest = std::min(earliest, batch.deadline);
  st.watchdog.arm(self, earliest);
}

// AIMD learns from the batch's own service time: from when it was sent or
// when the batch before it was answered, whichever is later.
void finish_batch(batcher_pointer self, clock_type::time_point sent, size_t size) {
  auto& st = self->state;
  auto now = clock_type::now();
  auto started = std::max(sent, st.last_answer);
  st.last_answer = now;
  auto latency = std::chrono::duration_cast<std::chrono::microseconds>(now - started).count();
  st.sizer.observe(size, latency);
  record_latency(st, latency);
  --st.batches_in_flight;
  dispatch(self);
}

void dispatch(batcher_pointer self) {
  auto& st = self->state;
  if (st.batches_in_flight >= st.options.batches_in_flight)
    return;
  auto now = clock_type::now();
  drop_expired(self, now);
  if (st.queue.empty())
    return;
  auto limit = st.sizer.limit();
  // A second batch goes out behind a running one only when it is full: it
  // then keeps the container busy, while a partial one would split the
  // queue into two small batches and let AIMD learn less from each.
  if (st.batches_in_flight > 0 && st.queued < limit)
    return;
  if (st.options.batch_delay_us > 0 && st.queued < limit) {
    // Delayed batching: give the batch a chance to fill, measured from the
    // arrival of the oldest query that waits.
    auto waited = std::chrono::duration_cast<std::chrono::microseconds>(now - st.oldest_arrival);
    auto left = st.options.batch_delay_us - waited.count();
    if (left > 0) {
      if (!st.delay_armed) {
        st.delay_armed = true;
        self->delayed_send(self, std::chrono::microseconds{left}, caf::tick_atom::value);
      }
      return;
    }
  }
  query_inputs batch;
  // Shared by the reply handlers (CAF copies them); owned by this batch.
  auto replies = std::make_shared<std::vector<reply_span>>();
  auto last_deadline = now;
  while (!st.queue.empty() && batch.size() < limit) {
    auto first = st.queue.begin();
    auto& entry = first->second;
    if (auto& group = entry.reply.group; group && group->answered) {
      st.queued -= entry.waiting();
      st.queue.erase(first);  // its group failed already: nobody waits for it
      continue;
    }
    last_deadline = std::max(last_deadline, first->first);
    auto rows = entry.inputs.size();
    auto n = std::min(entry.waiting(), limit - batch.size());
    if (batch.empty() && entry.taken == 0 && n == rows) {
      batch = std::move(entry.inputs);  // the whole group: no row moves
    } else {
      if (batch.empty())
        batch.reserve(std::min(limit, st.queued));
      auto from = entry.inputs.begin() + static_cast<std::ptrdiff_t>(entry.taken);
      batch.insert(batch.end(), std::make_move_iterator(from),
                   std::make_move_iterator(from + static_cast<std::ptrdiff_t>(n)));
    }
    auto span = entry.reply;
    span.first = entry.taken;
    span.count = n;
    replies->push_back(std::move(span));
    entry.taken += n;
    st.queued -= n;
    if (entry.taken == rows)
      st.queue.erase(first);
  }
  if (batch.empty())
    return;  // only rows of failed groups were left
  st.oldest_arrival = now;  // the rest waited less long; a fair approximation
  ++st.batches_in_flight;
  ++st.stats.batches;
  st.batched_queries += batch.size();
  auto size = batch.size();
  // Nobody waits for the batch beyond its last deadline: the watchdog
  // fails it then, so that a hung container frees the replica.
  auto id = st.next_batch++;
  st.running.emplace(id, running_batch{now, last_deadline + std::chrono::milliseconds{1}, size,
                                       replies});
  arm_watchdog(self);
  self->request(st.container, caf::infinite, predict_atom::value, std::move(batch))
    .then(
      [self, now, size, replies, id](model_outputs& outputs) {
        auto& st = self->state;
        if (st.running.erase(id) == 0)
          return;  // failed by the watchdog already
        if (outputs.size() != size) {
          auto err = make_error(errc::invalid_argument,
                                st.options.model + " returned " + std::to_string(outputs.size())
                                  + " outputs for a batch of " + std::to_string(size));
          for (auto& reply : *replies)
            reply.fail(err);
          st.stats.failed += size;
        } else {
          size_t at = 0;
          for (auto& span : *replies) {
            span.deliver(outputs.data() + at);
            at += span.count;
          }
        }
        finish_batch(self, now, size);
      },
      [self, now, size, replies, id](caf::error& err) {
        auto& st = self->state;
        if (st.running.erase(id) == 0)
          return;
        for (auto& reply : *replies)
          reply.fail(err);
        st.stats.failed += size;
        finish_batch(self, now, size);
      });
  // Pipelined: fill the next slot with what is queued now.
  dispatch(self);
}

/// The watchdog fired: fails every running batch whose deadline has passed
/// (its queries are answered without this replica) and frees its slot.
void on_watchdog(batcher_pointer self, uint64_t token) {
  auto& st = self->state;
  st.watchdog.fired(token);
  auto now = clock_type::now();
  std::vector<std::pair<uint64_t, running_batch>> due;
  for (auto i = st.running.begin(); i != st.running.end();) {
    if (i->second.deadline <= now) {
      due.emplace_back(i->first, std::move(i->second));
      i = st.running.erase(i);
    } else {
      ++i;
    }
  }
  for (auto& [id, batch] : due) {
    auto err = make_error(errc::timeout, st.options.model + " replica "
                                           + std::to_string(st.options.replica)
                                           + " did not answer a batch of "
                                           + std::to_string(batch.size)
                                           + " queries by their deadline");
    for (auto& reply : *batch.replies)
      reply.fail(err);
    st.stats.failed += batch.size;
    finish_batch(self, batch.sent, batch.size);
  }
  arm_watchdog(self);
}

// Why `count` more queries with `budget_us` left cannot be queued, if so.
caf::error refuse(const batcher_state& st, size_t count, int64_t budget_us) {
  if (budget_us <= 0)
    return make_error(errc::timeout, "query reached " + st.options.model
                                       + " with no time left before its deadline");
  if (st.queued + count > st.options.max_queue)
    return make_error(errc::unavailable,
                      st.options.model + " replica " + std::to_string(st.options.replica)
                        + " has " + std::to_string(st.queued)
                        + " queries queued; refusing " + std::to_string(count) + " more");
  return caf::none;
}

void enqueue(batcher_pointer self, query_inputs inputs, clock_type::time_point deadline,
             reply_span reply) {
  auto& st = self->state;
  if (st.queue.empty())
    st.oldest_arrival = clock_type::now();
  st.queued += inputs.size();
  st.queue.emplace(deadline, queued_queries{std::move(inputs), 0, std::move(reply)});
}

batcher_stats make_stats(batcher_state& st) {
  auto result = st.stats;
  result.model = st.options.model;
  result.replica = st.options.replica;
  result.batch_size_limit = st.sizer.limit();
  result.queued = st.queued;
  result.queries = st.batched_queries;
  result.mean_batch_size = result.batches == 0 ? 0.0
                                               : static_cast<double>(st.batched_queries)
                                                   / static_cast<double>(result.batches);
  if (!st.recent_latency_us.empty()) {
    auto sorted = st.recent_latency_us;
    std::sort(sorted.begin(), sorted.end());
    result.p99_batch_latency_us = static_cast<double>(sorted[(sorted.size() - 1) * 99 / 100]);
  }
  return result;
}

batcher_actor::behavior_type batcher_impl(batcher_pointer self, model_container_actor container,
                                          batcher_options options) {
  auto& st = self->state;
  st.container = std::move(container);
  st.sizer = aimd_batch_sizer{options.aimd};
  st.options = std::move(options);
  return {
    [self](predict_atom, query_input& input,
           int64_t budget_us) -> caf::result<std::string> {
      auto& st = self->state;
      if (auto err = refuse(st, 1, budget_us))
        return err;
      auto rp = self->make_response_promise<std::string>();
      query_inputs one;
      one.push_back(std::move(input));
      enqueue(self, std::move(one), clock_type::now() + std::chrono::microseconds{budget_us},
              reply_span{rp, nullptr, 0, 1});
      dispatch(self);
      return rp;
    },
    [self](predict_atom, query_inputs& inputs,
           int64_t budget_us) -> caf::result<model_outputs> {
      auto& st = self->state;
      if (inputs.empty())
        return model_outputs{};
      if (auto err = refuse(st, inputs.size(), budget_us))
        return err;
      auto group = std::make_shared<reply_group>();
      group->outputs.resize(inputs.size());
      group->remaining = inputs.size();
      group->promise = self->make_response_promise<model_outputs>();
      // One queue entry for the group: its rows share a deadline, stay
      // together in the queue (equal keys keep their order) and expire
      // together.
      auto deadline = clock_type::now() + std::chrono::microseconds{budget_us};
      auto rows = inputs.size();
      enqueue(self, std::move(inputs), deadline, reply_span{{}, group, 0, rows});
      dispatch(self);
      return group->promise;
    },
    [self](stats_atom) -> batcher_stats { return make_stats(self->state); },
    [self](set_target_atom, int64_t target_us) {
      if (target_us > 0)
        self->state.sizer.set_latency_target(target_us);
    },
    [self](caf::tick_atom) {
      self->state.delay_armed = false;
      dispatch(self);
    },
    [self](deadline_atom, uint64_t token) { on_watchdog(self, token); },
  };
}

} // namespace

batcher_actor spawn_batcher(caf::actor_system& sys, model_container_actor container,
                            batcher_options options) {
  return sys.spawn(batcher_impl, std::move(container), std::move(options));
}

} // namespace troupe::serving
