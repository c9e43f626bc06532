// Stream-schema helpers shared by the endpoint plugins (oura_sdk/schema.hpp).
#include <oura_sdk/schema.hpp>

#include <algorithm>
#include <utility>

namespace oura::sdk {

Column column(const std::string& json_path, ColumnType type, Presence presence,
              std::string description) {
  std::string name = json_path;
  std::replace(name.begin(), name.end(), '.', '_');
  return Column{std::move(name), type, json_path, presence == Presence::Required,
                std::move(description)};
}

Column knownAbsent(Column c) {
  c.known_absent = true;
  return c;
}

Column idColumn(std::string description) {
  return column("id", ColumnType::Text, Presence::Required, std::move(description));
}

Column dayColumn(const std::string& meaning, KeyNote note) {
  return column("day", ColumnType::Date, Presence::Required,
                meaning + " (YYYY-MM-DD, the user's local calendar day)" +
                    (note == KeyNote::Key ? "; key" : ""));
}

Column localTimeColumn(const std::string& json_path, const std::string& meaning,
                       Presence presence) {
  return column(json_path, ColumnType::Timestamptz, presence,
                meaning + ", ISO 8601 with the user's UTC offset at the time");
}

Column timestampColumn(const std::string& meaning) {
  return localTimeColumn("timestamp", meaning, Presence::Required);
}

Column rawColumn() {
  return Column{"raw", ColumnType::Jsonb, "$", false,
                "the source document as the API returned it (JSON), so fields Oura adds later "
                "are kept"};
}

StreamSchema documentStream(std::string name, std::string description, std::vector<Column> columns,
                            std::vector<std::string> primary_key) {
  StreamSchema stream;
  stream.name = std::move(name);
  stream.description = std::move(description);
  stream.columns = std::move(columns);
  stream.columns.push_back(rawColumn());
  stream.primary_key = std::move(primary_key);
  return stream;
}

CollectionSpec collectionSpec(std::string name, std::string openapi_schema, std::string scope,
                              SyncStrategy strategy, std::string day_field) {
  CollectionSpec spec;
  spec.path = "/v2/usercollection/" + name;
  spec.name = std::move(name);
  spec.openapi_schema = std::move(openapi_schema);
  spec.scope = std::move(scope);
  spec.strategy = strategy;
  spec.day_field = std::move(day_field);
  spec.bare_object = false;
  spec.max_window_days = strategy == SyncStrategy::DateTimeWindow ? 30 : 365;
  return spec;
}

}  // namespace oura::sdk
