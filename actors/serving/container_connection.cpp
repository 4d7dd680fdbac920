#include "actors/serving/container_connection.hpp"

#include <deque>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include "messages/errors.hpp"

namespace troupe::serving {

namespace {

// The RPC thread's side: only that thread touches it.
struct rpc_state : kj::TaskSet::ErrorHandler {
  // One TCP connection and the RPC system on it.
  struct link {
    kj::Own<kj::AsyncIoStream> stream;
    kj::Own<capnp::TwoPartyClient> rpc;
  };

  rpc_state(kj::AsyncIoContext& io, const std::string& name) : io(io), name(name), tasks(*this) {}

  void taskFailed(kj::Exception&& e) override {
    // Continuations map every failure to a value; this is a bug, not a fault.
    std::cerr << name << ": unexpected RPC task failure: " << e.getDescription().cStr() << '\n';
  }

  kj::AsyncIoContext& io;
  const std::string& name;
  wire::ModelContainer::Client cap{nullptr};
  bool broken = true;  // connect on the next call
  kj::Own<link> current;
  // Links of lost connections: capabilities from them may still be
  // referenced by calls in flight, so they die with the thread.
  std::vector<kj::Own<link>> retired;
  kj::TaskSet tasks;
};

using job = std::function<void(rpc_state&)>;

} // namespace

struct container_connection::impl {
  std::string host;
  uint16_t port;
  std::chrono::milliseconds timeout;
  std::string name;

  std::mutex mtx;
  std::deque<job> jobs;               // guarded by mtx
  bool stopping = false;              // guarded by mtx
  std::string failure;                // guarded by mtx: why the thread died
  // Wakes the RPC thread; created and destroyed by it, fulfilled by anyone.
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> wake;  // guarded by mtx
  std::thread thread;

  void run();
  void connect(rpc_state& st);
  void submit(job j, const std::function<void(caf::error)>& refuse);

  template <class T>
  kj::Promise<caf::expected<T>> bounded(rpc_state& st, kj::Promise<caf::expected<T>> p,
                                        const char* what) {
    auto ms = timeout.count();
    auto who = name;
    return p.exclusiveJoin(
      st.io.provider->getTimer().afterDelay(ms * kj::MILLISECONDS).then([ms, who, what]() {
        return caf::expected<T>{make_error(errc::timeout, who + " did not answer " + what
                                                            + " within " + std::to_string(ms)
                                                            + " ms")};
      }));
  }

  // Maps a failed call; a lost connection is re-established on the next call.
  template <class T>
  auto on_failure(rpc_state& st) {
    return [&st, who = name](kj::Exception&& e) {
      if (e.getType() == kj::Exception::Type::DISCONNECTED)
        st.broken = true;
      return caf::expected<T>{from_exception(e, who)};
    };
  }
};

void container_connection::impl::connect(rpc_state& st) {
  if (st.current)
    st.retired.push_back(kj::mv(st.current));
  auto& network = st.io.provider->getNetwork();
  auto client = network.parseAddress(host.c_str(), port)
                  .then([](kj::Own<kj::NetworkAddress> address) { return address->connect(); })
                  .then([&st](kj::Own<kj::AsyncIoStream> stream) {
                    auto l = kj::heap<rpc_state::link>();
                    l->stream = kj::mv(stream);
                    l->rpc = kj::heap<capnp::TwoPartyClient>(*l->stream);
                    auto cap = l->rpc->bootstrap().castAs<wire::ModelContainer>();
                    st.current = kj::mv(l);
                    return cap;
                  });
  // Calls made before the connection is up queue on the promised capability.
  st.cap = wire::ModelContainer::Client{kj::mv(client)};
  st.broken = false;
}

void container_connection::impl::run() {
  try {
    auto io = kj::setupAsyncIo();
    rpc_state st{io, name};
    for (;;) {
      auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
      std::deque<job> batch;
      {
        std::lock_guard<std::mutex> guard{mtx};
        if (stopping)
          break;
        if (jobs.empty())
          wake = kj::mv(paf.fulfiller);
        else
          batch.swap(jobs);
      }
      if (batch.empty()) {
        // Runs the event loop (calls in flight, timers) until new work comes.
        paf.promise.wait(io.waitScope);
        continue;
      }
      for (auto& j : batch) {
        if (st.broken)
          connect(st);
        j(st);
      }
    }
    std::lock_guard<std::mutex> guard{mtx};
    wake = nullptr;  // belongs to this thread's event loop
  } catch (const kj::Exception& e) {
    std::lock_guard<std::mutex> guard{mtx};
    failure = e.getDescription().cStr();
    wake = nullptr;
  }
}

void container_connection::impl::submit(job j, const std::function<void(caf::error)>& refuse) {
  std::unique_lock<std::mutex> guard{mtx};
  if (!failure.empty()) {
    auto why = failure;
    guard.unlock();
    refuse(make_error(errc::unavailable, "the RPC thread of " + name + " failed: " + why));
    return;
  }
  jobs.push_back(std::move(j));
  if (wake && wake->isWaiting())
    wake->fulfill();
}

container_connection::container_connection(std::string host, uint16_t port,
                                           std::chrono::milliseconds timeout)
  : impl_(std::make_shared<impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout = timeout;
  impl_->name = "container at " + impl_->host + ":" + std::to_string(port);
  impl_->thread = std::thread{[i = impl_] { i->run(); }};
}

container_connection::~container_connection() {
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->stopping = true;
    if (impl_->wake && impl_->wake->isWaiting())
      impl_->wake->fulfill();
  }
  if (impl_->thread.get_id() == std::this_thread::get_id())
    impl_->thread.detach();  // it sees `stopping` once the callback returns
  else
    impl_->thread.join();
}

