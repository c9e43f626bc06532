#pragma once
/// @file schema.hpp
/// Helpers for declaring stream schemas, shared by every endpoint plugin so that columns are
/// named and described the same way everywhere.

#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/rows.hpp>

#include <string>
#include <vector>

namespace oura::sdk {

/// Whether an OpenAPI property is documented as required (`Column::required`): its absence is
/// counted as a warning, the value becomes NULL.
enum class Presence { Optional, Required };

/// Shorthands for the `presence` of a column, so that column lists read like the schema.
inline constexpr Presence kRequired = Presence::Required;
inline constexpr Presence kOptional = Presence::Optional;

/// A column read from the dotted `json_path` of the document ("contributors.hrv_balance"); the
/// column name is the path with '.' replaced by '_' ("contributors_hrv_balance").
/// @param description meaning and unit (seconds, bpm, metres, kcal, degrees Celsius)
Column column(const std::string& json_path, ColumnType type, Presence presence,
              std::string description);

/// `c` marked `known_absent`: documented as required, yet real data never carries it, so its
/// absence is not a warning (the value is NULL). Say so in the column's description.
Column knownAbsent(Column c);

/// The document's `id` column: text, documented-required, json_path "id".
/// @param description what the id identifies and whether it is the key, e.g. "Oura's document
///        id of the workout (a UUID); key (a day can have several)"
Column idColumn(std::string description);

/// Whether the description of a `dayColumn` says that the day is the key. It words the
/// description only; the key itself is the `primary_key` given to `documentStream`.
enum class KeyNote { None, Key };

/// The document's `day` column: date (YYYY-MM-DD), documented-required, json_path "day".
/// Described as `meaning` + " (YYYY-MM-DD, the user's local calendar day)", followed by "; key"
/// with KeyNote::Key.
/// @param meaning what the day is, e.g. "day the sleep score belongs to"
Column dayColumn(const std::string& meaning, KeyNote note);

/// A timestamptz column of a time Oura sends in the user's local offset (stored as written, the
/// offset kept). Described as `meaning` + ", ISO 8601 with the user's UTC offset at the time".
/// @param json_path dotted path of the timestamp; the column name follows `column`'s rule
/// @param meaning what the time is, e.g. "start of the period (going to bed)"
Column localTimeColumn(const std::string& json_path, const std::string& meaning,
                       Presence presence = Presence::Required);

/// The document's `timestamp` column: `localTimeColumn("timestamp", meaning)` (required).
/// @param meaning e.g. "when the tag was entered"
Column timestampColumn(const std::string& meaning);

/// The `raw` column (jsonb, json_path "$"): the source document exactly as the API returned it,
/// so fields Oura adds later are never lost. By convention the last column of every document
/// stream.
Column rawColumn();

/// A document stream named `name`: `columns`, then `rawColumn()`, keyed by `primary_key`.
/// @param description one line; should name the OpenAPI schema it follows
StreamSchema documentStream(std::string name, std::string description, std::vector<Column> columns,
                            std::vector<std::string> primary_key);

/// A collection spec with Oura's conventions: `path` = "/v2/usercollection/" + `name`,
/// `openapi_schema` the document schema name in the OpenAPI spec, `scope` its OAuth2 scope,
/// `strategy` and `day_field` as given (by default a window of days on `day`, the most common
/// case); `max_window_days` 365 (30 for DateTimeWindow); no streams yet.
CollectionSpec collectionSpec(std::string name, std::string openapi_schema, std::string scope,
                              SyncStrategy strategy = SyncStrategy::DateWindow,
                              std::string day_field = "day");

}  // namespace oura::sdk
