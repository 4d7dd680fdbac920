// How late an actor's deadline timers fire, as a fast-attack, slow-release
// envelope: a later firing raises it at once, earlier ones lower it by a
// sixty-fourth of the difference each. The app moves its deadlines earlier
// by it, so that answers leave by the SLO on a loaded machine too: on 2
// cores shared with 8 container processes, the deadline message of a
// straggling ensemble ran up to ~3 ms late, and the client saw p99 22.7 ms
// at a 20 ms SLO.
#pragma once

#include <algorithm>
#include <chrono>

namespace troupe::serving {

class lateness_envelope {
public:
  using duration = std::chrono::microseconds;

  /// `cap` bounds the estimate (a stalled process must not eat the SLO).
  explicit lateness_envelope(duration cap = duration{0}) : cap_(cap) {}

  /// A timer fired `late` after the time it was armed for.
  void observe(duration late) {
    late = std::clamp(late, duration{0}, cap_);
    if (late >= value_)
      value_ = late;
    else
      value_ -= std::max(duration{1}, (value_ - late) / 64);
  }

  duration value() const { return value_; }

private:
  duration cap_;
  duration value_{0};
};

} // namespace troupe::serving
