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
using sdk::column;
using sdk::ColumnType;
using sdk::kOptional;
using sdk::kRequired;

Column timeColumn(const std::string& field, const std::string& meaning) {
  return column(field, ColumnType::Timestamptz, kRequired,
                meaning +
                    ", ISO 8601 with the UTC offset Oura recorded (it can differ between "
                    "start and end of one document)");
}

CollectionSpec workout() {
  CollectionSpec spec = sdk::collectionSpec("workout", "PublicWorkout", "workout");
  spec.streams.push_back(sdk::documentStream(
      spec.name,
      "workouts (auto-detected, confirmed or entered by hand), one row per workout (OpenAPI "
      "PublicWorkout)",
      {
          sdk::idColumn("Oura's document id of the workout (a UUID); key (a day can have several)"),
          sdk::dayColumn("day the workout took place", sdk::KeyNote::None),
          column("activity", ColumnType::Text, kRequired,
                 "type of activity as Oura names it (walking, running, cycling, ...; free text)"),
          column("intensity", ColumnType::Text, kRequired,
                 "intensity of the workout: easy, moderate or hard (other values kept as sent)"),
          column("source", ColumnType::Text, kRequired,
                 "how the workout was recorded: manual, autodetected, confirmed or "
                 "workout_heart_rate (other values kept as sent)"),
          timeColumn("start_datetime", "start of the workout"),
          timeColumn("end_datetime", "end of the workout"),
          column("calories", ColumnType::Real, kOptional,
                 "energy burned during the workout, kcal; null when not computed"),
          column("distance", ColumnType::Real, kOptional,
                 "distance travelled during the workout, metres; null when not measured"),
          column("label", ColumnType::Text, kOptional,
                 "the user's own label for the workout; null when none was given"),
      },
      {"id"}));
  return spec;
}

CollectionSpec session() {
  CollectionSpec spec = sdk::collectionSpec("session", "PublicSession", "session");
  spec.streams.push_back(sdk::documentStream(
      spec.name,
      "guided and unguided sessions (Moments) recorded in the Oura app, one row per session "
      "(OpenAPI PublicSession)",
      {
          sdk::idColumn("Oura's document id of the session (a UUID); key (a day can have several)"),
          sdk::dayColumn("day the session took place", sdk::KeyNote::None),
          column("type", ColumnType::Text, kRequired,
                 "type of the session: breathing, meditation, nap, relaxation, rest or body_status "
                 "(other values kept as sent)"),
          timeColumn("start_datetime", "start of the session"),
          timeColumn("end_datetime", "end of the session"),
          column("mood", ColumnType::Text, kOptional,
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

std::vector<sdk::CollectionSpec> makeCollections() { return {workout(), session()}; }

}  // namespace oura::endpoints::activity
