// Where an app sends its answers when the caller is in the same process but
// is not an actor (the HTTP frontend). The app calls the sink instead of
// replying with a message: a request from a non-actor thread would need an
// actor in between to receive the reply, and that hop (two messages and a
// worker wake-up per query) cost more than the query's own work.
//
// A sink answers exactly once. If it is never called (the message that
// carries it was dropped because its app is gone, or the app dropped the
// query), its destructor answers with an error: a caller never waits for a
// reply that cannot come. It never crosses a node: it holds a callback.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "messages/serving_types.hpp"

namespace troupe {

class prediction_sink {
public:
  using callback = std::function<void(caf::expected<predictions>)>;

  using clock_type = std::chrono::steady_clock;

  /// `arrived`: when the caller got the query (the HTTP frontend: before it
  /// parsed the body). The app's SLO counts from then, so that time spent
  /// before the app saw the query is not given to the models again.
  explicit prediction_sink(callback f, clock_type::time_point arrived = clock_type::now())
    : f_(std::move(f)), arrived_(arrived) {}
  ~prediction_sink();
  prediction_sink(const prediction_sink&) = delete;
  prediction_sink& operator=(const prediction_sink&) = delete;

  /// The answers, one per input row, in order. Later calls do nothing.
  void deliver(predictions ps);

  clock_type::time_point arrived() const { return arrived_; }

private:
  /// The callback, once; empty afterwards.
  callback take();

  std::mutex mtx_;
  callback f_;
  clock_type::time_point arrived_;
};

using prediction_sink_ptr = std::shared_ptr<prediction_sink>;

} // namespace troupe

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::prediction_sink_ptr)
