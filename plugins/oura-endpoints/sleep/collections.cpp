// Stream schemas of Oura's sleep collections. Every property of each OpenAPI document schema is
// a column (nested objects flattened with '_'), a child sample stream (PublicSample) or listed in
// `raw_only`; tests/integration/contract_test.cpp checks this against tests/fixtures/openapi.json.
#include "collections.hpp"

#include <oura_sdk/schema.hpp>

#include <string>
#include <utility>

namespace oura::endpoints::sleep {
namespace {

using sdk::CollectionSpec;
using sdk::Column;
using sdk::column;
using sdk::ColumnType;
using sdk::kOptional;
using sdk::kRequired;

Column seconds(const std::string& field, const std::string& meaning) {
  return column(field, ColumnType::Integer, kOptional,
                meaning + ", seconds; null when not computed");
}

Column phases(const std::string& field, const std::string& meaning) {
  return column(field, ColumnType::Text, kOptional,
                meaning +
                    ", one character each from `bedtime_start`: 1 deep sleep, 2 light sleep, "
                    "3 REM sleep, 4 awake; null when absent");
}

Column readinessContributor(const std::string& field, std::string meaning) {
  return column("readiness.contributors." + field, ColumnType::Integer, kOptional,
                "readiness contributor after this sleep period: " + std::move(meaning) +
                    ", 1-100 (higher is better); null when Oura could not compute it or the "
                    "period has no readiness");
}

CollectionSpec sleepPeriods() {
  CollectionSpec spec = sdk::collectionSpec("sleep", "PublicModifiedSleepModel", "daily");
  spec.streams.push_back(sdk::documentStream(
      spec.name,
      "sleep periods (long sleep, naps, rests), one row per period, several a day (OpenAPI "
      "PublicModifiedSleepModel)",
      {
          sdk::idColumn(
              "Oura's document id of the sleep period (a UUID); key (a day has several periods)"),
          column("day", ColumnType::Date, kRequired,
                 "day the sleep period counts for (YYYY-MM-DD, the user's local calendar day, as "
                 "Oura assigns it): a `late_nap` that ended after 6 p.m. counts for the next day"),
          column("type", ColumnType::Text, kOptional,
                 "type of the period: long_sleep (over 3 hours, counts for the daily scores), "
                 "sleep (a confirmed nap of 15 minutes to 3 hours), late_nap (a confirmed nap "
                 "that ended after 6 p.m., counts for the next day), rest (rejected by the "
                 "user), deleted (deleted by the user); other values kept as sent"),
          column("period", ColumnType::Integer, kRequired,
                 "Oura's (ECore's) sleep period identifier; real responses number the periods of "
                 "a day from 0"),
          sdk::localTimeColumn("bedtime_start", "start of the period (going to bed)"),
          sdk::localTimeColumn("bedtime_end", "end of the period (getting up)"),
          column("time_in_bed", ColumnType::Integer, kRequired,
                 "time in bed (bedtime_end - bedtime_start), seconds"),
          seconds("total_sleep_duration", "total sleep time (light + deep + REM)"),
          seconds("awake_time", "time awake in bed"),
          seconds("light_sleep_duration", "time in light sleep"),
          seconds("deep_sleep_duration", "time in deep sleep"),
          seconds("rem_sleep_duration", "time in REM sleep"),
          seconds("latency", "sleep latency: time it took to fall asleep after going to bed"),
          column("efficiency", ColumnType::Integer, kOptional,
                 "sleep efficiency (share of the time in bed spent asleep), percent, 1-100; null "
                 "when not computed"),
          column("average_breath", ColumnType::Real, kOptional,
                 "average breathing rate during sleep, breaths/min; null when not measured"),
          column("average_heart_rate", ColumnType::Real, kOptional,
                 "average heart rate during sleep (from 30-second samples, so not the app's "
                 "5-minute figure), bpm; null when not measured"),
          column("lowest_heart_rate", ColumnType::Integer, kOptional,
                 "lowest heart rate during sleep (from 30-second samples, so not the app's "
                 "5-minute figure), bpm; null when not measured"),
          column("average_hrv", ColumnType::Integer, kOptional,
                 "average heart rate variability (RMSSD) during sleep, ms; null when not measured"),
          column("restless_periods", ColumnType::Integer, kOptional,
                 "number of restless periods during sleep, count; null when not computed"),
          column("low_battery_alert", ColumnType::Boolean, kRequired,
                 "true when a low-battery alert occurred during the period"),
          column("readiness_score_delta", ColumnType::Integer, kOptional,
                 "effect of this period on the readiness score, points (may be negative); null "
                 "when it has none"),
          column("sleep_score_delta", ColumnType::Integer, kOptional,
                 "effect of this period on the sleep score, points (may be negative); null when it "
                 "has none"),
          column("readiness.score", ColumnType::Integer, kOptional,
                 "readiness score after this sleep period, 1-100; null when not computed or the "
                 "period has no readiness"),
          column("readiness.temperature_deviation", ColumnType::Real, kOptional,
                 "skin temperature deviation from the long-term baseline during this period, "
                 "degrees Celsius; null when not measured"),
          column("readiness.temperature_trend_deviation", ColumnType::Real, kOptional,
                 "skin temperature trend deviation (weighted 3-day average against the baseline), "
                 "degrees Celsius; null when not measured"),
          readinessContributor("activity_balance", "cumulative activity balance"),
          readinessContributor("body_temperature", "body temperature"),
          readinessContributor("hrv_balance", "heart rate variability balance"),
          readinessContributor("previous_day_activity", "previous day's activity"),
          readinessContributor("previous_night", "previous night's sleep"),
          readinessContributor("recovery_index",
                               "recovery index (when the resting heart rate settled)"),
          readinessContributor("resting_heart_rate", "resting heart rate"),
          readinessContributor("sleep_balance", "sleep balance over 2 weeks"),
          readinessContributor("sleep_regularity", "sleep regularity (absent in older responses)"),
          phases("sleep_phase_5_min", "sleep phase of each 5-minute slot of the period"),
          phases("sleep_phase_30_sec", "sleep phase of each 30-second slot of the period"),
          phases("app_sleep_phase_5_min",
                 "sleep phase of each 5-minute slot aligned with what the Oura app shows (to be "
                 "removed by Oura after a transition period)"),
          column("movement_30_sec", ColumnType::Text, kOptional,
                 "movement class of each 30-second slot of the period, one character each from "
                 "`bedtime_start`: 1 no motion, 2 restless, 3 tossing and turning, 4 active; null "
                 "when absent"),
          column("sleep_algorithm_version", ColumnType::Text, kOptional,
                 "sleep staging algorithm that computed the period: v1 (legacy) or v2 (current); "
                 "other values kept as sent"),
          column("sleep_analysis_reason", ColumnType::Text, kOptional,
                 "why the latest version of the period was created: foreground_sleep_analysis, "
                 "bedtime_edit, background_sleep_analysis or background_created_foreground_updated "
                 "(other values kept as sent); null when absent"),
          column("ring_id", ColumnType::Text, kOptional,
                 "Oura's encrypted identifier of the ring that recorded the period; null when "
                 "absent"),
      },
      {"id"}));
  spec.streams.push_back(sdk::sampleStream(
      spec.streams[0], "sleep_heart_rate", "heart_rate", ColumnType::Real,
      "average heart rate over the interval starting at `timestamp` (5 minutes in real "
      "responses), bpm; null when not measured"));
  spec.streams.push_back(sdk::sampleStream(
      spec.streams[0], "sleep_hrv", "hrv", ColumnType::Real,
      "heart rate variability (RMSSD) over the interval starting at `timestamp` (5 minutes in "
      "real responses), ms; null when not measured"));
  return spec;
}

CollectionSpec sleepTime() {
  CollectionSpec spec = sdk::collectionSpec("sleep_time", "PublicSleepTime", "daily");
  spec.streams.push_back(sdk::documentStream(
      spec.name, "Oura's bedtime recommendation, one row per day (OpenAPI PublicSleepTime)",
      {
          sdk::dayColumn("day the recommendation is for", sdk::KeyNote::Key),
          sdk::idColumn("Oura's document id (a UUID); once-a-day documents are keyed by day, so "
                        "not part of the key"),
          column("recommendation", ColumnType::Text, kOptional,
                 "recommended action: improve_efficiency, earlier_bedtime, later_bedtime, "
                 "earlier_wake_up_time, later_wake_up_time or follow_optimal_bedtime (other values "
                 "kept as sent); null when there is none"),
          column("status", ColumnType::Text, kOptional,
                 "state the recommendation is based on: not_enough_nights, "
                 "not_enough_recent_nights, bad_sleep_quality, only_recommended_found or "
                 "optimal_found (other values kept as sent); null when there is none"),
          column("optimal_bedtime.day_tz", ColumnType::Integer, kOptional,
                 "UTC offset of the day the window refers to, seconds (e.g. 3600 for +01:00); null "
                 "when there is no optimal bedtime window"),
          column("optimal_bedtime.start_offset", ColumnType::Integer, kOptional,
                 "start of the optimal bedtime window, seconds from local midnight (in "
                 "`optimal_bedtime_day_tz`; negative before midnight); null when there is no "
                 "window"),
          column("optimal_bedtime.end_offset", ColumnType::Integer, kOptional,
                 "end of the optimal bedtime window, seconds from local midnight (in "
                 "`optimal_bedtime_day_tz`; negative before midnight); null when there is no "
                 "window"),
      },
      {"day"}));
  return spec;
}

}  // namespace

std::vector<sdk::CollectionSpec> makeCollections() { return {sleepPeriods(), sleepTime()}; }

}  // namespace oura::endpoints::sleep
