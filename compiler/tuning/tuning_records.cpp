#include "compiler/tuning/tuning_records.hpp"

#include "compiler/tuning/search_space.hpp"

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <fstream>
#include <map>

namespace troupe::compiler {

namespace {

const std::string key_prefix = "tuning/";

std::string task_prefix(const tuning_task& task) { return key_prefix + task.name() + "/"; }

std::string record_key(const std::string& prefix, uint64_t seq) {
  return fmt::format("{}{:010}", prefix, seq);
}

void check(const rocksdb::Status& status, const std::string& what) {
  if (!status.ok())
    throw records_error(what + ": " + status.ToString());
}

} // namespace

struct tuning_records::impl {
  std::string path;
  std::unique_ptr<rocksdb::DB> db;
  std::map<std::string, uint64_t> next_seq;  // by task prefix

  uint64_t take_seq(const std::string& prefix) {
    auto found = next_seq.find(prefix);
    if (found == next_seq.end()) {
      // The first append for this task since opening: continue after its
      // last stored key.
      uint64_t next = 0;
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions{}));
      it->SeekForPrev(prefix + "\xff");
      if (it->Valid() && it->key().starts_with(prefix))
        next = std::stoull(it->key().ToString().substr(prefix.size())) + 1;
      check(it->status(), "reading tuning records in " + path);
      found = next_seq.emplace(prefix, next).first;
    }
    return found->second++;
  }

  void write(rocksdb::WriteBatch& batch) {
    rocksdb::WriteOptions options;
    options.sync = true;
    check(db->Write(options, &batch), "writing tuning records to " + path);
  }

  template <class F>
  void scan(const std::string& prefix, F&& f) const {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions{}));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      try {
        auto [task, result] = record_from_json(it->value().ToString());
        f(std::move(task), std::move(result));
      } catch (const std::invalid_argument& e) {
        throw records_error(fmt::format("record {} in {}: {}", it->key().ToString(), path,
                                        e.what()));
      }
    }
    check(it->status(), "reading tuning records in " + path);
  }
};

tuning_records::tuning_records(const std::string& path) : impl_(std::make_unique<impl>()) {
  impl_->path = path;
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  check(rocksdb::DB::Open(options, path, &db), "opening tuning records " + path);
  impl_->db.reset(db);
}

tuning_records::~tuning_records() = default;

void tuning_records::append(const tuning_task& task, const measure_result& result) {
  auto prefix = task_prefix(task);
  rocksdb::WriteBatch batch;
  batch.Put(record_key(prefix, impl_->take_seq(prefix)), record_to_json(task, result));
  impl_->write(batch);
}

std::vector<measure_result> tuning_records::load(const tuning_task& task) const {
  std::vector<measure_result> results;
  impl_->scan(task_prefix(task), [&](tuning_task, measure_result result) {
    if (fits_template(task, result.config))
      results.push_back(std::move(result));
  });
  return results;
}

std::optional<measure_result> tuning_records::best(const tuning_task& task) const {
  auto records = load(task);
  bool any_confirmed = std::any_of(records.begin(), records.end(),
                                   [](const measure_result& r) { return r.confirmed && r.ok(); });
  std::optional<measure_result> best;
  for (auto& r : records)
    if (r.ok() && r.seconds > 0 && r.confirmed == any_confirmed
        && (!best || r.seconds < best->seconds))
      best = r;
  return best;
}

size_t tuning_records::trials(const tuning_task& task) const {
  auto records = load(task);
  return static_cast<size_t>(std::count_if(records.begin(), records.end(),
                                           [](const measure_result& r) { return !r.confirmed; }));
}

std::vector<tuning_record> tuning_records::all() const {
  std::vector<tuning_record> records;
  impl_->scan(key_prefix, [&](tuning_task task, measure_result result) {
    if (fits_template(task, result.config))
      records.push_back({std::move(task), std::move(result)});
  });
  return records;
}

size_t tuning_records::export_json_lines(std::ostream& out) const {
  auto records = all();
  for (auto& r : records)
    out << record_to_json(r.task, r.result) << '\n';
  out.flush();
  if (!out)
    throw records_error("writing JSON lines failed");
  return records.size();
}

size_t tuning_records::export_json_lines(const std::string& path) const {
  std::ofstream out(path, std::ios::trunc);
  if (!out)
    throw records_error("cannot write " + path);
  return export_json_lines(out);
}

size_t tuning_records::import_json_lines(std::istream& in) {
  std::vector<tuning_record> records;
  size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    try {
      auto [task, result] = record_from_json(line);
      records.push_back({std::move(task), std::move(result)});
    } catch (const std::invalid_argument& e) {
      throw records_error(fmt::format("line {}: {}", number, e.what()));
    }
  }
  rocksdb::WriteBatch batch;
  for (auto& r : records) {
    auto prefix = task_prefix(r.task);
    batch.Put(record_key(prefix, impl_->take_seq(prefix)), record_to_json(r.task, r.result));
  }
  impl_->write(batch);
  return records.size();
}

size_t tuning_records::import_json_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw records_error("cannot read " + path);
  try {
    return import_json_lines(in);
  } catch (const records_error& e) {
    throw records_error(path + ": " + e.what());
  }
}

} // namespace troupe::compiler
