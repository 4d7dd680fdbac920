#include "actors/training/bucket_reducer.hpp"

#include <caf/typed_event_based_actor.hpp>

#include "messages/errors.hpp"

namespace troupe::training {

namespace {

struct reducer_state {
  bucket_layout layout;
  std::vector<size_t> bucket_of;      // parameter -> bucket
  bucket_launcher launch;
  // Per backward pass:
  std::vector<bool> param_ready;
  std::vector<size_t> pending;        // gradients still missing per bucket
  std::vector<bool> reduced;
  std::vector<uint64_t> arrival;      // parameter indices in arrival order
  size_t next_launch = 0;             // buckets launch strictly in order
  size_t reduced_count = 0;
  bool active = false;
  caf::error failure;
  std::vector<caf::typed_response_promise<std::vector<uint64_t>>> waiting;
  static inline const char* name = "troupe.bucket_reducer";
};

using reducer_pointer = bucket_reducer_actor::stateful_pointer<reducer_state>;

void reset(reducer_pointer self) {
  auto& st = self->state;
  st.param_ready.assign(st.bucket_of.size(), false);
  st.pending.clear();
  for (auto& bucket : st.layout)
    st.pending.push_back(bucket.size());
  st.reduced.assign(st.layout.size(), false);
  st.arrival.clear();
  st.next_launch = 0;
  st.reduced_count = 0;
  st.failure = caf::error{};
  st.active = true;
}

void launch_ready_buckets(reducer_pointer self) {
  auto& st = self->state;
  while (st.next_launch < st.layout.size() && st.pending[st.next_launch] == 0) {
    auto b = st.next_launch++;
    auto work = st.launch(b);
    caf::actor handle = caf::actor_cast<caf::actor>(self);
    work->on_done([handle, b](const caf::error& err) {
      caf::anon_send(handle, bucket_reduced_atom::value, static_cast<uint64_t>(b), err);
    });
  }
}

void mark_ready(reducer_pointer self, uint64_t param, bool record) {
  auto& st = self->state;
  if (param >= st.bucket_of.size() || st.param_ready[param])
    return;  // out of range or reported twice (e.g. reused in the graph)
  st.param_ready[param] = true;
  if (record)
    st.arrival.push_back(param);
  --st.pending[st.bucket_of[param]];
  launch_ready_buckets(self);
}

void answer_if_done(reducer_pointer self) {
  auto& st = self->state;
  if (st.waiting.empty())
    return;
  if (st.failure) {
    for (auto& rp : st.waiting)
      rp.deliver(st.failure);
  } else if (st.reduced_count == st.layout.size()) {
    for (auto& rp : st.waiting)
      rp.deliver(st.arrival);
  } else if (st.next_launch < st.layout.size() && st.pending[st.next_launch] > 0) {
    // Backward is over, yet a bucket still misses gradients: they will never
    // come. Name them instead of waiting forever.
    std::string missing;
    for (size_t i = 0; i < st.param_ready.size(); ++i)
      if (!st.param_ready[i])
        missing += (missing.empty() ? "" : ",") + std::to_string(i);
    auto err = make_error(errc::invalid_argument, missing);
    for (auto& rp : st.waiting)
      rp.deliver(err);
  } else {
    return;  // collectives still running; answer when they complete
  }
  st.waiting.clear();
  st.active = false;
}

bucket_reducer_actor::behavior_type reducer_impl(reducer_pointer self, bucket_layout layout,
                                                 size_t param_count, bucket_launcher launch) {
  auto& st = self->state;
  st.layout = std::move(layout);
  st.launch = std::move(launch);
  st.bucket_of.assign(param_count, 0);
  for (size_t b = 0; b < st.layout.size(); ++b)
    for (auto p : st.layout[b])
      st.bucket_of[p] = b;
  return {
    [self](begin_atom, const std::vector<uint64_t>& unused) {
      reset(self);
      for (auto p : unused)
        mark_ready(self, p, false);
    },
    [self](grad_ready_atom, uint64_t param) {
      if (!self->state.active)
        reset(self);  // a backward without our forward wrapper
      mark_ready(self, param, true);
    },
    [self](bucket_reduced_atom, uint64_t bucket, caf::error& err) {
      auto& st = self->state;
      if (bucket < st.reduced.size() && !st.reduced[bucket]) {
        st.reduced[bucket] = true;
        ++st.reduced_count;
      }
      if (err && !st.failure)
        st.failure = std::move(err);
      answer_if_done(self);
    },
    [self](finalize_atom) -> caf::typed_response_promise<std::vector<uint64_t>> {
      auto rp = self->make_response_promise<std::vector<uint64_t>>();
      if (!self->state.active)
        reset(self);  // nothing reported at all: every bucket is missing
      self->state.waiting.push_back(rp);
      answer_if_done(self);
      return rp;
    },
  };
}

} // namespace

bucket_reducer_actor spawn_bucket_reducer(caf::actor_system& sys, bucket_layout layout,
                                          size_t param_count, bucket_launcher launch) {
  return sys.spawn(reducer_impl, std::move(layout), param_count, std::move(launch));
}

} // namespace troupe::training
