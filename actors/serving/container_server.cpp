#include "actors/serving/container_server.hpp"

#include <chrono>

#include <cstdio>

#include <cstdlib>

#include <thread>

#include <unistd.h>

#include <capnp/ez-rpc.h>
#include <kj/async.h>

#include "messages/errors.hpp"
#include "runtime/ready_file.hpp"

namespace troupe::serving {

namespace {

bool is_numeric(input_kind k) {
  return k == input_kind::doubles || k == input_kind::floats || k == input_kind::ints;
}

[[noreturn]] void throw_error(const caf::error& err) {
  throw kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                      kj::heapString(to_exception_description(err).c_str()));
}

class container_impl final : public wire::ModelContainer::Server {
public:
  container_impl(container_info info, predict_function predict)
    : info_(std::move(info)), predict_(std::move(predict)) {}

  kj::Promise<void> info(InfoContext context) override {
    auto r = context.getResults();
    r.setName(info_.name);
    r.setVersion(info_.version);
    r.setInputKind(static_cast<uint8_t>(info_.kind));
    r.setInputLength(info_.input_length);
    r.setPid(info_.pid);
    return kj::READY_NOW;
  }

  kj::Promise<void> predict(PredictContext context) override {
    auto inputs = from_wire(context.getParams().getInputs());
    if (!inputs)
      throw_error(inputs.error());
    if (auto err = check_batch(info_, *inputs))
      throw_error(err);
    caf::expected<model_outputs> outputs{model_outputs{}};
    try {
      outputs = predict_(*inputs);
    } catch (const std::exception& e) {
      // A model that throws fails its batch, not the container.
      outputs = make_error(errc::invalid_argument,
                           "model '" + info_.name + "' threw on the batch: " + e.what());
    }
    if (!outputs)
      throw_error(outputs.error());
    auto list = context.getResults().initOutputs(static_cast<unsigned>(outputs->size()));
    for (size_t i = 0; i < outputs->size(); ++i)
      list.set(static_cast<unsigned>(i), (*outputs)[i]);
    return kj::READY_NOW;
  }

  kj::Promise<void> heartbeat(HeartbeatContext) override { return kj::READY_NOW; }

private:
  container_info info_;
  predict_function predict_;
};

} // namespace

caf::error check_batch(const container_info& info, const query_inputs& inputs) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& x = inputs[i];
    auto where = "input " + std::to_string(i) + " of the batch";
    bool want_numbers = is_numeric(info.kind);
    if (is_numeric(x.kind) != want_numbers)
      return make_error(errc::invalid_argument,
                        where + " is of kind " + to_string(x.kind) + ", but model '" + info.name
                          + "' takes " + to_string(info.kind));
    if (want_numbers && info.input_length != 0 && x.numbers.size() != info.input_length)
      return make_error(errc::invalid_argument,
                        where + " has " + std::to_string(x.numbers.size())
                          + " numbers, but model '" + info.name + "' takes "
                          + std::to_string(info.input_length));
  }
  return caf::none;
}

caf::error run_container_server(const container_server_options& options,
                                container_info info, predict_function predict) {
  if (info.pid == 0)
    info.pid = static_cast<uint32_t>(::getpid());
  if (auto* parent = std::getenv(parent_pid_variable)) {
    auto expected = static_cast<pid_t>(std::atol(parent));
    if (expected > 0)
      std::thread([expected] {
        while (::getppid() == expected)
          std::this_thread::sleep_for(std::chrono::milliseconds{200});
        std::fprintf(stderr, "container: supervisor %d is gone; exiting\n", expected);
        std::_Exit(0);
      }).detach();
  }
  auto name = info.name;
  try {
    capnp::EzRpcServer server{kj::heap<container_impl>(std::move(info), std::move(predict)),
                              options.host.c_str(), options.port};
    auto& ws = server.getWaitScope();
    auto port = static_cast<uint16_t>(server.getPort().wait(ws));
    if (!options.ready_file.empty()) {
      ready_info ready{name, options.host, port, -1, static_cast<int32_t>(::getpid())};
      if (auto err = write_ready_file(options.ready_file, ready))
        return err;
    }
    kj::NEVER_DONE.wait(ws);
  } catch (const kj::Exception& e) {
    return make_error(errc::unavailable, "container '" + name + "' cannot serve on "
                                           + options.host + ":" + std::to_string(options.port)
                                           + ": " + e.getDescription().cStr());
  }
  return caf::none;
}

} // namespace troupe::serving
