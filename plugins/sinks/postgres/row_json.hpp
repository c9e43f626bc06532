#pragma once
// Rows as the postgres sink sends them: COPY text lines (rowsCopyText, the usual way), or JSON
// arrays bound as one parameter per statement (built with Poco::JSON): one object per row, keys =
// column names; text, date and timestamptz as strings, integers and reals as numbers (a non-finite
// real as null), booleans, NULL as null, and jsonb columns embedded as JSON values (not as
// strings).

#include <cstddef>
#include <oura_sdk/rows.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace oura::plugins::postgres {

/// A row that cannot be turned into JSON (a jsonb value that is not JSON, a row of the wrong
/// width). `row` is the index in the rows given.
class BadRow : public std::runtime_error {
 public:
  BadRow(std::size_t row, const std::string& message) : std::runtime_error(message), row_(row) {}
  std::size_t row() const noexcept { return row_; }

 private:
  std::size_t row_;
};

/// Indices (ascending) of the rows to write when rows repeat a key: the last row of each key
/// wins. Keys compare as PostgreSQL would: timestamptz values by instant ("...T01:00+01:00"
/// equals "...T00:00Z"), everything else by value.
std::vector<std::size_t> lastRowPerKey(const sdk::StreamSchema& stream,
                                       const std::vector<sdk::Row>& rows);

/// The JSON array of `rows[which...]`, every column. @throws BadRow.
std::string rowsJson(const sdk::StreamSchema& stream, const std::vector<sdk::Row>& rows,
                     const std::vector<std::size_t>& which);

/// The rows `rows[which...]` as COPY text-format lines (`COPY ... FROM STDIN`, the default text
/// format): `account`, a tab, then every column in order, tab-separated. Text, date,
/// timestamptz and jsonb values go as their text with backslash, tab, newline and carriage
/// return escaped (no value can end a field or a line, nor the data); integers in decimal;
/// reals in their shortest form that reads back exactly (a non-finite real as NULL, as in
/// rowsJson); booleans as true/false; NULL as \N. Values are not parsed here: PostgreSQL reads
/// each into its column's type (a jsonb value that is not JSON fails the COPY).
/// @throws BadRow (a row of the wrong width).
std::string rowsCopyText(const sdk::StreamSchema& stream, const std::vector<sdk::Row>& rows,
                         const std::vector<std::size_t>& which, const std::string& account);

/// The JSON array of key objects: for each row of `rows[which...]`, the values at
/// `source_columns` (indices into the row) under the names `names`, typed as `columns`.
/// @throws BadRow.
std::string keysJson(const std::vector<const sdk::Column*>& columns,
                     const std::vector<std::string>& names,
                     const std::vector<std::size_t>& source_columns,
                     const std::vector<sdk::Row>& rows, const std::vector<std::size_t>& which);

/// "id=abc" / "day=2024-01-01" / "sleep_id=abc, timestamp=..." for messages: the values at the
/// first `count` primary-key columns of `stream` (all when count is 0).
std::string describeKey(const sdk::StreamSchema& stream, const sdk::Row& row,
                        std::size_t count = 0);

/// The indices of `stream.primary_key` in `stream.columns`. @throws std::invalid_argument.
std::vector<std::size_t> keyIndices(const sdk::StreamSchema& stream);

}  // namespace oura::plugins::postgres
