// Tests of the `sleep` endpoint plugin: its collection declarations, the generic mapper on every
// recorded response of `sleep` and `sleep_time`, hand-made documents (every field set, every
// nullable field null, drift, wrong types), sample timestamps, and the built shared library.
// The OpenAPI contract and README/sample.toml are checked for every endpoint plugin at once by
// tests/integration/contract_test.cpp.
#include "../collections.hpp"

#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/errors.hpp>
#include <oura_sdk/plugin.hpp>
#include <oura_sdk/rows.hpp>

#include "mapping_support.hpp"

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Timestamp.h>
#include <boost/dll/shared_library.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace sdk = oura::sdk;
namespace fs = std::filesystem;
using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;
using sdk::ColumnType;
using sdk::Row;
using sdk::Value;

using namespace oura::test;

namespace {

const std::vector<sdk::CollectionSpec>& allSpecs() {
  static const std::vector<sdk::CollectionSpec> specs = oura::endpoints::sleep::makeCollections();
  return specs;
}

const sdk::CollectionSpec& specOf(const std::string& name) {
  for (const auto& spec : allSpecs()) {
    if (spec.name == name) return spec;
  }
  throw std::runtime_error("no collection " + name);
}

/// The sample series of `spec` with their stream index.
std::vector<std::size_t> sampleStreams(const sdk::CollectionSpec& spec) {
  std::vector<std::size_t> out;
  for (std::size_t s = 1; s < spec.streams.size(); ++s) {
    if (spec.streams[s].samples) out.push_back(s);
  }
  return out;
}

/// Checks the child rows of one sample series against the PublicSample they came from:
/// one row per item, the parent's key, `timestamp + i * interval` in the series' own offset,
/// the item's value (null stays null). No rows when the series is null or absent.
void expectSamples(const sdk::CollectionSpec& spec, std::size_t stream_index,
                   const Object::Ptr& doc, const std::vector<Row>& rows) {
  const auto& stream = spec.streams[stream_index];
  SCOPED_TRACE(stream.name);
  Var series;
  if (!findPath(doc, stream.samples->json_path, series) || series.isEmpty()) {
    EXPECT_TRUE(rows.empty()) << "a null series has no samples";
    return;
  }
  const auto sample = series.extract<Object::Ptr>();
  const auto items = sample->getArray("items");
  ASSERT_EQ(rows.size(), items->size()) << "one row per item";
  const auto start = instant(sample->getValue<std::string>("timestamp"));
  const double interval = sample->getValue<double>("interval");
  // The parent's key columns come first (here: one, the document's key).
  const auto& parent = spec.streams[0];
  const std::string key = parent.primary_key.at(0);
  Var key_json;
  ASSERT_TRUE(findPath(doc, parent.columns[parent.columnIndex(key)].json_path, key_json));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE("sample " + std::to_string(i));
    ASSERT_EQ(rows[i].size(), 3u);
    EXPECT_EQ(str(rows[i][0]), key_json.extract<std::string>());
    const auto at = instant(str(cell(stream, rows[i], "timestamp")));
    EXPECT_EQ(at.first - start.first, static_cast<Poco::Timestamp::TimeDiff>(
                                          std::llround(interval * static_cast<double>(i) * 1e6)));
    EXPECT_EQ(at.second, start.second) << "the series' own UTC offset is kept";
    expectValue(cell(stream, rows[i], "value"), items->get(static_cast<unsigned>(i)),
                stream.samples->value_type, stream.name + "[" + std::to_string(i) + "]");
  }
}

// ---------------------------------------------------------------------------------------------
// Hand-made documents per collection

struct Sample {
  std::string collection;
  std::string full;                     ///< every property set
  std::string nulls;                    ///< every nullable property null, the rest set
  std::vector<std::string> enum_paths;  ///< properties with an enum
  std::string required_not_key;         ///< a documented-required property that is not the key
};

