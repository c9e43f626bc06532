// Stream schemas of Oura's heart-rate samples and VO2 max estimates. Every property of each
// OpenAPI document schema is a column; tests/integration/contract_test.cpp checks this against
// tests/fixtures/openapi.json.
#include "collections.hpp"

#include <oura_sdk/schema.hpp>

#include <string>
#include <utility>

namespace oura::endpoints::heart {
namespace {

using sdk::CollectionSpec;
using sdk::Column;
using sdk::ColumnType;

constexpr sdk::Presence kRequired = sdk::Presence::Required;

/// A column read from `json_path` (the SDK's naming: '.' becomes '_').
Column col(const std::string& json_path, ColumnType type, sdk::Presence presence,
           std::string description) {
  return sdk::column(json_path, type, presence, std::move(description));
}

CollectionSpec heartrate() {
  CollectionSpec spec = sdk::collectionSpec("heartrate", "PublicHeartRateRow", "heartrate",
                                            sdk::SyncStrategy::DateTimeWindow, "timestamp");
  spec.max_window_days = 30;
  spec.streams.push_back(sdk::documentStream(
      spec.name,
      "heart rate samples, one row per sample (OpenAPI PublicHeartRateRow)",
      {
          col("timestamp", ColumnType::Timestamptz, kRequired,
              "time of the sample, ISO 8601 (Oura sends UTC, +00:00); key with `source`; the "
              "core keeps a row by its first 10 characters (the UTC date)"),
          col("source", ColumnType::Text, kRequired,
              "what the ring was measuring: awake, workout, rest, sleep, live or session (other "
              "values kept as sent); key with `timestamp`, because an awake and a workout sample "
              "can share one second"),
          col("bpm", ColumnType::Integer, kRequired, "heart rate, beats per minute (bpm)"),
          col("timestamp_unix", ColumnType::Integer, kRequired,
              "time of the sample as Unix time, milliseconds; documented as required but absent "
              "in real rows (December 2024), so usually NULL with one warning per row"),
      },
      {"timestamp", "source"}));
  return spec;
}

CollectionSpec vo2Max() {
  CollectionSpec spec = sdk::collectionSpec("vO2_max", "PublicVO2Max", "daily",
                                            sdk::SyncStrategy::DateWindow, "day");
  // The stream (table) is the collection's name in lower case: Oura's path has a capital O, and
  // an unquoted PostgreSQL identifier would fold it anyway.
  spec.streams.push_back(sdk::documentStream(
      "vo2_max", "VO2 max estimates, one row per day (OpenAPI PublicVO2Max)",
      {
          col("day", ColumnType::Date, kRequired,
              "day the estimate belongs to (YYYY-MM-DD, the user's local calendar day); key"),
          col("id", ColumnType::Text, kRequired,
              "Oura's document id (a UUID); an ordinary column, not the key (once-a-day "
              "documents are keyed by day)"),
          col("timestamp", ColumnType::Timestamptz, kRequired,
              "when the estimate was created, ISO 8601 with the user's UTC offset at the time"),
          col("vo2_max", ColumnType::Integer, kRequired,
              "estimated maximal oxygen uptake (VO2 max), ml/kg/min (millilitres of oxygen per "
              "kilogram of body weight per minute)"),
      },
      {"day"}));
  return spec;
}

}  // namespace

std::vector<sdk::CollectionSpec> makeCollections() {
  std::vector<sdk::CollectionSpec> specs;
  specs.push_back(heartrate());
  specs.push_back(vo2Max());
  return specs;
}

}  // namespace oura::endpoints::heart
