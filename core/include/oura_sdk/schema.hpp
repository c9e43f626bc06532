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

/// A column read from the dotted `json_path` of the document ("contributors.hrv_balance"); the
/// column name is the path with '.' replaced by '_' ("contributors_hrv_balance").
/// @param description meaning and unit (seconds, bpm, metres, kcal, degrees Celsius)
Column column(const std::string& json_path, ColumnType type, Presence presence,
              std::string description);

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
/// `strategy` and `day_field` as given; `max_window_days` 365 (30 for DateTimeWindow); no
/// streams yet.
CollectionSpec collectionSpec(std::string name, std::string openapi_schema, std::string scope,
                              SyncStrategy strategy, std::string day_field);

}  // namespace oura::sdk
