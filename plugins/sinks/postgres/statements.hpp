#pragma once
// The SQL the postgres sink runs, built from stream schemas (pure functions: unit-tested
// without a server). Table conventions (shared with sql/001_init.sql):
//   oura.<stream.name>: account text NOT NULL, the stream's columns in order (sdk::toSqlType),
//   and for a document stream (streams[0] of a collection) deleted_at timestamptz;
//   PRIMARY KEY (account, <stream.primary_key...>).
// Rows travel by COPY into a session temp table (the staging table) that the upsert reads, or
// straight into the table when they are all new; without the TEMPORARY privilege as ONE bound
// JSON array per statement, read with jsonb_to_recordset.

#include <optional>
#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/rows.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace oura::plugins::postgres {

/// The schema every table lives in.
inline constexpr const char* kSchema = "oura";

/// `oura."<stream>"`.
std::string tableName(const sdk::StreamSchema& stream);

/// `"c1" type1, "c2" type2, ...` for the given columns (a jsonb_to_recordset definition list).
std::string recordDefinition(const std::vector<const sdk::Column*>& columns);

/// Upserts the rows of one stream. $1 = JSON array of row objects (keys = column names),
/// $2 = account. Unchanged rows are not touched; a document stream's row that comes back
/// clears its deleted_at. Returns one row: (inserted, updated).
std::string upsertSql(const sdk::StreamSchema& stream, bool document_stream);

// --- Staging: rows travel by COPY (row_json.hpp rowsCopyText, account first) -------------------

/// The session's temp table that a stream's rows are COPYed into before they are upserted:
/// `pg_temp."oura_stage_<stream>"` (a hash of the name when that would pass PostgreSQL's
/// 63-byte identifiers).
std::string stagingTableName(const sdk::StreamSchema& stream);
/// Creates the staging table when the session has none: "account" text, then the stream's
/// columns, typed as in the table, no key; ON COMMIT DELETE ROWS (empty at every transaction
/// start; a temp table writes no WAL).
std::string createStagingSql(const sdk::StreamSchema& stream);
/// `COPY <staging table> ("account", <columns>) FROM STDIN`.
std::string copyToStagingSql(const sdk::StreamSchema& stream);
/// `COPY oura."<stream>" ("account", <columns>) FROM STDIN`: rows that are all new go
/// straight into the table (a key that exists already fails it with unique_violation, 23505).
std::string copyToTableSql(const sdk::StreamSchema& stream);
/// upsertSql() reading the staging table instead of a bound JSON array; no parameters.
std::string upsertFromStagingSql(const sdk::StreamSchema& stream, bool document_stream);
/// deleteStaleChildrenSql() whose batch rows are the staging table's: $1 = JSON array of parent
/// keys, $2 = account.
std::string deleteStaleChildrenFromStagingSql(const sdk::StreamSchema& child,
                                              const sdk::StreamSchema& parent);
/// One row, true when `child` holds a row of one of the parents in $1 (JSON array of parent
/// keys, as deleteStaleChildrenSql) for account $2.
std::string storedChildrenExistSql(const sdk::StreamSchema& child, const sdk::StreamSchema& parent);

/// The key columns of `child` that hold its parent document's key: the first
/// parent.primary_key.size() entries of child.primary_key (sdk::sampleStream's layout).
/// @throws std::invalid_argument when the child's key does not start that way.
std::vector<const sdk::Column*> parentKeyColumns(const sdk::StreamSchema& child,
                                                 const sdk::StreamSchema& parent);

/// Deletes the samples of the batch's parent documents that the batch no longer holds.
/// $1 = JSON array of parent keys (objects keyed by the child's parent-key column names),
/// $2 = account, $3 = JSON array of the batch's child rows. Runs before the child upsert, so a
/// re-fetched document's samples are replaced exactly (unchanged samples stay untouched).
std::string deleteStaleChildrenSql(const sdk::StreamSchema& child, const sdk::StreamSchema& parent);

/// Marks deleted (deleted_at = now(), where still NULL) the document-stream rows of an account
/// that a completely fetched window no longer returns. $1 = account, $2 = JSON array of the
/// window's document keys (objects keyed by primary-key column names), and when `windowed`
/// $3/$4 = first/last day ("YYYY-MM-DD"). A row belongs to the window by the collection's
/// day_field column: a date column by its value; a timestamptz column by the date written in
/// the document itself (raw ->> day_field, its own UTC offset, as the core keeps documents;
/// the UTC date when the stream has no raw column); a text column by its first 10 characters.
/// Returns one row: the number of rows marked.
/// @return nothing when `windowed` and day_field names no usable column (nothing is marked).
std::optional<std::string> markDeletedSql(const sdk::CollectionSpec& collection, bool windowed);

/// Reads the raw documents of a collection's document stream back with keyset pagination
/// (no transaction stays open between chunks, so the caller may write in between).
struct ReadRawSql {
  std::string first;        ///< $1 = account
  std::string next;         ///< $1 = account, $2.. = the previous chunk's last sort key
  std::size_t key_columns;  ///< result columns after the raw text: the sort key, as text
};
/// Present rows of `account` (deleted_at IS NULL), oldest first: by the day column (NULL
/// first) when it is not part of the key, then by the primary key; `limit` rows a chunk.
/// @throws std::invalid_argument when the stream has no raw (jsonb, "$") column.
ReadRawSql readRawSql(const sdk::CollectionSpec& collection, int limit);

/// Casts every value of $1 (JSON array of row objects) to its column type and returns the
/// count, writing nothing: finds the row holding a value that does not fit.
std::string castCheckSql(const sdk::StreamSchema& stream);

/// Expected (table, column, type) rows of every stream of `collections` plus oura.sync_state,
/// as the JSON array that schemaCheckSql() reads.
std::string expectedColumnsJson(const std::vector<const sdk::CollectionSpec*>& collections);

/// Lists (table, column, expected type, actual type or NULL, table exists) for every expected
/// column that is missing or has another type. $1 = expectedColumnsJson().
std::string schemaCheckSql();

}  // namespace oura::plugins::postgres
