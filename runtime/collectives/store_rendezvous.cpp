#include "runtime/collectives/store_rendezvous.hpp"

#include <algorithm>
#include <thread>

#include <caf/scoped_actor.hpp>

#include <gloo/common/error.h>

#include "messages/errors.hpp"
#include "runtime/cluster_client.hpp"

namespace troupe::collectives {

namespace {

using clock = std::chrono::steady_clock;

// Polling starts fast (ranks usually arrive within milliseconds of each
// other) and backs off so that a slow rank does not flood the store.
constexpr std::chrono::milliseconds first_poll{2};
constexpr std::chrono::milliseconds max_poll{25};

// A request's timeout when `deadline` is near: never so short that a
// healthy store could miss it, which would blame the store for a late rank.
constexpr std::chrono::milliseconds min_request_timeout{250};

std::chrono::milliseconds remaining(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  return std::max(left, std::chrono::milliseconds{1});
}

std::chrono::milliseconds request_timeout(clock::time_point deadline) {
  return std::max(remaining(deadline), min_request_timeout);
}

std::string timeout_text(std::chrono::milliseconds timeout) {
  return "the rendezvous store did not answer within " + std::to_string(timeout.count())
         + " ms";
}

[[noreturn]] void fail(const std::string& what) {
  // Gloo reports a store that cannot be reached as an IO failure (its
  // FileStore and RedisStore do the same); callers catch gloo::Exception.
  throw gloo::IoException("troupe rendezvous: " + what);
}

} // namespace

caf::expected<std::unique_ptr<store_rendezvous>>
store_rendezvous::connect(caf::actor_system& sys, const std::string& address,
                          const std::string& store_name, std::string prefix,
                          std::chrono::milliseconds timeout) {
  auto client = cluster_client::connect(sys, address, caf::timespan{timeout});
  if (!client)
    return make_error(errc::unavailable, "cannot reach the rendezvous member " + address
                                           + ": " + describe(client.error()));
  auto store = client->lookup_as<state_store_actor>(store_name);
  if (!store)
    return make_error(errc::unavailable, "cannot find the rendezvous store '" + store_name
                                           + "' through " + address + ": "
                                           + describe(store.error()));
  return std::unique_ptr<store_rendezvous>{
    new store_rendezvous(sys, std::move(*store), std::move(prefix), timeout)};
}

void store_rendezvous::set(const std::string& key, const std::vector<char>& data) {
  caf::scoped_actor self{*sys_};
  caf::error err = make_error(errc::timeout, timeout_text(timeout_));
  self->request(store_, caf::timespan{timeout_}, caf::put_atom::value, full_key(key),
                std::string{data.begin(), data.end()})
    .receive([&](caf::ok_atom) { err = caf::none; },
             [&](caf::error& x) {
               if (x != caf::sec::request_timeout)
                 err = std::move(x);
             });
  if (err)
    fail("set of '" + full_key(key) + "' failed: " + describe(err));
}

std::optional<std::string> store_rendezvous::try_get(const std::string& key,
                                                     std::chrono::milliseconds timeout) {
  caf::scoped_actor self{*sys_};
  std::optional<std::string> value;
  caf::error err = make_error(errc::timeout, timeout_text(timeout));
  self->request(store_, caf::timespan{timeout}, caf::get_atom::value, full_key(key))
    .receive(
      [&](std::string& x) {
        value = std::move(x);
        err = caf::none;
      },
      [&](caf::error& x) {
        if (is(x, errc::not_found))
          err = caf::none;  // not there yet: the caller polls again
        else if (x != caf::sec::request_timeout)
          err = std::move(x);
      });
  if (err)
    fail("get of '" + full_key(key) + "' failed: " + describe(err));
  return value;
}

std::vector<char> store_rendezvous::get(const std::string& key) {
  auto deadline = clock::now() + timeout_;
  auto poll = first_poll;
  for (;;) {
    if (auto value = try_get(key, request_timeout(deadline)))
      return std::vector<char>{value->begin(), value->end()};
    if (clock::now() >= deadline)
      fail("key '" + full_key(key) + "' did not appear within "
           + std::to_string(timeout_.count()) + " ms (did every rank start?)");
    std::this_thread::sleep_for(std::min(poll, remaining(deadline)));
    poll = std::min(poll * 2, max_poll);
  }
}

void store_rendezvous::wait(const std::vector<std::string>& keys) {
  wait(keys, timeout_);
}

void store_rendezvous::wait(const std::vector<std::string>& keys,
                            const std::chrono::milliseconds& timeout) {
  // Gloo passes 0 (kNoTimeout) for "forever"; Troupe never waits forever.
  auto limit = timeout.count() > 0 ? timeout : timeout_;
  auto deadline = clock::now() + limit;
  auto missing = keys;
  auto poll = first_poll;
  for (;;) {
    missing.erase(std::remove_if(missing.begin(), missing.end(),
                                 [&](const std::string& key) {
                                   return try_get(key, request_timeout(deadline)).has_value();
                                 }),
                  missing.end());
    if (missing.empty())
      return;
    if (clock::now() >= deadline) {
      std::string names;
      for (auto& key : missing)
        names += (names.empty() ? "'" : ", '") + full_key(key) + "'";
      fail("wait timeout for key(s) " + names + " after " + std::to_string(limit.count())
           + " ms (did every rank start?)");
    }
    std::this_thread::sleep_for(std::min(poll, remaining(deadline)));
    poll = std::min(poll * 2, max_poll);
  }
}

void store_rendezvous::erase(const std::vector<std::string>& keys) {
  caf::scoped_actor self{*sys_};
  for (auto& key : keys)
    self->request(store_, caf::timespan{timeout_}, caf::delete_atom::value, full_key(key))
      .receive([](caf::ok_atom) {}, [](caf::error&) {});
}

} // namespace troupe::collectives