const std::vector<Sample>& samples() {
  static const std::vector<Sample> list = {
      {"sleep",
       R"({"id":"s1","average_breath":14.5,"average_heart_rate":61.25,"average_hrv":38,
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
       R"({"id":"s2","average_breath":null,"average_heart_rate":null,"average_hrv":null,
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
       {"type", "sleep_algorithm_version", "sleep_analysis_reason"},
       "low_battery_alert"},
      {"sleep_time",
       R"({"id":"t1","day":"2024-10-10","optimal_bedtime":{"day_tz":7200,"start_offset":-3600,
           "end_offset":1800},"recommendation":"follow_optimal_bedtime",
           "status":"optimal_found"})",
       R"({"id":"t2","day":"2024-10-11","optimal_bedtime":null,"recommendation":null,
           "status":null})",
       {"recommendation", "status"},
       "id"},
  };
  return list;
}

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
    const auto& raw = doc.columns.back();
    EXPECT_EQ(raw.name, "raw");
    EXPECT_EQ(raw.type, ColumnType::Jsonb);
    EXPECT_EQ(raw.json_path, "$");
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
  const std::regex identifier("[a-z][a-z0-9_]*");
  for (const auto& spec : allSpecs()) {
    for (const auto& stream : spec.streams) {
      SCOPED_TRACE(stream.name);
      EXPECT_FALSE(stream.description.empty());
      EXPECT_TRUE(std::regex_match(stream.name, identifier));
      std::set<std::string> names;
      for (const auto& column : stream.columns) {
        EXPECT_FALSE(column.description.empty()) << column.name << " has no description";
        EXPECT_TRUE(std::regex_match(column.name, identifier)) << column.name;
        EXPECT_TRUE(names.insert(column.name).second) << "duplicate column " << column.name;
      }
      for (const auto& key : stream.primary_key) EXPECT_TRUE(names.count(key)) << key;
    }
  }
}

TEST(SleepCollections, EachCallBuildsIndependentSpecs) {
  auto a = oura::endpoints::sleep::makeCollections();
  const auto b = oura::endpoints::sleep::makeCollections();
  a[0].streams[0].columns.clear();
  a[1].streams.clear();
  EXPECT_FALSE(b[0].streams[0].columns.empty());
  EXPECT_FALSE(b[1].streams.empty());
}

// ---------------------------------------------------------------------------------------------
// Every recorded 200 response of these collections

TEST(SleepRecorded, EveryRecordedDocumentMapsToOneRowWithItsOwnValues) {
  const std::regex name_re(R"(^(sleep_time|sleep)__(list_.+|single)\.json$)");
  std::map<std::string, std::size_t> docs_per_collection;
  std::map<std::string, std::size_t> samples_per_stream;
  std::size_t files = 0;
  std::size_t warnings = 0;
  for (const auto& entry : fs::directory_iterator(fixtures() / "recorded")) {
    const std::string file = entry.path().filename().string();
    std::smatch m;
    if (!std::regex_match(file, m, name_re)) continue;
    SCOPED_TRACE(file);
    ++files;
    const auto& spec = specOf(m[1].str());
    const Var response = parseFile(entry.path());
    ASSERT_EQ(response.extract<Object::Ptr>()->getValue<int>("status"), 200);
    const auto docs = documentsOf(response.extract<Object::Ptr>()->get("body"));
    if (file.find("__list_empty_") != std::string::npos) {
      EXPECT_TRUE(docs.empty()) << "an empty list maps to zero rows";
      continue;
    }
    ASSERT_FALSE(docs.empty());
    for (std::size_t i = 0; i < docs.size(); ++i) {
      SCOPED_TRACE("document " + std::to_string(i));
      Collector out;
      ASSERT_NO_THROW(out = mapDoc(spec, docs[i]));
      ASSERT_EQ(out.stream(0).size(), 1u) << "one parent row per document";
      expectRowMatches(spec, docs[i], out.stream(0)[0]);
      // Warnings only for documented-required keys that are really absent (none here).
      EXPECT_EQ(out.warnings.size(), absentRequired(spec, docs[i]));
      warnings += out.warnings.size();
      ++docs_per_collection[spec.name];
      for (std::size_t s : sampleStreams(spec)) {
        expectSamples(spec, s, docs[i], out.stream(s));
        samples_per_stream[spec.streams[s].name] += out.stream(s).size();
      }
      EXPECT_LE(out.rows.size(), spec.streams.size())
          << "no rows for streams the collection does not declare";
    }
  }
  EXPECT_EQ(files, 6u) << "list, empty list and single of each collection";
  EXPECT_EQ(docs_per_collection["sleep"], 48u + 1u);
  EXPECT_EQ(docs_per_collection["sleep_time"], 19u + 1u);
  EXPECT_EQ(warnings, 0u) << "every recorded document has every documented-required key";
  // 33 of the 48 listed periods have samples (2329 each), plus the 96 of the single.
  EXPECT_EQ(samples_per_stream["sleep_heart_rate"], 2329u + 96u);
  EXPECT_EQ(samples_per_stream["sleep_hrv"], 2329u + 96u);
}

