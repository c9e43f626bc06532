// Stream schemas of Oura's workout and session collections. Every property of each OpenAPI
// document schema is a column, a child sample stream (PublicSample) or listed in `raw_only`;
// tests/integration/contract_test.cpp checks this against tests/fixtures/openapi.json.
#include "collections.hpp"

#include <oura_sdk/schema.hpp>

#include <string>
#include <utility>

namespace oura::endpoints::activity {
namespace {

using sdk::CollectionSpec;
using sdk::Column;
using sdk::ColumnType;
using sdk::StreamSchema;

constexpr sdk::Presence kRequired = sdk::Presence::Required;
constexpr sdk::Presence kOptional = sdk::Presence::Optional;

/// A column read from `json_path` (the SDK's naming: '.' becomes '_').
Column col(const std::string& json_path, ColumnType type, sdk::Presence presence,
           std::string description) {
  return sdk::column(json_path, type, presence, std::move(description));
}

Column idColumn(const std::string& what) {
  return col("id", ColumnType::Text, kRequired,
             "Oura's document id of the " + what + " (a UUID); key (a day can have several)");
}

Column dayColumn(const std::string& what) {
  return col("day", ColumnType::Date, kRequired,
             "day the " + what + " took place (YYYY-MM-DD, the user's local calendar day)");
}

Column timeColumn(const std::string& field, const std::string& meaning) {
  return col(field, ColumnType::Timestamptz, kRequired,
             meaning +
                 ", ISO 8601 with the UTC offset Oura recorded (it can differ between "
                 "start and end of one document)");
}

CollectionSpec workout() {
  CollectionSpec spec = sdk::collectionSpec("workout", "PublicWorkout", "workout",
                                            sdk::SyncStrategy::DateWindow, "day");
  spec.streams.push_back(sdk::documentStream(
      spec.name,
      "workouts (auto-detected, confirmed or entered by hand), one row per workout (OpenAPI "
      "PublicWorkout)",
      {
          idColumn("workout"),
          dayColumn("workout"),
          col("activity", ColumnType::Text, kRequired,
              "type of activity as Oura names it (walking, running, cycling, ...; free text)"),
          col("intensity", ColumnType::Text, kRequired,
              "intensity of the workout: easy, moderate or hard (other values kept as sent)"),
          col("source", ColumnType::Text, kRequired,
              "how the workout was recorded: manual, autodetected, confirmed or "
              "workout_heart_rate (other values kept as sent)"),
          timeColumn("start_datetime", "start of the workout"),
          timeColumn("end_datetime", "end of the workout"),
          col("calories", ColumnType::Real, kOptional,
              "energy burned during the workout, kcal; null when not computed"),
          col("distance", ColumnType::Real, kOptional,
              "distance travelled during the workout, metres; null when not measured"),
          col("label", ColumnType::Text, kOptional,
              "the user's own label for the workout; null when none was given"),
      },
      {"id"}));
  return spec;
}

CollectionSpec session() {
  CollectionSpec spec = sdk::collectionSpec("session", "PublicSession", "session",
                                            sdk::SyncStrategy::DateWindow, "day");
  spec.streams.push_back(sdk::documentStream(
      spec.name,
      "guided and unguided sessions (Moments) recorded in the Oura app, one row per session "
      "(OpenAPI PublicSession)",
      {
          idColumn("session"),
          dayColumn("session"),
          col("type", ColumnType::Text, kRequired,
              "type of the session: breathing, meditation, nap, relaxation, rest or body_status "
              "(other values kept as sent)"),
          timeColumn("start_datetime", "start of the session"),
          timeColumn("end_datetime", "end of the session"),
          col("mood", ColumnType::Text, kOptional,
              "mood the user chose for the session: bad, worse, same, good or great (other "
              "values kept as sent); null when none was chosen"),
      },
      {"id"}));
  spec.streams.push_back(sdk::sampleStream(
      spec.streams[0], "session_heart_rate", "heart_rate", ColumnType::Real,
      "heart rate over the interval starting at `timestamp` (5 seconds in real responses), "
      "bpm; null when not measured"));
  spec.streams.push_back(sdk::sampleStream(
      spec.streams[0], "session_heart_rate_variability", "heart_rate_variability", ColumnType::Real,
      "heart rate variability (RMSSD) over the interval starting at `timestamp` (5 seconds in "
      "real responses), ms; null when not measured"));
  spec.streams.push_back(sdk::sampleStream(
      spec.streams[0], "session_motion_count", "motion_count", ColumnType::Real,
      "number of movements the ring detected in the interval starting at `timestamp` (5 "
      "seconds in real responses), count; null when not measured"));
  return spec;
}

}  // namespace

std::vector<sdk::CollectionSpec> makeCollections() {
  std::vector<sdk::CollectionSpec> specs;
  specs.push_back(workout());
  specs.push_back(session());
  return specs;
}

}  // namespace oura::endpoints::activity
