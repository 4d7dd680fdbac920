#include "actors/serving/container_faults.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include <unistd.h>

#include "messages/errors.hpp"

namespace troupe::serving {

namespace {

/// A positive decimal count, or nothing.
std::optional<uint64_t> positive_count(const std::string& word) {
  if (word.empty() || word[0] == '-' || word[0] == '+')
    return std::nullopt;
  try {
    size_t used = 0;
    auto n = std::stoull(word, &used);
    if (used != word.size() || n == 0)
      return std::nullopt;
    return n;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

} // namespace

caf::expected<container_fault> parse_fault(const std::vector<std::string>& words) {
  container_fault f;
  if (words.empty())
    return f;
  const auto& name = words[0];
  if (name == "crash-after" || name == "slow") {
    auto example = name == "slow" ? "microseconds, e.g. 100000" : "a count, e.g. 3";
    if (words.size() != 2)
      return make_error(errc::invalid_argument,
                        "--fault " + name + " needs " + example);
    auto n = positive_count(words[1]);
    if (!n)
      return make_error(errc::invalid_argument,
                        "--fault " + name + ": '" + words[1] + "' is not a positive count");
    if (name == "slow") {
      f.what = container_fault::kind::slow;
      f.micros = *n;
    } else {
      f.what = container_fault::kind::crash_after;
      f.after = *n;
    }
    return f;
  }
  if (words.size() != 1)
    return make_error(errc::invalid_argument, "--fault " + name + " takes no count");
  if (name == "hang")
    f.what = container_fault::kind::hang;
  else if (name == "garbage")
    f.what = container_fault::kind::garbage;
  else
    return make_error(errc::invalid_argument,
                      "unknown fault '" + name
                        + "' (there are: crash-after N, hang, garbage, slow MICROS)");
  return f;
}

predict_function with_fault(predict_function predict, container_fault fault) {
  switch (fault.what) {
    case container_fault::kind::none:
      return predict;
    case container_fault::kind::crash_after: {
      auto calls = std::make_shared<uint64_t>(0);
      return [predict, calls, n = fault.after](const query_inputs& inputs) {
        if (++*calls >= n)
          ::_exit(70);  // abrupt: no reply, no flush, the socket just closes
        return predict(inputs);
      };
    }
    case container_fault::kind::hang:
      return [](const query_inputs&) -> caf::expected<model_outputs> {
        for (;;)
          std::this_thread::sleep_for(std::chrono::hours{1});
      };
    case container_fault::kind::slow:
      return [predict, pause = std::chrono::microseconds{fault.micros}](
               const query_inputs& inputs) {
        std::this_thread::sleep_for(pause);
        return predict(inputs);
      };
    case container_fault::kind::garbage:
      return [predict](const query_inputs& inputs) {
        auto out = predict(inputs);
        if (out)
          out->push_back("garbage");
        return out;
      };
  }
  return predict;
}

} // namespace troupe::serving
