// One delayed message to self for the earliest of many deadlines, instead
// of a timer per deadline: CAF 0.17 sets (and cancels) every timer on its
// clock thread and wakes that thread each time, which at thousands of
// queries or batches per second cost more than the work they guarded.
// The app arms it for its queries' deadlines, the batcher for its running
// batches'.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "messages/serving_protocol.hpp"

namespace troupe::serving {

class earliest_timer {
public:
  using clock_type = std::chrono::steady_clock;

  /// Sends `self` {deadline_atom, token} at `earliest`, unless a timer is
  /// armed for that time or earlier already (its message then comes first,
  /// and the handler re-arms for what is left).
  template <class Self>
  void arm(Self* self, clock_type::time_point earliest) {
    if (armed_ && at_ <= earliest)
      return;
    armed_ = true;
    at_ = earliest;
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(earliest - clock_type::now());
    self->delayed_send(self, std::max(left, std::chrono::microseconds{0}), deadline_atom::value,
                       ++token_);
  }

  /// Timer `token` fired. Only the last one armed disarms: an older one,
  /// superseded by an earlier deadline, changes nothing.
  void fired(uint64_t token) {
    if (token == token_)
      armed_ = false;
  }

private:
  bool armed_ = false;
  clock_type::time_point at_{};
  uint64_t token_ = 0;
};

} // namespace troupe::serving
