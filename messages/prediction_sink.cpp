#include "messages/prediction_sink.hpp"

#include "messages/errors.hpp"

namespace troupe {

prediction_sink::~prediction_sink() {
  if (auto f = take())
    f(make_error(errc::unavailable, "the app went away before it answered the query"));
}

prediction_sink::callback prediction_sink::take() {
  std::lock_guard<std::mutex> guard{mtx_};
  return std::exchange(f_, nullptr);
}

void prediction_sink::deliver(predictions ps) {
  if (auto f = take())
    f(std::move(ps));
}

} // namespace troupe