TEST(SleepRecorded, EmptyListsMapToZeroRows) {
  for (const char* file :
       {"sleep__list_empty_start_1_end_2.json", "sleep_time__list_empty_start_1_end_2.json"}) {
    SCOPED_TRACE(file);
    const Var response = parseFile(fixtures() / "recorded" / file);
    ASSERT_EQ(response.extract<Object::Ptr>()->getValue<int>("status"), 200);
    EXPECT_TRUE(recordedDocs(file).empty());
  }
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
// Hand-made documents, per collection

class SleepSample : public ::testing::TestWithParam<Sample> {};

TEST_P(SleepSample, EveryFieldSet) {
  const auto& spec = specOf(GetParam().collection);
  Object::Ptr doc = parseObject(GetParam().full);
  Collector out = mapDoc(spec, doc);
  EXPECT_TRUE(out.warnings.empty()) << out.warnings.front();
  ASSERT_EQ(out.stream(0).size(), 1u);
  const Row& row = out.stream(0)[0];
  expectRowMatches(spec, doc, row);
  for (std::size_t c = 0; c < row.size(); ++c) {
    EXPECT_FALSE(isNull(row[c])) << spec.streams[0].columns[c].name << " should be set";
  }
  for (std::size_t s : sampleStreams(spec)) {
    ASSERT_EQ(out.stream(s).size(), 3u);
    expectSamples(spec, s, doc, out.stream(s));
  }
}

TEST_P(SleepSample, EveryNullableFieldNull) {
  const auto& spec = specOf(GetParam().collection);
  Object::Ptr doc = parseObject(GetParam().nulls);
  Collector out = mapDoc(spec, doc);
  EXPECT_TRUE(out.warnings.empty()) << "null is not absent: no warning";
  ASSERT_EQ(out.stream(0).size(), 1u);
  const Row& row = out.stream(0)[0];
  expectRowMatches(spec, doc, row);
  for (std::size_t c = 0; c < row.size(); ++c) {
    const auto& column = spec.streams[0].columns[c];
    Var json;
    const bool present =
        column.json_path == "$" || (findPath(doc, column.json_path, json) && !json.isEmpty());
    EXPECT_EQ(isNull(row[c]), !present) << column.name;
    // Only documented-required columns are set in the all-null document.
    if (column.json_path != "$") {
      EXPECT_EQ(present, column.required) << column.name;
    }
  }
  for (std::size_t s : sampleStreams(spec)) EXPECT_TRUE(out.stream(s).empty());
}

TEST_P(SleepSample, DriftUnknownKeysUnknownEnumValuesAbsentRequiredKey) {
  const auto& spec = specOf(GetParam().collection);
  const auto& s = spec.streams[0];
  Object::Ptr doc = parseObject(GetParam().full);
  doc->remove(GetParam().required_not_key);
  doc->set("brand_new_field", parseText(R"({"nested":[1,2,3]})"));
  if (doc->has("readiness")) {
    doc->getObject("readiness")->getObject("contributors")->set("new_contributor", 42);
  }
  if (doc->has("optimal_bedtime")) doc->getObject("optimal_bedtime")->set("new_offset", 7);
  for (const auto& path : GetParam().enum_paths) setPath(doc, path, std::string("unheard_of"));
  Collector out;
  ASSERT_NO_THROW(out = mapDoc(spec, doc));
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_EQ(out.warnings[0], "required field '" + GetParam().required_not_key + "' is absent");
  ASSERT_EQ(out.stream(0).size(), 1u);
  const Row& row = out.stream(0)[0];
  expectRowMatches(spec, doc, row);
  EXPECT_TRUE(isNull(cell(s, row, GetParam().required_not_key)));
  const std::string raw = str(cell(s, row, "raw"));
  EXPECT_NE(raw.find("brand_new_field"), std::string::npos) << "unknown keys survive in raw";
  if (doc->has("readiness")) {
    EXPECT_NE(raw.find("new_contributor"), std::string::npos);
  }
  if (doc->has("optimal_bedtime")) {
    EXPECT_NE(raw.find("new_offset"), std::string::npos);
  }
  for (const auto& path : GetParam().enum_paths) {
    std::string column = path;
    std::replace(column.begin(), column.end(), '.', '_');
    EXPECT_EQ(str(cell(s, row, column)), "unheard_of") << "unknown enum values are kept as text";
  }
  for (std::size_t k : sampleStreams(spec)) EXPECT_EQ(out.stream(k).size(), 3u);
}

TEST_P(SleepSample, MissingOrNullKeyThrowsMappingError) {
  const auto& spec = specOf(GetParam().collection);
  const auto& key = spec.streams[0].primary_key.at(0);
  {
    Object::Ptr doc = parseObject(GetParam().full);
    doc->remove(key);
    EXPECT_THROW(mapDoc(spec, doc), sdk::MappingError);
  }
  {
    Object::Ptr doc = parseObject(GetParam().full);
    doc->set(key, Var());
    EXPECT_THROW(mapDoc(spec, doc), sdk::MappingError);
  }
  {
    Object::Ptr doc = parseObject(GetParam().full);
    doc->set(key, parseText(R"({"x":1})"));  // not text / not a date: no usable key
    EXPECT_THROW(mapDoc(spec, doc), sdk::MappingError);
  }
}

TEST_P(SleepSample, WrongTypesBecomeNullWithAWarning) {
  const auto& spec = specOf(GetParam().collection);
  const auto& s = spec.streams[0];
  for (const auto& column : s.columns) {
    if (column.json_path == "$") continue;
    if (std::find(s.primary_key.begin(), s.primary_key.end(), column.name) != s.primary_key.end()) {
      continue;  // a key of the wrong type is a MappingError (above)
    }
    SCOPED_TRACE(column.name);
    Object::Ptr doc = parseObject(GetParam().full);
    Var wrong;
    switch (column.type) {
      case ColumnType::Integer:
        wrong = std::string("many");
        break;
      case ColumnType::Real:
        wrong = std::string("warm");
        break;
      case ColumnType::Text:
        wrong = parseText(R"({"x":1})");
        break;
      case ColumnType::Date:
        wrong = std::string("yesterday");
        break;
      case ColumnType::Timestamptz:
        wrong = std::string("not a timestamp");
        break;
      case ColumnType::Boolean:
        wrong = std::string("yes");
        break;
      case ColumnType::Jsonb:
        continue;
    }
    setPath(doc, column.json_path, wrong);
    Collector out;
    ASSERT_NO_THROW(out = mapDoc(spec, doc));
    ASSERT_EQ(out.stream(0).size(), 1u);
    EXPECT_TRUE(isNull(cell(s, out.stream(0)[0], column.name)));
    ASSERT_EQ(out.warnings.size(), 1u);
    EXPECT_NE(out.warnings[0].find("'" + column.json_path + "'"), std::string::npos)
        << out.warnings[0];
  }
}

INSTANTIATE_TEST_SUITE_P(Collections, SleepSample, ::testing::ValuesIn(samples()),
                         [](const ::testing::TestParamInfo<Sample>& info) {
                           return info.param.collection;
                         });

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
  const char* dir = std::getenv("OURA_PLUGIN_DIR");
  ASSERT_NE(dir, nullptr);
  const fs::path file = fs::path(dir) / "oura-endpoint-sleep.so";
  ASSERT_TRUE(fs::exists(file)) << file;
  boost::dll::shared_library library(
      file.string(), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  ASSERT_TRUE(library.has("oura_plugin_v1"));
  const auto* descriptor =
      static_cast<const sdk::PluginDescriptor*>(library.get<const void*>("oura_plugin_v1"));
  ASSERT_NE(descriptor, nullptr);
  EXPECT_EQ(descriptor->magic, sdk::kDescriptorMagic);
  EXPECT_EQ(descriptor->api_version, sdk::kApiVersion);
  EXPECT_STREQ(descriptor->fingerprint, OURA_SDK_BUILD_FINGERPRINT);
  EXPECT_EQ(descriptor->kind, sdk::PluginKind::Endpoint);
  EXPECT_STREQ(descriptor->name, "sleep");
  EXPECT_STREQ(descriptor->version, "0.1.0");
  EXPECT_GT(std::strlen(descriptor->description), 0u);
  EXPECT_TRUE(descriptor->config_schema().empty());

  const sdk::PluginContext first{"sleep", sdk::Logger("oura.endpoint.sleep"), sdk::PluginConfig()};
  const sdk::PluginContext second{"sleep2", sdk::Logger("oura.endpoint.sleep2"),
                                  sdk::PluginConfig()};
  std::unique_ptr<sdk::Plugin> a(descriptor->create(first));
  std::unique_ptr<sdk::Plugin> b(descriptor->create(second));
  auto* ea = dynamic_cast<sdk::EndpointPlugin*>(a.get());
  auto* eb = dynamic_cast<sdk::EndpointPlugin*>(b.get());
  ASSERT_NE(ea, nullptr);
  ASSERT_NE(eb, nullptr);
  ASSERT_EQ(ea->collections().size(), 2u);
  ASSERT_EQ(eb->collections().size(), 2u);
  EXPECT_EQ(&ea->collections(), &ea->collections()) << "built once per instance";
  EXPECT_NE(&ea->collections(), &eb->collections()) << "no state shared between instances";
  EXPECT_NE(&ea->collections()[0].streams[0], &eb->collections()[0].streams[0]);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(ea->collections()[i].name, allSpecs()[i].name);
    EXPECT_EQ(ea->collections()[i].streams.size(), allSpecs()[i].streams.size());
    EXPECT_EQ(ea->collections()[i].streams[0].columns.size(),
              allSpecs()[i].streams[0].columns.size());
  }
  // mapDocument through the plugin (the default: mapByPaths).
  const auto doc = recordedDocs("sleep__single.json").at(0);
  Collector out;
  ea->mapDocument(ea->collections()[0], *doc, toJson(doc), out);
  EXPECT_EQ(out.stream(0).size(), 1u);
  EXPECT_EQ(out.stream(1).size(), 96u);
  EXPECT_EQ(out.stream(2).size(), 96u);
  // Destroying one instance leaves the other usable.
  a.reset();
  const auto time_doc = recordedDocs("sleep_time__single.json").at(0);
  Collector out_b;
  eb->mapDocument(eb->collections()[1], *time_doc, toJson(time_doc), out_b);
  EXPECT_EQ(out_b.stream(0).size(), 1u);
  // A MappingError thrown inside the plugin is caught here as the SDK type.
  Object::Ptr no_id = parseObject(R"({"day":"2024-10-10"})");
  EXPECT_THROW(eb->mapDocument(eb->collections()[0], *no_id, "{}", out_b), sdk::MappingError);
  b.reset();
}

}  // namespace
