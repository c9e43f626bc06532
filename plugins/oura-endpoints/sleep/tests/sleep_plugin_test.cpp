// Tests of the `sleep` endpoint plugin: its collection declarations, the generic mapper on every
// recorded response of `sleep` and `sleep_time`, hand-made documents (every field set, every
// nullable field null, drift, wrong types: the shared suite HandMadeDocument), sample
// timestamps, and the built shared library. The OpenAPI contract and README/sample.toml are
// checked for every endpoint plugin at once by tests/integration/contract_test.cpp; the checks
// every endpoint plugin shares are in tests/support/plugin_test_support.hpp.
#include "../collections.hpp"

#include <oura_sdk/errors.hpp>

#include "plugin_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace oura::test;

namespace {

const std::vector<sdk::CollectionSpec>& allSpecs() {
  static const std::vector<sdk::CollectionSpec> specs = oura::endpoints::sleep::makeCollections();
  return specs;
}

const sdk::CollectionSpec& specOf(const std::string& name) { return specNamed(allSpecs(), name); }

// ---------------------------------------------------------------------------------------------
// Hand-made documents per collection

const std::vector<HandMadeDocuments>& samples() {
  static const std::vector<HandMadeDocuments> list = {
      {.collection = "sleep",
       .full = R"({"id":"s1","average_breath":14.5,"average_heart_rate":61.25,"average_hrv":38,
           "awake_time":1800,"bedtime_end":"2024-10-27T07:00:00+01:00",
           "bedtime_start":"2024-10-26T23:30:00+02:00","day":"2024-10-27",
           "deep_sleep_duration":4200,"efficiency":88,
           "heart_rate":{"interval":300.0,"items":[58.0,null,61.5],
                         "timestamp":"2024-10-26T23:30:00.000+02:00"},
           "hrv":{"interval":300.0,"items":[40.0,42.0,null],
                  "timestamp":"2024-10-26T23:30:00.000+02:00"},
           "latency":600,"light_sleep_duration":14000,"low_battery_alert":true,
           "lowest_heart_rate":52,"movement_30_sec":"1112111121","period":0,
           "readiness":{"contributors":{"activity_balance":91,"body_temperature":100,
                        "hrv_balance":64,"previous_day_activity":91,"previous_night":58,
                        "recovery_index":23,"resting_heart_rate":88,"sleep_balance":78,
                        "sleep_regularity":80},
                        "score":71,"temperature_deviation":-0.05,
                        "temperature_trend_deviation":0.5},
           "readiness_score_delta":-2,"rem_sleep_duration":5400,"restless_periods":120,
           "sleep_algorithm_version":"v2","sleep_analysis_reason":"bedtime_edit",
           "sleep_phase_30_sec":"4442221111","sleep_phase_5_min":"4211","sleep_score_delta":3,
           "time_in_bed":30600,"total_sleep_duration":23600,"type":"long_sleep",
           "ring_id":"ring-xyz","app_sleep_phase_5_min":"4221"})",
       .nulls = R"({"id":"s2","average_breath":null,"average_heart_rate":null,"average_hrv":null,
           "awake_time":null,"bedtime_end":"2024-10-10T22:53:31+02:00",
           "bedtime_start":"2024-10-10T22:37:30+02:00","day":"2024-10-11",
           "deep_sleep_duration":null,"efficiency":null,"heart_rate":null,"hrv":null,
           "latency":null,"light_sleep_duration":null,"low_battery_alert":false,
           "lowest_heart_rate":null,"movement_30_sec":null,"period":0,"readiness":null,
           "readiness_score_delta":null,"rem_sleep_duration":null,"restless_periods":null,
           "sleep_algorithm_version":null,"sleep_analysis_reason":null,
           "sleep_phase_30_sec":null,"sleep_phase_5_min":null,"sleep_score_delta":null,
           "time_in_bed":961,"total_sleep_duration":null,"type":null,"ring_id":null,
           "app_sleep_phase_5_min":null})",
       .drop_required = "low_battery_alert",
       .enum_paths = {"type", "sleep_algorithm_version", "sleep_analysis_reason"},
       .unknown_keys = {"readiness.contributors.new_contributor"}},
      {.collection = "sleep_time",
       .full = R"({"id":"t1","day":"2024-10-10","optimal_bedtime":{"day_tz":7200,
           "start_offset":-3600,"end_offset":1800},"recommendation":"follow_optimal_bedtime",
           "status":"optimal_found"})",
       .nulls = R"({"id":"t2","day":"2024-10-11","optimal_bedtime":null,"recommendation":null,
           "status":null})",
       .drop_required = "id",
       .enum_paths = {"recommendation", "status"},
       .unknown_keys = {"optimal_bedtime.new_offset"}},
  };
  return list;
}

