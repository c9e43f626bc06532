// The PostgreSQL DDL of the endpoint plugins' stream schemas: what `oura-schema-sql` prints and
// what sql/001_init.sql holds after its hand-written head. Shared by the tool and schema_test.
//
// Conventions (shared with the PostgreSQL sink):
//  - one table `oura.<stream.name>` per stream of every collection of every endpoint plugin;
//  - columns: `account text NOT NULL`, then the stream's columns in order with
//    sdk::toSqlType(column.type); document streams (streams[0]) end with `deleted_at timestamptz`;
//  - primary key (account, <stream.primary_key...>), key columns NOT NULL;
//  - COMMENT ON TABLE (the stream's description) and COMMENT ON COLUMN for every column;
//  - an index on (account, <day column>) for a document stream whose collection's day_field
//    names a column, unless the primary key already starts with it; an index on
//    (account, timestamp) for every sample stream.
#pragma once

#include <memory>
#include <optional>
#include <oura_sdk/endpoint.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace oura::core {
class PluginLoader;
}

namespace oura::schema_sql {

/// PostgreSQL's longest identifier (NAMEDATALEN - 1): longer names are silently truncated.
inline constexpr std::size_t kMaxIdentifierBytes = 63;

/// A double-quoted identifier: `daily_sleep` -> `"daily_sleep"`, `a"b` -> `"a""b"`.
/// @throws std::invalid_argument when `name` is empty, holds a NUL byte or is longer than
///   kMaxIdentifierBytes.
std::string quoteIdent(std::string_view name);

/// A standard SQL string literal (standard_conforming_strings, the default since PostgreSQL
/// 9.1): `it's` -> `'it''s'`; backslashes stay as they are.
/// @throws std::invalid_argument when `text` holds a NUL byte (PostgreSQL text cannot).
std::string quoteLiteral(std::string_view text);

/// The column of `collection.streams[stream_index]` that gets an (account, column) index for
/// time-range queries, or nothing (see the conventions above).
std::optional<std::string> timeIndexColumn(const sdk::CollectionSpec& collection,
                                           std::size_t stream_index);

/// The name of that index: `<table>_account_<column>_idx`.
std::string timeIndexName(const std::string& table, const std::string& column);

/// CREATE TABLE, COMMENT ON TABLE/COLUMN and CREATE INDEX statements of one stream.
/// @throws std::invalid_argument on a schema that cannot become a table (an empty name, a
///   primary-key column that is not a column, a column named account or deleted_at, a
///   duplicate column).
std::string streamDdl(const sdk::CollectionSpec& collection, std::size_t stream_index);

/// One loaded endpoint plugin instance.
struct Endpoint {
  std::string name;  ///< the plugin's name, e.g. "daily"
  std::shared_ptr<sdk::EndpointPlugin> plugin;
};

/// Every endpoint plugin in `plugin_dir` (oura-endpoint-*.so), created with its default
/// configuration, sorted by name. `loader` must outlive the returned plugins.
/// @throws std::runtime_error naming every plugin file that failed to load.
std::vector<Endpoint> loadEndpoints(core::PluginLoader& loader);

/// The whole generated part: a comment line, then streamDdl of every stream of every collection
/// of `endpoints`, in their order (plugins by name, collections and streams as declared).
/// @throws std::invalid_argument as streamDdl, or when two streams share a table name.
std::string generate(const std::vector<Endpoint>& endpoints);

/// The first line of generate()'s output; it marks where the generated part of
/// sql/001_init.sql begins.
extern const char* const kGeneratedMarker;

}  // namespace oura::schema_sql
