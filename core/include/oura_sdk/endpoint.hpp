#pragma once
/// @file endpoint.hpp
/// Endpoint plugins: one shared library per Oura resource group. A plugin declares its
/// collections (path, sync strategy, scope, stream schemas) and maps one document at a time into
/// rows. It never opens a socket: the core fetches pages through its HTTP layer (token, rate
/// limiter, retry policy, pagination) and calls `mapDocument` for every document.

#include <oura_sdk/plugin.hpp>
#include <oura_sdk/rows.hpp>

#include <Poco/JSON/Object.h>

#include <string>
#include <utility>
#include <vector>

namespace oura::sdk {

/// How the core fetches a collection.
enum class SyncStrategy {
  DateWindow,      ///< `start_date`/`end_date` (YYYY-MM-DD), windows of `max_window_days`
  DateTimeWindow,  ///< `start_datetime`/`end_datetime` (ISO 8601, `+` sent as `%2B`),
                   ///< windows of at most 30 days (`heartrate`, `ring_battery_level`)
  Snapshot,        ///< no range; every page each run (`personal_info`, `ring_configuration`)
  FullRefetch,     ///< the whole history each run, so open periods close (`rest_mode_period`)
};

/// "date_window", "datetime_window", "snapshot" or "full_refetch".
const char* toString(SyncStrategy strategy) noexcept;

/// A property of the document schema that is deliberately not a column (kept in the raw
/// document only), with the reason. The contract test reads these.
struct RawOnlyProperty {
  std::string json_path;
  std::string reason;
};

/// One Oura collection served by an endpoint plugin.
struct CollectionSpec {
  std::string name;   ///< Oura's collection name, e.g. "daily_activity", "vO2_max"
  std::string path;   ///< request path, e.g. "/v2/usercollection/daily_activity"
  std::string openapi_schema;  ///< the document schema in the OpenAPI spec, e.g. "DailyActivityModel"
  SyncStrategy strategy = SyncStrategy::DateWindow;
  /// JSON path of the day a document belongs to ("day", "start_day"); documents outside the
  /// requested window are dropped by this value. Empty for snapshots.
  std::string day_field = "day";
  /// True when the API returns a bare object, not a `{data, next_token}` envelope.
  bool bare_object = false;
  std::string scope;          ///< the OAuth2 scope the collection needs, e.g. "daily"
  int max_window_days = 365;  ///< widest window one request may ask for
  /// streams[0] is the document stream; further entries are child sample streams.
  std::vector<StreamSchema> streams;
  std::vector<RawOnlyProperty> raw_only;
};

/// Receives what `mapDocument` produces.
class RowEmitter {
 public:
  virtual ~RowEmitter();
  /// Adds a row to the stream with index `stream_index` in the collection's `streams`.
  virtual void emit(std::size_t stream_index, Row row) = 0;
  /// Records a non-fatal problem (a documented-required key absent, a value of the wrong type)
  /// that the run summary counts. `message` names the field; the core adds collection and id.
  virtual void warn(const std::string& message) = 0;
};

/// Base class of endpoint plugins.
class EndpointPlugin : public Plugin {
 public:
  ~EndpointPlugin() override;

  /// The collections this plugin serves; the returned specs (and their stream schemas) stay
  /// valid for the plugin's lifetime.
  virtual const std::vector<CollectionSpec>& collections() const = 0;

  /// Maps one document of `collection` into rows of its streams.
  /// The default implementation is `mapByPaths`: every column is read from its `json_path`,
  /// every child stream from its `SampleSeries`.
  /// @param doc the parsed document (one element of `data`, or the bare object)
  /// @param raw the document serialised as JSON, for the `$` (raw) column
  /// @throws MappingError when the document cannot be mapped at all; lesser problems go to
  ///   `out.warn` and the affected values become NULL.
  virtual void mapDocument(const CollectionSpec& collection, const Poco::JSON::Object& doc,
                           const std::string& raw, RowEmitter& out) const;
};

/// The generic mapper behind `EndpointPlugin::mapDocument`.
/// - Scalars are converted to the column type leniently: an integer where a real is expected is
///   widened; a whole-numbered real where an integer is expected is narrowed; anything else that
///   does not fit becomes NULL with a warning. Unknown enum values are kept as text.
/// - An absent `required` key becomes NULL with a warning; an absent optional key is NULL.
/// - Sample series: `timestamp + i * interval` in the document's own UTC offset.
/// @throws MappingError when a primary-key column of the document stream is absent.
void mapByPaths(const CollectionSpec& collection, const Poco::JSON::Object& doc,
                const std::string& raw, RowEmitter& out);

/// Builds the child stream schema for a `SampleSeries` at `json_path` of `parent`: the parent's
/// key columns, `timestamp` (timestamptz) and `value` of `value_type`.
/// @param name stream name, e.g. "sleep_heart_rate"
/// @param value_description meaning and unit of `value`, e.g. "heart rate, bpm"
StreamSchema sampleStream(const StreamSchema& parent, std::string name, std::string json_path,
                          ColumnType value_type, std::string value_description);

}  // namespace oura::sdk