INSTANTIATE_TEST_SUITE_P(Sleep, HandMadeDocument,
                         ::testing::ValuesIn(handMadeCases(allSpecs(), samples())),
                         handMadeCaseName);

// ---------------------------------------------------------------------------------------------
// Collection declarations

TEST(SleepCollections, DeclaresSleepAndSleepTime) {
  const auto& specs = allSpecs();
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].name, "sleep");
  EXPECT_EQ(specs[0].openapi_schema, "PublicModifiedSleepModel");
  EXPECT_EQ(specs[1].name, "sleep_time");
  EXPECT_EQ(specs[1].openapi_schema, "PublicSleepTime");
  for (const auto& spec : specs) {
    SCOPED_TRACE(spec.name);
    EXPECT_EQ(spec.path, "/v2/usercollection/" + spec.name);
    EXPECT_EQ(spec.strategy, sdk::SyncStrategy::DateWindow);
    EXPECT_EQ(spec.day_field, "day");
    EXPECT_FALSE(spec.bare_object);
    EXPECT_EQ(spec.max_window_days, 365);
    EXPECT_EQ(spec.scope, "daily");
    EXPECT_TRUE(spec.raw_only.empty()) << "every property is a column or a sample stream";
    ASSERT_FALSE(spec.streams.empty());
    const auto& doc = spec.streams[0];
    EXPECT_EQ(doc.name, spec.name);
    EXPECT_FALSE(doc.samples.has_value());
    EXPECT_EQ(doc.columns.at(doc.columnIndex("day")).type, ColumnType::Date);
    EXPECT_EQ(doc.columns.at(doc.columnIndex("id")).type, ColumnType::Text);
    expectRawColumnLast(doc);
  }
  // Several sleep periods a day: keyed by id. One sleep_time a day: keyed by day.
  EXPECT_EQ(specs[0].streams[0].primary_key, std::vector<std::string>{"id"});
  EXPECT_EQ(specs[1].streams[0].primary_key, std::vector<std::string>{"day"});
  EXPECT_EQ(specs[1].streams.size(), 1u);
}

TEST(SleepCollections, SleepHasHeartRateAndHrvChildStreams) {
  const auto& spec = specOf("sleep");
  ASSERT_EQ(spec.streams.size(), 3u);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"sleep_heart_rate", "heart_rate"}, {"sleep_hrv", "hrv"}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& child = spec.streams[i + 1];
    SCOPED_TRACE(child.name);
    EXPECT_EQ(child.name, expected[i].first);
    ASSERT_TRUE(child.samples.has_value());
    EXPECT_EQ(child.samples->json_path, expected[i].second);
    EXPECT_EQ(child.samples->value_type, ColumnType::Real);
    ASSERT_EQ(child.columns.size(), 3u);
    EXPECT_EQ(child.columns[0].name, "sleep_id");
    EXPECT_EQ(child.columns[0].type, ColumnType::Text);
    EXPECT_EQ(child.columns[0].json_path, "id");
    EXPECT_EQ(child.columns[1].name, "timestamp");
    EXPECT_EQ(child.columns[1].type, ColumnType::Timestamptz);
    EXPECT_EQ(child.columns[2].name, "value");
    EXPECT_EQ(child.columns[2].type, ColumnType::Real);
    EXPECT_EQ(child.primary_key, (std::vector<std::string>{"sleep_id", "timestamp"}));
  }
  EXPECT_NE(spec.streams[1].columns[2].description.find("bpm"), std::string::npos);
  EXPECT_NE(spec.streams[2].columns[2].description.find("ms"), std::string::npos);
}