const std::string& container_connection::name() const {
  return impl_->name;
}

void container_connection::predict(query_inputs inputs, predict_callback done) {
  auto shared_done = std::make_shared<predict_callback>(std::move(done));
  auto refuse = [shared_done](caf::error err) { (*shared_done)(std::move(err)); };
  impl_->submit(
    [i = impl_.get(), inputs = std::move(inputs), shared_done](rpc_state& st) {
      auto req = st.cap.predictRequest();
      to_wire(inputs, req.initInputs(static_cast<unsigned>(inputs.size())));
      auto expected_count = inputs.size();
      auto who = i->name;
      auto reply = req.send().then(
        [expected_count, who](capnp::Response<wire::ModelContainer::PredictResults>&& r) {
          auto outputs = r.getOutputs();
          if (outputs.size() != expected_count)
            return caf::expected<model_outputs>{make_error(
              errc::invalid_argument, who + " returned " + std::to_string(outputs.size())
                                        + " outputs for " + std::to_string(expected_count)
                                        + " inputs")};
          model_outputs result;
          result.reserve(outputs.size());
          for (auto text : outputs)
            result.emplace_back(text.cStr(), text.size());
          return caf::expected<model_outputs>{std::move(result)};
        },
        i->on_failure<model_outputs>(st));
      st.tasks.add(i->bounded(st, kj::mv(reply), "a predict call")
                     .then([shared_done](caf::expected<model_outputs>&& x) {
                       (*shared_done)(std::move(x));
                     }));
    },
    refuse);
}

void container_connection::info(info_callback done) {
  auto shared_done = std::make_shared<info_callback>(std::move(done));
  auto refuse = [shared_done](caf::error err) { (*shared_done)(std::move(err)); };
  impl_->submit(
    [i = impl_.get(), shared_done](rpc_state& st) {
      auto reply = st.cap.infoRequest().send().then(
        [](capnp::Response<wire::ModelContainer::InfoResults>&& r) {
          container_info x;
          x.name = r.getName().cStr();
          x.version = r.getVersion();
          x.kind = static_cast<input_kind>(r.getInputKind());
          x.input_length = r.getInputLength();
          x.pid = r.getPid();
          return caf::expected<container_info>{std::move(x)};
        },
        i->on_failure<container_info>(st));
      st.tasks.add(i->bounded(st, kj::mv(reply), "an info call")
                     .then([shared_done](caf::expected<container_info>&& x) {
                       (*shared_done)(std::move(x));
                     }));
    },
    refuse);
}

void container_connection::heartbeat(heartbeat_callback done) {
  auto shared_done = std::make_shared<heartbeat_callback>(std::move(done));
  auto refuse = [shared_done](caf::error err) { (*shared_done)(std::move(err)); };
  impl_->submit(
    [i = impl_.get(), shared_done](rpc_state& st) {
      auto reply = st.cap.heartbeatRequest().send().then(
        [](capnp::Response<wire::ModelContainer::HeartbeatResults>&&) {
          return caf::expected<caf::unit_t>{caf::unit};
        },
        i->on_failure<caf::unit_t>(st));
      st.tasks.add(i->bounded(st, kj::mv(reply), "a heartbeat")
                     .then([shared_done](caf::expected<caf::unit_t>&& x) {
                       (*shared_done)(x ? caf::error{} : x.error());
                     }));
    },
    refuse);
}

} // namespace troupe::serving
