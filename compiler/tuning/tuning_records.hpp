// The records of tuning runs: every measured config of every task, with
// its time or its error, in a RocksDB store on disk. An append is durable
// when it returns (a synced write-ahead log), so a tuner killed with
// SIGKILL keeps every record it made, and a resumed run starts from them.
// Records travel as JSON lines (export, then import elsewhere).
//
// Keys: "tuning/<task name>/<10-digit sequence number>", the value one
// JSON object (record_to_json): a task's records iterate in the order
// they were appended.
#pragma once

#include "compiler/tuning/measure_protocol.hpp"

#include <iosfwd>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace troupe::compiler {

/// A store that cannot be opened, read or written, or a record that does
/// not parse; the message says which (and, for JSON lines, on which line).
class records_error : public std::runtime_error {
public:
  explicit records_error(const std::string& what) : std::runtime_error(what) {}
};

struct tuning_record {
  tuning_task task;
  measure_result result;
};

/// One open store. One process opens a store at a time (RocksDB locks it);
/// within it, calls are serialized by the caller.
class tuning_records {
public:
  /// Opens the store in directory `path`, creating it if missing. Throws
  /// records_error (e.g. when another process holds it).
  explicit tuning_records(const std::string& path);
  ~tuning_records();
  tuning_records(const tuning_records&) = delete;
  tuning_records& operator=(const tuning_records&) = delete;

  /// Appends a record for `task`; durable when it returns.
  void append(const tuning_task& task, const measure_result& result);

  /// `task`'s records in the order they were appended. Records whose
  /// config has not one value per knob of the task's template (made by an
  /// older template) are skipped here and in all().
  std::vector<measure_result> load(const tuning_task& task) const;

  /// `task`'s fastest valid record, if any: among its confirmed records
  /// when it has any (a trial's single measurement may have caught the
  /// machine in a fast moment; confirmed ones were re-measured together).
  std::optional<measure_result> best(const tuning_task& task) const;

  /// The number of `task`'s trials: its records, confirmations not counted.
  size_t trials(const tuning_task& task) const;

  /// Every record of every task (tasks by name, records in append order).
  std::vector<tuning_record> all() const;

  /// Writes all() as JSON lines; returns the number of records.
  size_t export_json_lines(std::ostream& out) const;
  size_t export_json_lines(const std::string& path) const;

  /// Appends the records of JSON lines (blank lines are skipped). All or
  /// nothing: a line that does not parse throws records_error naming its
  /// line number, and nothing is appended. Returns the number of records.
  size_t import_json_lines(std::istream& in);
  size_t import_json_lines(const std::string& path);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::compiler