TEST(SleepCollections, NestedObjectsAreFlattenedIntoNamedColumns) {
  const auto& sleep = specOf("sleep").streams[0];
  for (const char* name :
       {"readiness_score", "readiness_temperature_deviation",
        "readiness_temperature_trend_deviation", "readiness_contributors_activity_balance",
        "readiness_contributors_body_temperature", "readiness_contributors_hrv_balance",
        "readiness_contributors_previous_day_activity", "readiness_contributors_previous_night",
        "readiness_contributors_recovery_index", "readiness_contributors_resting_heart_rate",
        "readiness_contributors_sleep_balance", "readiness_contributors_sleep_regularity"}) {
    EXPECT_NO_THROW(sleep.columnIndex(name)) << name;
  }
  EXPECT_EQ(sleep.columns[sleep.columnIndex("readiness_contributors_hrv_balance")].json_path,
            "readiness.contributors.hrv_balance");
  const auto& time = specOf("sleep_time").streams[0];
  for (const char* name :
       {"optimal_bedtime_day_tz", "optimal_bedtime_start_offset", "optimal_bedtime_end_offset"}) {
    EXPECT_NO_THROW(time.columnIndex(name)) << name;
  }
}

TEST(SleepCollections, EveryStreamAndColumnIsDescribedAndNamedSafely) {
  expectStreamsDescribedAndNamedSafely(allSpecs());
}

TEST(SleepCollections, EachCallBuildsIndependentSpecs) {
  expectEachCallBuildsIndependentSpecs(&oura::endpoints::sleep::makeCollections);
}

// ---------------------------------------------------------------------------------------------
// Every recorded 200 response of these collections

TEST(SleepRecorded, EveryRecordedDocumentMapsToOneRowWithItsOwnValues) {
  RecordedTally tally;
  ASSERT_NO_FATAL_FAILURE(mapEveryRecording(allSpecs(), tally));
  EXPECT_EQ(tally.files, 6u) << "list, empty list and single of each collection";
  EXPECT_EQ(tally.collections.size(), allSpecs().size());
  EXPECT_EQ(tally.documents["sleep"], 48u + 1u);
  EXPECT_EQ(tally.documents["sleep_time"], 19u + 1u);
  EXPECT_EQ(tally.totalWarnings(), 0u)
      << "every recorded document has every documented-required key";
  // 33 of the 48 listed periods have samples (2329 each), plus the 96 of the single.
  EXPECT_EQ(tally.samples["sleep_heart_rate"], 2329u + 96u);
  EXPECT_EQ(tally.samples["sleep_hrv"], 2329u + 96u);
}

