#pragma once
/// @file rows.hpp
/// Typed rows: what crosses from endpoint plugins through the core into sinks. Sinks never see
/// Oura's JSON, only stream schemas and rows (the raw document travels as a `jsonb` column).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace oura::sdk {

/// Column types, named after their PostgreSQL types.
enum class ColumnType {
  Text,         ///< std::string
  Integer,      ///< std::int64_t (PostgreSQL bigint)
  Real,         ///< double (PostgreSQL double precision)
  Boolean,      ///< bool
  Date,         ///< std::string "YYYY-MM-DD"
  Timestamptz,  ///< std::string ISO 8601 with the document's own UTC offset,
                ///< e.g. "2024-11-11T04:00:00.000+01:00"
  Jsonb,        ///< std::string holding one JSON value
};

/// The PostgreSQL spelling of a column type ("text", "bigint", "double precision", ...).
const char* toSqlType(ColumnType type) noexcept;

/// One typed column of a stream.
struct Column {
  std::string name;         ///< column name: Oura's field name, nested objects joined by '_'
  ColumnType type = ColumnType::Text;
  /// Where the value comes from in the source document: a dotted path ("contributors.hrv_balance"),
  /// "$" for the whole document (the raw column), or empty when the mapper fills it otherwise
  /// (sample timestamps and values).
  std::string json_path;
  bool required = false;    ///< documented-required in the OpenAPI schema; absence is warned
  std::string description;  ///< meaning and unit (seconds, bpm, metres, kcal, degrees Celsius)
  /// Documented-required but known to be absent from real data (heartrate `timestamp_unix`,
  /// daily_cardiovascular_age `id`): its absence is expected, NULL without a warning.
  bool known_absent = false;
};

/// An embedded time series (OpenAPI `PublicSample`: `{interval, items, timestamp}`) flattened into
/// one row per item: the parent's key columns, then `timestamp` (timestamptz, `timestamp + i *
/// interval` in the document's own offset), then `value` (null items stay null).
struct SampleSeries {
  std::string json_path;                      ///< path of the PublicSample in the parent document
  ColumnType value_type = ColumnType::Real;   ///< type of `value`
};

/// The schema of one stream (one table in PostgreSQL). The account label is not a column here:
/// sinks add it as the first key column.
struct StreamSchema {
  std::string name;                       ///< stream / table name, e.g. "daily_activity_met"
  std::string description;                ///< one line; the OpenAPI schema it follows
  std::vector<Column> columns;            ///< in output order
  std::vector<std::string> primary_key;   ///< column names (without the account)
  /// Set for a child stream of samples; empty for a document stream.
  std::optional<SampleSeries> samples;

  /// Index of a column by name. @throws std::out_of_range when there is no such column.
  std::size_t columnIndex(const std::string& column) const;
};

/// One cell. `std::monostate` is SQL NULL. Date, timestamptz and jsonb values are strings.
using Value = std::variant<std::monostate, std::string, std::int64_t, double, bool>;

/// One row: values in the order of its stream's `columns`.
using Row = std::vector<Value>;

/// The rows of one stream in a batch.
struct StreamRows {
  const StreamSchema* schema = nullptr;  ///< owned by the endpoint plugin; outlives the batch
  std::vector<Row> rows;
};

}  // namespace oura::sdk
