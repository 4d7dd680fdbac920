#include "runtime/state_store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <caf/typed_event_based_actor.hpp>

#include "messages/errors.hpp"
#include "runtime/node_metrics.hpp"

namespace troupe {

namespace {

struct store_state {
  std::shared_ptr<rocksdb::DB> db;
  state_store_options options;
  std::shared_ptr<node_metrics> metrics;  // keeps the counters alive
  actor_counters counters;
  static inline const char* name = "troupe.state_store";

  void count() { counters.count(); }

  caf::error fail(caf::error err) {
    counters.count_error();
    return err;
  }

  caf::error storage_error(const char* op, const rocksdb::Status& s) {
    return fail(make_error(errc::io_failure, std::string{op} + " failed in store '"
                                               + options.path + "': " + s.ToString()));
  }

  caf::error check_key(const std::string& key) {
    if (key.empty())
      return fail(make_error(errc::invalid_argument, "store keys must not be empty"));
    if (key.size() > max_store_key_bytes)
      return fail(make_error(errc::invalid_argument,
                             "store key of " + std::to_string(key.size())
                               + " bytes exceeds the limit of "
                               + std::to_string(max_store_key_bytes)));
    return caf::none;
  }
};

using store_pointer = state_store_actor::stateful_pointer<store_state>;

state_store_actor::behavior_type
state_store_impl(store_pointer self, std::shared_ptr<rocksdb::DB> db,
                 state_store_options options, std::shared_ptr<node_metrics> metrics) {
  self->state.db = std::move(db);
  self->state.options = std::move(options);
  self->state.counters = counters_for(metrics, "state_store");
  self->state.metrics = std::move(metrics);
  return {
    [self](caf::put_atom, const std::string& key,
           const std::string& value) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      st.count();
      if (auto err = st.check_key(key))
        return err;
      if (value.size() > st.options.max_value_bytes)
        return st.fail(make_error(errc::invalid_argument,
                                  "value of " + std::to_string(value.size())
                                    + " bytes for key '" + key.substr(0, 64)
                                    + "' exceeds store.max_value_bytes ("
                                    + std::to_string(st.options.max_value_bytes) + ")"));
      rocksdb::WriteOptions wo;
      wo.sync = st.options.sync;
      auto s = st.db->Put(wo, key, value);
      if (!s.ok())
        return st.storage_error("put", s);
      return caf::ok_atom::value;
    },
    [self](caf::get_atom, const std::string& key) -> caf::result<std::string> {
      auto& st = self->state;
      st.count();
      if (auto err = st.check_key(key))
        return err;
      std::string value;
      auto s = st.db->Get(rocksdb::ReadOptions{}, key, &value);
      if (s.IsNotFound())
        return st.fail(make_error(errc::not_found, "no key '" + key.substr(0, 256)
                                                     + "' in the store"));
      if (!s.ok())
        return st.storage_error("get", s);
      return value;
    },
    [self](caf::delete_atom, const std::string& key) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      st.count();
      if (auto err = st.check_key(key))
        return err;
      rocksdb::WriteOptions wo;
      wo.sync = st.options.sync;
      auto s = st.db->Delete(wo, key);
      if (!s.ok())
        return st.storage_error("delete", s);
      return caf::ok_atom::value;
    },
    [self](scan_atom, const std::string& prefix,
           uint32_t limit) -> caf::result<store_entries> {
      auto& st = self->state;
      st.count();
      if (limit == 0 || limit > max_scan_entries)
        return st.fail(make_error(errc::invalid_argument,
                                  "scan limit must be in 1.."
                                    + std::to_string(max_scan_entries) + ", got "
                                    + std::to_string(limit)));
      store_entries result;
      std::unique_ptr<rocksdb::Iterator> it{st.db->NewIterator(rocksdb::ReadOptions{})};
      for (it->Seek(prefix); it->Valid() && result.size() < limit; it->Next()) {
        auto key = it->key();
        if (!key.starts_with(prefix))
          break;
        result.push_back({key.ToString(), it->value().ToString()});
      }
      if (!it->status().ok())
        return st.storage_error("scan", it->status());
      return result;
    },
  };
}

} // namespace

caf::expected<state_store_actor>
spawn_state_store(caf::actor_system& sys, const state_store_options& options,
                  std::shared_ptr<node_metrics> metrics) {
  if (options.path.empty())
    return make_error(errc::invalid_config, "store.path is empty");
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_options, options.path, &raw);
  if (!s.ok())
    return make_error(errc::io_failure,
                      "cannot open store '" + options.path + "': " + s.ToString());
  std::shared_ptr<rocksdb::DB> db{raw};
  return sys.spawn<caf::detached>(state_store_impl, std::move(db), options,
                                  std::move(metrics));
}

} // namespace troupe