TEST(SleepRecorded, SleepSingleAndItsSamples) {
  const auto& spec = specOf("sleep");
  const auto docs = recordedDocs("sleep__single.json");
  ASSERT_EQ(docs.size(), 1u);
  Collector out = mapDoc(spec, docs[0]);
  EXPECT_TRUE(out.warnings.empty());
  const auto& s = spec.streams[0];
  ASSERT_EQ(out.stream(0).size(), 1u);
  const Row& row = out.stream(0)[0];
  EXPECT_EQ(str(cell(s, row, "id")), "6e463582-f91e-4d64-90e2-74d0f8cacd7c");
  EXPECT_EQ(str(cell(s, row, "day")), "2024-10-10");
  EXPECT_EQ(str(cell(s, row, "type")), "long_sleep");
  EXPECT_EQ(integer(cell(s, row, "period")), 0);
  EXPECT_EQ(str(cell(s, row, "bedtime_start")), "2024-10-10T01:01:59+02:00");
  EXPECT_EQ(str(cell(s, row, "bedtime_end")), "2024-10-10T09:04:12+02:00");
  EXPECT_EQ(integer(cell(s, row, "time_in_bed")), 28933);
  EXPECT_EQ(integer(cell(s, row, "total_sleep_duration")), 23220);
  EXPECT_DOUBLE_EQ(real(cell(s, row, "average_breath")), 14.5);
  EXPECT_DOUBLE_EQ(real(cell(s, row, "average_heart_rate")), 71.25);
  EXPECT_EQ(integer(cell(s, row, "average_hrv")), 38);
  EXPECT_EQ(integer(cell(s, row, "lowest_heart_rate")), 60);
  EXPECT_EQ(std::get<bool>(cell(s, row, "low_battery_alert")), false);
  EXPECT_EQ(integer(cell(s, row, "readiness_score")), 71);
  EXPECT_DOUBLE_EQ(real(cell(s, row, "readiness_temperature_deviation")), -0.05);
  EXPECT_EQ(integer(cell(s, row, "readiness_contributors_recovery_index")), 23);
  EXPECT_TRUE(isNull(cell(s, row, "readiness_contributors_sleep_regularity")))
      << "absent in real responses";
  EXPECT_EQ(str(cell(s, row, "sleep_algorithm_version")), "v2");
  EXPECT_EQ(str(cell(s, row, "sleep_phase_5_min")).size(), 97u);
  EXPECT_EQ(str(cell(s, row, "movement_30_sec")).size(), 965u);
  for (const char* absent :
       {"ring_id", "app_sleep_phase_5_min", "sleep_phase_30_sec", "sleep_analysis_reason"}) {
    EXPECT_TRUE(isNull(cell(s, row, absent))) << absent << " is not in the recording";
  }
  EXPECT_EQ(toJson(parseText(str(cell(s, row, "raw")))), toJson(docs[0]));

  // heart_rate and hrv: 96 samples each, 5 minutes apart from 01:01:59+02:00.
  const auto& hr = spec.streams[1];
  const auto& rows = out.stream(1);
  ASSERT_EQ(rows.size(), 96u);
  ASSERT_EQ(out.stream(2).size(), 96u);
  EXPECT_EQ(str(cell(hr, rows[0], "sleep_id")), "6e463582-f91e-4d64-90e2-74d0f8cacd7c");
  EXPECT_EQ(str(cell(hr, rows[0], "timestamp")), "2024-10-10T01:01:59+02:00");
  EXPECT_EQ(str(cell(hr, rows[1], "timestamp")), "2024-10-10T01:06:59+02:00");
  EXPECT_EQ(str(cell(hr, rows[95], "timestamp")), "2024-10-10T08:56:59+02:00");
  EXPECT_DOUBLE_EQ(real(cell(hr, rows[0], "value")), 76.0);
  EXPECT_DOUBLE_EQ(real(cell(spec.streams[2], out.stream(2)[0], "value")), 12.0);
  expectSamples(spec, 1, docs[0], out.stream(1));
  expectSamples(spec, 2, docs[0], out.stream(2));
}

