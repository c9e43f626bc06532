// Stream schemas of the once-a-day Oura collections. Every property of each OpenAPI document
// schema is a column (nested objects flattened with '_') or listed in `raw_only`; the contract
// test in tests/daily_plugin_test.cpp checks this against tests/fixtures/openapi.json.
#include "collections.hpp"

#include <oura_sdk/schema.hpp>

#include <string>
#include <utility>

namespace oura::endpoints::daily {
namespace {

using sdk::CollectionSpec;
using sdk::Column;
using sdk::column;
using sdk::ColumnType;
using sdk::kOptional;
using sdk::kRequired;

/// Every daily document has an `id`, but some real responses lack it: the day is the key.
const char* const kDocumentId =
    "Oura's document id (a UUID); absent in some real responses, so not part of the key";

Column contributor(const std::string& field, std::string meaning) {
  return column("contributors." + field, ColumnType::Integer, kOptional,
                "score contributor: " + std::move(meaning) +
                    ", 1-100 (higher is better); null when Oura could not compute it");
}

sdk::StreamSchema documentStream(const std::string& name, const std::string& schema,
                                 const std::string& what, std::vector<Column> columns) {
  return sdk::documentStream(name, what + ", one row per day (OpenAPI " + schema + ")",
                             std::move(columns), {"day"});
}

CollectionSpec dailyActivity() {
  CollectionSpec spec = sdk::collectionSpec("daily_activity", "PublicDailyActivity", "daily");
  spec.streams.push_back(documentStream(
      spec.name, spec.openapi_schema,
      "daily activity summary (a 24-hour period starting at 4 a.m. local time)",
      {
          sdk::dayColumn("day the activity period belongs to", sdk::KeyNote::Key),
          sdk::idColumn(kDocumentId),
          sdk::timestampColumn("timestamp of the activity period (its start, 4 a.m. local time)"),
          column("score", ColumnType::Integer, kOptional,
                 "activity score, 1-100; null when not computed"),
          column("active_calories", ColumnType::Integer, kRequired,
                 "active energy expenditure, kcal"),
          column("total_calories", ColumnType::Integer, kRequired,
                 "total energy expenditure (active + basal), kcal"),
          column("target_calories", ColumnType::Integer, kRequired,
                 "daily activity target, kcal of active energy"),
          column("steps", ColumnType::Integer, kRequired, "total number of steps, steps"),
          column("equivalent_walking_distance", ColumnType::Integer, kRequired,
                 "walking distance equivalent to the day's energy expenditure, metres"),
          column("target_meters", ColumnType::Integer, kRequired,
                 "daily activity target as walking distance, metres"),
          column("meters_to_target", ColumnType::Integer, kRequired,
                 "walking distance still needed to reach the target, metres (negative when "
                 "exceeded)"),
          column("average_met_minutes", ColumnType::Real, kRequired,
                 "average metabolic equivalent (MET) over the day, MET"),
          column("high_activity_met_minutes", ColumnType::Integer, kRequired,
                 "sum of the METs of each minute classified as high activity, MET minutes"),
          column("medium_activity_met_minutes", ColumnType::Integer, kRequired,
                 "sum of the METs of each minute classified as medium activity, MET minutes"),
          column("low_activity_met_minutes", ColumnType::Integer, kRequired,
                 "sum of the METs of each minute classified as low activity, MET minutes"),
          column("sedentary_met_minutes", ColumnType::Integer, kRequired,
                 "sum of the METs of each minute classified as sedentary, MET minutes"),
          column("high_activity_time", ColumnType::Integer, kRequired,
                 "time in high activity, seconds"),
          column("medium_activity_time", ColumnType::Integer, kRequired,
                 "time in medium activity, seconds"),
          column("low_activity_time", ColumnType::Integer, kRequired,
                 "time in low activity, seconds"),
          column("sedentary_time", ColumnType::Integer, kRequired, "sedentary time, seconds"),
          column("resting_time", ColumnType::Integer, kRequired,
                 "resting time (incl. sleep), seconds"),
          column("non_wear_time", ColumnType::Integer, kRequired,
                 "time the ring was not worn, seconds"),
          column("inactivity_alerts", ColumnType::Integer, kRequired,
                 "number of inactivity alerts received, count"),
          column("class_5_min", ColumnType::Text, kOptional,
                 "activity class of each 5-minute slot from the period start, one character each: "
                 "0 non-wear, 1 rest, 2 inactive, 3 low, 4 medium, 5 high activity (288 characters "
                 "for a full day)"),
          contributor("meet_daily_targets", "meeting the daily activity targets over 7 days"),
          contributor("move_every_hour", "inactivity alerts over the previous 24 hours"),
          contributor("recovery_time", "recovery time over 7 days"),
          contributor("stay_active", "activity over the previous 24 hours"),
          contributor("training_frequency", "exercise frequency over 7 days"),
          contributor("training_volume", "exercise volume over 7 days"),
      }));
  spec.streams.push_back(sdk::sampleStream(
      spec.streams[0], "daily_activity_met", "met", ColumnType::Real,
      "metabolic equivalent of task of the minute starting at `timestamp`, MET (1 MET = resting "
      "energy expenditure); null when not measured"));
  return spec;
}

CollectionSpec dailySleep() {
  CollectionSpec spec = sdk::collectionSpec("daily_sleep", "PublicDailySleep", "daily");
  spec.streams.push_back(documentStream(
      spec.name, spec.openapi_schema, "daily sleep score and its contributors",
      {
          sdk::dayColumn("day the sleep score belongs to", sdk::KeyNote::Key),
          sdk::idColumn(kDocumentId),
          sdk::timestampColumn("timestamp of the daily sleep document (midnight of `day`)"),
          column("score", ColumnType::Integer, kOptional,
                 "sleep score, 1-100; null when not computed"),
          contributor("deep_sleep", "deep sleep"),
          contributor("efficiency", "sleep efficiency"),
          contributor("latency", "sleep latency (time to fall asleep)"),
          contributor("rem_sleep", "REM sleep"),
          contributor("restfulness", "restfulness (few wake-ups and little movement)"),
          contributor("timing", "sleep timing (midpoint relative to the ideal)"),
          contributor("total_sleep", "total sleep time"),
      }));
  return spec;
}

CollectionSpec dailyReadiness() {
  CollectionSpec spec = sdk::collectionSpec("daily_readiness", "PublicDailyReadiness", "daily");
  spec.streams.push_back(documentStream(
      spec.name, spec.openapi_schema, "daily readiness score and its contributors",
      {
          sdk::dayColumn("day the readiness score belongs to", sdk::KeyNote::Key),
          sdk::idColumn(kDocumentId),
          sdk::timestampColumn("timestamp of the daily readiness document (midnight of `day`)"),
          column("score", ColumnType::Integer, kOptional,
                 "readiness score, 1-100; null when not computed"),
          column("temperature_deviation", ColumnType::Real, kOptional,
                 "skin temperature deviation from the long-term baseline, degrees Celsius"),
          column("temperature_trend_deviation", ColumnType::Real, kOptional,
                 "skin temperature trend deviation (weighted 3-day average against the baseline), "
                 "degrees Celsius"),
          contributor("activity_balance", "cumulative activity balance"),
          contributor("body_temperature", "body temperature"),
          contributor("hrv_balance", "heart rate variability balance"),
          contributor("previous_day_activity", "previous day's activity"),
          contributor("previous_night", "previous night's sleep"),
          contributor("recovery_index", "recovery index (when the resting heart rate settled)"),
          contributor("resting_heart_rate", "resting heart rate"),
          contributor("sleep_balance", "sleep balance over 2 weeks"),
          contributor("sleep_regularity", "sleep regularity (absent in older responses)"),
      }));
  return spec;
}

CollectionSpec dailySpo2() {
  CollectionSpec spec = sdk::collectionSpec("daily_spo2", "PublicDailySpO2", "spo2");
  spec.streams.push_back(documentStream(
      spec.name, spec.openapi_schema, "blood oxygen saturation (SpO2) during the night",
      {
          sdk::dayColumn("day the SpO2 values belongs to", sdk::KeyNote::Key),
          sdk::idColumn(kDocumentId),
          column("spo2_percentage.average", ColumnType::Real, kOptional,
                 "average blood oxygen saturation during sleep, percent (0-100); null when "
                 "`spo2_percentage` is null, 0 is a placeholder Oura sends without a measurement"),
          column("breathing_disturbance_index", ColumnType::Integer, kOptional,
                 "breathing disturbance index (BDI) from detected SpO2 drops, 0-100 (lower is "
                 "better); null when not computed"),
      }));
  return spec;
}

CollectionSpec dailyStress() {
  CollectionSpec spec = sdk::collectionSpec("daily_stress", "PublicDailyStress", "daily");
  spec.streams.push_back(documentStream(
      spec.name, spec.openapi_schema, "daytime stress and recovery",
      {
          sdk::dayColumn("day the stress summary belongs to", sdk::KeyNote::Key),
          sdk::idColumn(kDocumentId),
          column("stress_high", ColumnType::Integer, kOptional,
                 "time in the high stress zone (top quartile of the data), seconds"),
          column("recovery_high", ColumnType::Integer, kOptional,
                 "time in the high recovery zone (bottom quartile of the data), seconds"),
          column("day_summary", ColumnType::Text, kOptional,
                 "stress summary of the whole day: restored, normal or stressful (other values "
                 "kept as sent); null when there is none"),
      }));
  return spec;
}

CollectionSpec dailyResilience() {
  CollectionSpec spec = sdk::collectionSpec("daily_resilience", "DailyResilienceModel", "stress");
  spec.streams.push_back(documentStream(
      spec.name, spec.openapi_schema, "long-term resilience level and its contributors",
      {
          sdk::dayColumn("day the resilience record belongs to", sdk::KeyNote::Key),
          sdk::idColumn(kDocumentId),
          column("level", ColumnType::Text, kRequired,
                 "resilience level: limited, adequate, solid, strong or exceptional (other values "
                 "kept as sent)"),
          column("contributors.sleep_recovery", ColumnType::Real, kRequired,
                 "resilience contributor: sleep recovery, 0-100 (a decimal, e.g. 46.2)"),
          column("contributors.daytime_recovery", ColumnType::Real, kRequired,
                 "resilience contributor: daytime recovery, 0-100 (a decimal)"),
          column("contributors.stress", ColumnType::Real, kRequired,
                 "resilience contributor: stress, 0-100 (a decimal)"),
      }));
  return spec;
}

CollectionSpec dailyCardiovascularAge() {
  CollectionSpec spec =
      sdk::collectionSpec("daily_cardiovascular_age", "PublicDailyCardiovascularAge", "heart_health");
  spec.streams.push_back(documentStream(
      spec.name, spec.openapi_schema, "predicted cardiovascular (vascular) age",
      {
          sdk::dayColumn("day the prediction belongs to", sdk::KeyNote::Key),
          // Documented as required, never present in real documents: no warning.
          sdk::knownAbsent(sdk::idColumn(kDocumentId)),
          column("vascular_age", ColumnType::Integer, kOptional,
                 "predicted vascular age, years (18-100)"),
          column("pulse_wave_velocity", ColumnType::Real, kOptional,
                 "pulse wave velocity derived from the vascular age, metres per second"),
      }));
  return spec;
}

}  // namespace

std::vector<sdk::CollectionSpec> makeCollections() {
  return {dailyActivity(), dailySleep(),      dailyReadiness(),        dailySpo2(),
          dailyStress(),   dailyResilience(), dailyCardiovascularAge()};
}

}  // namespace oura::endpoints::daily
