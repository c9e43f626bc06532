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
using sdk::ColumnType;
using sdk::StreamSchema;

constexpr sdk::Presence kRequired = sdk::Presence::Required;
constexpr sdk::Presence kOptional = sdk::Presence::Optional;

/// A column read from `json_path` (the SDK's naming: '.' becomes '_').
Column col(const std::string& json_path, ColumnType type, sdk::Presence presence,
           std::string description) {
  return sdk::column(json_path, type, presence, std::move(description));
}

Column dayColumn(const std::string& what) {
  return col("day", ColumnType::Date, kRequired,
             "day the " + what + " belongs to (YYYY-MM-DD, the user's local calendar day); key");
}

Column idColumn() {
  return col("id", ColumnType::Text, kRequired,
             "Oura's document id (a UUID); absent in some real responses, so not part of the key");
}

Column timestampColumn(const std::string& what) {
  return col("timestamp", ColumnType::Timestamptz, kRequired,
             "timestamp of the " + what + ", ISO 8601 with the user's UTC offset at the time");
}

Column contributor(const std::string& field, std::string meaning) {
  return col("contributors." + field, ColumnType::Integer, kOptional,
             "score contributor: " + std::move(meaning) + ", 1-100 (higher is better); null when "
             "Oura could not compute it");
}

CollectionSpec baseSpec(const std::string& name, const std::string& schema,
                        const std::string& scope) {
  return sdk::collectionSpec(name, schema, scope, sdk::SyncStrategy::DateWindow, "day");
}

StreamSchema documentStream(const std::string& name, const std::string& schema,
                            const std::string& what, std::vector<Column> columns) {
  return sdk::documentStream(name, what + ", one row per day (OpenAPI " + schema + ")",
                             std::move(columns), {"day"});
}

