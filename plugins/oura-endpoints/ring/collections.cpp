// Stream schemas of the user's personal info, ring configurations, battery levels and rest mode
// periods. Every property of each OpenAPI document schema is a column;
// tests/integration/contract_test.cpp checks this against tests/fixtures/openapi.json.
#include "collections.hpp"

#include <oura_sdk/schema.hpp>

#include <string>
#include <utility>

namespace oura::endpoints::ring {
namespace {

using sdk::CollectionSpec;
using sdk::column;
using sdk::ColumnType;
using sdk::kOptional;
using sdk::kRequired;

CollectionSpec personalInfo() {
  CollectionSpec spec = sdk::collectionSpec("personal_info", "PersonalInfoResponse", "personal",
                                            sdk::SyncStrategy::Snapshot, "");
  spec.bare_object = true;
  spec.streams.push_back(sdk::documentStream(
      spec.name,
      "the user's personal details, one row per user, fetched as a bare object (OpenAPI "
      "PersonalInfoResponse)",
      {
          sdk::idColumn("Oura's user id (an opaque string); key"),
          column("age", ColumnType::Integer, kOptional, "age, years; null when not set"),
          column("weight", ColumnType::Real, kOptional,
                 "body weight, kilograms; null when not set"),
          column("height", ColumnType::Real, kOptional,
                 "height, metres (e.g. 1.76); null when not set"),
          column("biological_sex", ColumnType::Text, kOptional,
                 "biological sex as entered in the app (e.g. male, female; other values kept as "
                 "sent); null when not set"),
          column("email", ColumnType::Text, kOptional,
                 "the user's email address; needs the `email` scope: null or absent when the token "
                 "was not granted it"),
      },
      {"id"}));
  return spec;
}

CollectionSpec ringConfiguration() {
  CollectionSpec spec = sdk::collectionSpec("ring_configuration", "PublicRingConfiguration",
                                            "ring_configuration", sdk::SyncStrategy::Snapshot, "");
  spec.streams.push_back(sdk::documentStream(
      spec.name,
      "the rings the user has set up, one row per ring (OpenAPI PublicRingConfiguration)",
      {
          sdk::idColumn("Oura's ring configuration id (a UUID); key"),
          column("color", ColumnType::Text, kOptional,
                 "colour of the ring (e.g. silver, stealth_black, brushed_silver, rose; other "
                 "values kept as sent); null when unknown"),
          column("design", ColumnType::Text, kOptional,
                 "design of the ring: heritage, balance, balance_diamond, horizon or ceramic "
                 "(other values kept as sent); null when unknown"),
          column("firmware_version", ColumnType::Text, kOptional,
                 "firmware version of the ring, e.g. 3.0.9; null when unknown"),
          column("hardware_type", ColumnType::Text, kOptional,
                 "hardware generation: gen1, gen2, gen2m, gen3, gen4 or or5 (other values kept as "
                 "sent); null when unknown"),
          column("set_up_at", ColumnType::Timestamptz, kOptional,
                 "when the ring was set up, ISO 8601 in UTC; 1970-01-01T00:00:00+00:00 is a "
                 "placeholder Oura sends for old rings; null when unknown"),
          column("size", ColumnType::Integer, kOptional, "ring size, US sizes; null when unknown"),
      },
      {"id"}));
  return spec;
}

CollectionSpec ringBatteryLevel() {
  CollectionSpec spec =
      sdk::collectionSpec("ring_battery_level", "PublicRingBatteryLevelRow", "ring_configuration",
                          sdk::SyncStrategy::DateTimeWindow, "timestamp");
  spec.streams.push_back(sdk::documentStream(
      spec.name, "ring battery level events, one row per event (OpenAPI PublicRingBatteryLevelRow)",
      {
          column("timestamp", ColumnType::Timestamptz, kRequired,
                 "time of the event, ISO 8601 in UTC; key; the core keeps a row by its first 10 "
                 "characters (the UTC date)"),
          column("level", ColumnType::Integer, kRequired, "battery level, percent (0-100)"),
          column("charging", ColumnType::Boolean, kOptional,
                 "whether the ring was charging; null when unknown"),
          column("in_charger", ColumnType::Boolean, kOptional,
                 "whether the ring was in its charger; null when unknown"),
          column("timestamp_unix", ColumnType::Integer, kRequired,
                 "time of the event as Unix time, milliseconds; documented as required, but the "
                 "real heart-rate rows of the same shape lack it (no battery rows were recorded), "
                 "so expect NULL with one warning per row"),
      },
      {"timestamp"}));
  return spec;
}

CollectionSpec restModePeriod() {
  CollectionSpec spec = sdk::collectionSpec("rest_mode_period", "PublicRestModePeriod", "daily",
                                            sdk::SyncStrategy::FullRefetch, "start_day");
  spec.streams.push_back(sdk::documentStream(
      spec.name,
      "rest mode periods, one row per period, the whole history fetched again each run so "
      "open periods close (OpenAPI PublicRestModePeriod)",
      {
          sdk::idColumn("Oura's rest mode period id (a UUID); key"),
          column("start_day", ColumnType::Date, kRequired,
                 "day rest mode started (YYYY-MM-DD, the user's local calendar day)"),
          column("start_time", ColumnType::Timestamptz, kOptional,
                 "when rest mode started, ISO 8601 with the user's UTC offset at the time (the "
                 "spec's description says \"ended\", a copy error)"),
          column("end_day", ColumnType::Date, kOptional,
                 "day rest mode ended (YYYY-MM-DD); null while the period is open"),
          column("end_time", ColumnType::Timestamptz, kOptional,
                 "when rest mode ended, ISO 8601 with the user's UTC offset; null while the period "
                 "is open"),
          column("episodes", ColumnType::Jsonb, kRequired,
                 "episodes during rest mode, a JSON array of {\"tags\": [tag codes], "
                 "\"timestamp\": ISO 8601 with offset, often with milliseconds}; [] when there "
                 "are none"),
      },
      {"id"}));
  return spec;
}

}  // namespace

std::vector<sdk::CollectionSpec> makeCollections() {
  return {personalInfo(), ringConfiguration(), ringBatteryLevel(), restModePeriod()};
}

}  // namespace oura::endpoints::ring