TEST(SleepRecorded, SeveralPeriodsADayKeyedById) {
  const auto& spec = specOf("sleep");
  const auto& s = spec.streams[0];
  const auto docs = recordedDocs("sleep__list_2024-10-09_to_2024-11-03.json");
  ASSERT_EQ(docs.size(), 48u);
  std::set<std::string> ids;
  std::map<std::string, std::size_t> per_day;
  std::map<std::string, std::size_t> types;
  std::size_t without_samples = 0;
  std::size_t null_items = 0;
  std::set<std::string> offsets;
  for (const auto& doc : docs) {
    Collector out = mapDoc(spec, doc);
    const Row& row = out.stream(0).at(0);
    ids.insert(str(cell(s, row, "id")));
    ++per_day[str(cell(s, row, "day"))];
    ++types[str(cell(s, row, "type"))];
    if (out.stream(1).empty()) {
      ++without_samples;
      EXPECT_TRUE(out.stream(2).empty()) << "heart_rate and hrv are null together";
    }
    for (const auto& sample : out.stream(1)) null_items += isNull(sample[2]) ? 1 : 0;
    for (const auto& sample : out.stream(1)) offsets.insert(str(sample[1]).substr(19));
  }
  EXPECT_EQ(ids.size(), 48u) << "`id` is unique: a usable key";
  EXPECT_EQ(per_day.size(), 22u);
  EXPECT_EQ(std::max_element(per_day.begin(), per_day.end(),
                             [](const auto& a, const auto& b) { return a.second < b.second; })
                ->second,
            6u)
      << "up to 6 periods a day: `day` is not a key";
  EXPECT_EQ(types["long_sleep"], 22u);
  EXPECT_EQ(types["sleep"], 25u);
  EXPECT_EQ(types["rest"], 1u);
  EXPECT_EQ(without_samples, 15u);
  EXPECT_EQ(null_items, 258u) << "null heart rate samples stay NULL";
  // Across the DST change the samples keep each document's own offset.
  EXPECT_EQ(offsets, (std::set<std::string>{"+01:00", "+02:00"}));
}

TEST(SleepRecorded, SleepTimeIsOnceADaySoKeyedByDay) {
  const auto& spec = specOf("sleep_time");
  const auto& s = spec.streams[0];
  const auto docs = recordedDocs("sleep_time__list_2024-10-09_to_2024-11-03.json");
  ASSERT_EQ(docs.size(), 19u);
  std::set<std::string> days;
  for (const auto& doc : docs) {
    Collector out = mapDoc(spec, doc);
    EXPECT_TRUE(out.warnings.empty());
    const Row& row = out.stream(0).at(0);
    days.insert(str(cell(s, row, "day")));
    EXPECT_FALSE(isNull(cell(s, row, "id")));
    EXPECT_EQ(str(cell(s, row, "recommendation")), "earlier_bedtime");
    EXPECT_EQ(str(cell(s, row, "status")), "only_recommended_found");
    for (const char* c :
         {"optimal_bedtime_day_tz", "optimal_bedtime_start_offset", "optimal_bedtime_end_offset"}) {
      EXPECT_TRUE(isNull(cell(s, row, c))) << "optimal_bedtime is null in every recording";
    }
  }
  EXPECT_EQ(days.size(), 19u) << "one document per day: `day` is a usable key";
  const auto single = recordedDocs("sleep_time__single.json");
  Collector out = mapDoc(spec, single.at(0));
  EXPECT_EQ(str(cell(s, out.stream(0).at(0), "day")), "2024-10-10");
  EXPECT_EQ(str(cell(s, out.stream(0).at(0), "id")), "9ccf6574-d913-43b4-8cfa-d52ca7717ac6");
}

// ---------------------------------------------------------------------------------------------
// Sample timestamps and nested objects of hand-made documents

