// Plain data of the state store's protocol.
#pragma once

#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace troupe {

/// One key and its value, as returned by a prefix scan.
struct store_entry {
  std::string key;
  std::string value;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_entry& x) {
  return f(caf::meta::type_name("troupe::store_entry"), x.key, x.value);
}

using store_entries = std::vector<store_entry>;

} // namespace troupe
