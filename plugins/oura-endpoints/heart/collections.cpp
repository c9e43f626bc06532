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
using sdk::column;
using sdk::ColumnType;
using sdk::kRequired;

CollectionSpec heartrate() {
  CollectionSpec spec = sdk::collectionSpec("heartrate", "PublicHeartRateRow", "heartrate",
                                            sdk::SyncStrategy::DateTimeWindow, "timestamp");
  spec.streams.push_back(sdk::documentStream(
      spec.name, "heart rate samples, one row per sample (OpenAPI PublicHeartRateRow)",
      {
          column("timestamp", ColumnType::Timestamptz, kRequired,
                 "time of the sample, ISO 8601 (Oura sends UTC, +00:00); key with `source`; the "
                 "core keeps a row by its first 10 characters (the UTC date)"),
          column("source", ColumnType::Text, kRequired,
                 "what the ring was measuring: awake, workout, rest, sleep, live or session "
                 "(other values kept as sent); key with `timestamp`, because an awake and a "
                 "workout sample can share one second"),
          column("bpm", ColumnType::Integer, kRequired, "heart rate, beats per minute (bpm)"),
          // Documented as required, never present in real rows: no warning (the description
          // above predates the known-absent flag; it is the column comment of migration 1).
          sdk::knownAbsent(column(
              "timestamp_unix", ColumnType::Integer, kRequired,
              "time of the sample as Unix time, milliseconds; documented as required but absent "
              "in real rows (December 2024), so usually NULL with one warning per row")),
      },
      {"timestamp", "source"}));
  return spec;
}

CollectionSpec vo2Max() {
  CollectionSpec spec = sdk::collectionSpec("vO2_max", "PublicVO2Max", "heart_health");
  // The stream (table) is the collection's name in lower case: Oura's path has a capital O, and
  // an unquoted PostgreSQL identifier would fold it anyway.
  spec.streams.push_back(sdk::documentStream(
      "vo2_max", "VO2 max estimates, one row per day (OpenAPI PublicVO2Max)",
      {
          sdk::dayColumn("day the estimate belongs to", sdk::KeyNote::Key),
          sdk::idColumn("Oura's document id (a UUID); an ordinary column, not the key (once-a-day "
                        "documents are keyed by day)"),
          sdk::timestampColumn("when the estimate was created"),
          column("vo2_max", ColumnType::Integer, kRequired,
                 "estimated maximal oxygen uptake (VO2 max), ml/kg/min (millilitres of oxygen per "
                 "kilogram of body weight per minute)"),
      },
      {"day"}));
  return spec;
}

}  // namespace

std::vector<sdk::CollectionSpec> makeCollections() { return {heartrate(), vo2Max()}; }

}  // namespace oura::endpoints::heart