TEST(SleepSampleTimestamps, KeepTheSeriesOffsetAcrossADaylightSavingChange) {
  // The night CEST ends (2024-10-27 03:00 local): samples stay in the series' own +02:00.
  const auto& spec = specOf("sleep");
  Object::Ptr doc = parseObject(samples()[0].full);
  doc->set("heart_rate", parseText(R"({"interval":3600,"items":[60.0,null,55.5,57],
                                       "timestamp":"2024-10-27T01:30:00.000+02:00"})"));
  doc->set("hrv", parseText(R"({"interval":0.5,"items":[null,30.0],
                                "timestamp":"2024-10-27T01:30:00Z"})"));
  Collector out = mapDoc(spec, doc);
  EXPECT_TRUE(out.warnings.empty());
  const auto& hr = spec.streams[1];
  const auto& rows = out.stream(1);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(str(cell(hr, rows[0], "timestamp")), "2024-10-27T01:30:00+02:00");
  EXPECT_EQ(str(cell(hr, rows[1], "timestamp")), "2024-10-27T02:30:00+02:00");
  EXPECT_EQ(str(cell(hr, rows[2], "timestamp")), "2024-10-27T03:30:00+02:00");
  EXPECT_EQ(str(cell(hr, rows[3], "timestamp")), "2024-10-27T04:30:00+02:00");
  EXPECT_DOUBLE_EQ(real(cell(hr, rows[0], "value")), 60.0);
  EXPECT_TRUE(isNull(cell(hr, rows[1], "value"))) << "a null sample stays null";
  EXPECT_DOUBLE_EQ(real(cell(hr, rows[2], "value")), 55.5);
  EXPECT_DOUBLE_EQ(real(cell(hr, rows[3], "value")), 57.0) << "an integer item is widened";
  for (const auto& row : rows) EXPECT_EQ(str(row[0]), "s1");
  const auto& hrv = spec.streams[2];
  ASSERT_EQ(out.stream(2).size(), 2u);
  EXPECT_EQ(str(cell(hrv, out.stream(2)[0], "timestamp")), "2024-10-27T01:30:00+00:00");
  EXPECT_EQ(str(cell(hrv, out.stream(2)[1], "timestamp")), "2024-10-27T01:30:00.500+00:00");
  EXPECT_TRUE(isNull(cell(hrv, out.stream(2)[0], "value")));
  expectSamples(spec, 1, doc, out.stream(1));
  expectSamples(spec, 2, doc, out.stream(2));
}

TEST(SleepSampleTimestamps, AReadinessObjectWithNullMembersGivesNullColumns) {
  const auto& spec = specOf("sleep");
  Object::Ptr doc = parseObject(samples()[0].full);
  doc->set("readiness", parseText(R"({"contributors":{"activity_balance":null,
      "hrv_balance":null},"score":null,"temperature_deviation":null,
      "temperature_trend_deviation":null})"));
  Collector out = mapDoc(spec, doc);
  EXPECT_TRUE(out.warnings.empty()) << "nothing under readiness is documented-required";
  const Row& row = out.stream(0).at(0);
  expectRowMatches(spec, doc, row);
  for (const auto& column : spec.streams[0].columns) {
    if (column.json_path.rfind("readiness.", 0) == 0) {
      EXPECT_TRUE(isNull(cell(spec.streams[0], row, column.name))) << column.name;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The built shared library

TEST(SleepPluginLibrary, LoadsAndCreatesIndependentInstances) {
  LoadedEndpointPlugin plugin;
  ASSERT_NO_FATAL_FAILURE(loadEndpointPlugin("sleep", allSpecs(), plugin));
  // mapDocument through the plugin (the default: mapByPaths).
  Collector out = mapThrough(*plugin.first, 0, recordedDocs("sleep__single.json").at(0));
  EXPECT_EQ(out.stream(0).size(), 1u);
  EXPECT_EQ(out.stream(1).size(), 96u);
  EXPECT_EQ(out.stream(2).size(), 96u);
  // Destroying one instance leaves the other usable.
  plugin.first_instance.reset();
  Collector out_b = mapThrough(*plugin.second, 1, recordedDocs("sleep_time__single.json").at(0));
  EXPECT_EQ(out_b.stream(0).size(), 1u);
  // A MappingError thrown inside the plugin is caught here as the SDK type.
  EXPECT_THROW(mapThrough(*plugin.second, 0, parseObject(R"({"day":"2024-10-10"})")),
               sdk::MappingError);
}

}  // namespace