CollectionSpec dailyActivity() {
  CollectionSpec spec = baseSpec("daily_activity", "PublicDailyActivity", "daily");
  spec.streams.push_back(documentStream(
      spec.name, spec.openapi_schema,
      "daily activity summary (a 24-hour period starting at 4 a.m. local time)",
      {
          dayColumn("activity period"),
          idColumn(),
          timestampColumn("activity period (its start, 4 a.m. local time)"),
          col("score", ColumnType::Integer, kOptional, "activity score, 1-100; null when not computed"),
          col("active_calories", ColumnType::Integer, kRequired,
              "active energy expenditure, kcal"),
          col("total_calories", ColumnType::Integer, kRequired,
              "total energy expenditure (active + basal), kcal"),
          col("target_calories", ColumnType::Integer, kRequired,
              "daily activity target, kcal of active energy"),
          col("steps", ColumnType::Integer, kRequired, "total number of steps, steps"),
          col("equivalent_walking_distance", ColumnType::Integer, kRequired,
              "walking distance equivalent to the day's energy expenditure, metres"),
          col("target_meters", ColumnType::Integer, kRequired,
              "daily activity target as walking distance, metres"),
          col("meters_to_target", ColumnType::Integer, kRequired,
              "walking distance still needed to reach the target, metres (negative when exceeded)"),
          col("average_met_minutes", ColumnType::Real, kRequired,
              "average metabolic equivalent (MET) over the day, MET"),
          col("high_activity_met_minutes", ColumnType::Integer, kRequired,
              "sum of the METs of each minute classified as high activity, MET minutes"),
          col("medium_activity_met_minutes", ColumnType::Integer, kRequired,
              "sum of the METs of each minute classified as medium activity, MET minutes"),
          col("low_activity_met_minutes", ColumnType::Integer, kRequired,
              "sum of the METs of each minute classified as low activity, MET minutes"),
          col("sedentary_met_minutes", ColumnType::Integer, kRequired,
              "sum of the METs of each minute classified as sedentary, MET minutes"),
          col("high_activity_time", ColumnType::Integer, kRequired,
              "time in high activity, seconds"),
          col("medium_activity_time", ColumnType::Integer, kRequired,
              "time in medium activity, seconds"),
          col("low_activity_time", ColumnType::Integer, kRequired, "time in low activity, seconds"),
          col("sedentary_time", ColumnType::Integer, kRequired, "sedentary time, seconds"),
          col("resting_time", ColumnType::Integer, kRequired, "resting time (incl. sleep), seconds"),
          col("non_wear_time", ColumnType::Integer, kRequired, "time the ring was not worn, seconds"),
          col("inactivity_alerts", ColumnType::Integer, kRequired,
              "number of inactivity alerts received, count"),
          col("class_5_min", ColumnType::Text, kOptional,
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
  CollectionSpec spec = baseSpec("daily_sleep", "PublicDailySleep", "daily");
  spec.streams.push_back(documentStream(
      spec.name, spec.openapi_schema, "daily sleep score and its contributors",
      {
          dayColumn("sleep score"),
          idColumn(),
          timestampColumn("daily sleep document (midnight of `day`)"),
          col("score", ColumnType::Integer, kOptional, "sleep score, 1-100; null when not computed"),
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
  CollectionSpec spec = baseSpec("daily_readiness", "PublicDailyReadiness", "daily");
  spec.streams.push_back(documentStream(
      spec.name, spec.openapi_schema, "daily readiness score and its contributors",
      {
          dayColumn("readiness score"),
          idColumn(),
          timestampColumn("daily readiness document (midnight of `day`)"),
          col("score", ColumnType::Integer, kOptional,
              "readiness score, 1-100; null when not computed"),
          col("temperature_deviation", ColumnType::Real, kOptional,
              "skin temperature deviation from the long-term baseline, degrees Celsius"),
          col("temperature_trend_deviation", ColumnType::Real, kOptional,
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
  CollectionSpec spec = baseSpec("daily_spo2", "PublicDailySpO2", "spo2Daily");
  spec.streams.push_back(documentStream(
      spec.name, spec.openapi_schema, "blood oxygen saturation (SpO2) during the night",
      {
          dayColumn("SpO2 values"),
          idColumn(),
          col("spo2_percentage.average", ColumnType::Real, kOptional,
              "average blood oxygen saturation during sleep, percent (0-100); null when "
              "`spo2_percentage` is null, 0 is a placeholder Oura sends without a measurement"),
          col("breathing_disturbance_index", ColumnType::Integer, kOptional,
              "breathing disturbance index (BDI) from detected SpO2 drops, 0-100 (lower is "
              "better); null when not computed"),
      }));
  return spec;
}

CollectionSpec dailyStress() {
  CollectionSpec spec = baseSpec("daily_stress", "PublicDailyStress", "daily");
  spec.streams.push_back(documentStream(
      spec.name, spec.openapi_schema, "daytime stress and recovery",
      {
          dayColumn("stress summary"),
          idColumn(),
          col("stress_high", ColumnType::Integer, kOptional,
              "time in the high stress zone (top quartile of the data), seconds"),
          col("recovery_high", ColumnType::Integer, kOptional,
              "time in the high recovery zone (bottom quartile of the data), seconds"),
          col("day_summary", ColumnType::Text, kOptional,
              "stress summary of the whole day: restored, normal or stressful (other values kept "
              "as sent); null when there is none"),
      }));
  return spec;
}

CollectionSpec dailyResilience() {
  CollectionSpec spec = baseSpec("daily_resilience", "DailyResilienceModel", "daily");
  spec.streams.push_back(documentStream(
      spec.name, spec.openapi_schema, "long-term resilience level and its contributors",
      {
          dayColumn("resilience record"),
          idColumn(),
          col("level", ColumnType::Text, kRequired,
              "resilience level: limited, adequate, solid, strong or exceptional (other values "
              "kept as sent)"),
          col("contributors.sleep_recovery", ColumnType::Real, kRequired,
              "resilience contributor: sleep recovery, 0-100 (a decimal, e.g. 46.2)"),
          col("contributors.daytime_recovery", ColumnType::Real, kRequired,
              "resilience contributor: daytime recovery, 0-100 (a decimal)"),
          col("contributors.stress", ColumnType::Real, kRequired,
              "resilience contributor: stress, 0-100 (a decimal)"),
      }));
  return spec;
}

CollectionSpec dailyCardiovascularAge() {
  CollectionSpec spec =
      baseSpec("daily_cardiovascular_age", "PublicDailyCardiovascularAge", "daily");
  spec.streams.push_back(documentStream(
      spec.name, spec.openapi_schema, "predicted cardiovascular (vascular) age",
      {
          dayColumn("prediction"),
          idColumn(),
          col("vascular_age", ColumnType::Integer, kOptional,
              "predicted vascular age, years (18-100)"),
          col("pulse_wave_velocity", ColumnType::Real, kOptional,
              "pulse wave velocity derived from the vascular age, metres per second"),
      }));
  return spec;
}

}  // namespace

std::vector<sdk::CollectionSpec> makeCollections() {
  std::vector<sdk::CollectionSpec> specs;
  specs.push_back(dailyActivity());
  specs.push_back(dailySleep());
  specs.push_back(dailyReadiness());
  specs.push_back(dailySpo2());
  specs.push_back(dailyStress());
  specs.push_back(dailyResilience());
  specs.push_back(dailyCardiovascularAge());
  return specs;
}

}  // namespace oura::endpoints::daily
