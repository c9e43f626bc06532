// Tests of the `daily` endpoint plugin: its collection specs against the OpenAPI contract, the
// generic mapper on every recorded response of these collections, hand-made documents (every
// field set, every nullable field null, drift, wrong types), and the built shared library.
#include "../collections.hpp"

#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/errors.hpp>
#include <oura_sdk/plugin.hpp>
#include <oura_sdk/rows.hpp>

#include "mapping_support.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Timestamp.h>
#include <boost/dll/shared_library.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
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
  static const std::vector<sdk::CollectionSpec> specs = oura::endpoints::daily::makeCollections();
  return specs;
}

const sdk::CollectionSpec& specOf(const std::string& name) {
  for (const auto& spec : allSpecs()) {
    if (spec.name == name) return spec;
  }
  throw std::runtime_error("no collection " + name);
}

// ---------------------------------------------------------------------------------------------
// Hand-made documents per collection

struct Sample {
  std::string collection;
  std::string full;    ///< every property set
  std::string nulls;   ///< every nullable property null, the rest set
  std::string enum_path;  ///< a property with an enum, empty when none
};

const std::vector<Sample>& samples() {
  static const std::vector<Sample> list = {
      {"daily_activity",
       R"({"id":"a1","class_5_min":"0011223344550","score":82,"active_calories":512,
           "average_met_minutes":1.6875,"contributors":{"meet_daily_targets":43,
           "move_every_hour":100,"recovery_time":96,"stay_active":78,"training_frequency":71,
           "training_volume":98},"equivalent_walking_distance":9876,
           "high_activity_met_minutes":12,"high_activity_time":300,"inactivity_alerts":2,
           "low_activity_met_minutes":150,"low_activity_time":12000,
           "medium_activity_met_minutes":90,"medium_activity_time":1500,
           "met":{"interval":60.0,"items":[1.1,null,2.5],"timestamp":"2024-03-31T04:00:00.000+02:00"},
           "meters_to_target":-120,"non_wear_time":600,"resting_time":30000,
           "sedentary_met_minutes":8,"sedentary_time":36000,"steps":10234,"target_calories":450,
           "target_meters":9000,"total_calories":2600,"day":"2024-03-31",
           "timestamp":"2024-03-31T04:00:00+02:00"})",
       R"({"id":"a2","class_5_min":null,"score":null,"active_calories":0,
           "average_met_minutes":0.0,"contributors":{"meet_daily_targets":null,
           "move_every_hour":null,"recovery_time":null,"stay_active":null,
           "training_frequency":null,"training_volume":null},"equivalent_walking_distance":0,
           "high_activity_met_minutes":0,"high_activity_time":0,"inactivity_alerts":0,
           "low_activity_met_minutes":0,"low_activity_time":0,"medium_activity_met_minutes":0,
           "medium_activity_time":0,"met":{"interval":60.0,"items":[null,null],
           "timestamp":"2024-04-01T04:00:00.000+02:00"},"meters_to_target":0,"non_wear_time":86400,
           "resting_time":0,"sedentary_met_minutes":0,"sedentary_time":0,"steps":0,
           "target_calories":0,"target_meters":0,"total_calories":0,"day":"2024-04-01",
           "timestamp":"2024-04-01T04:00:00+02:00"})",
       ""},
      {"daily_sleep",
       R"({"id":"s1","contributors":{"deep_sleep":45,"efficiency":98,"latency":99,"rem_sleep":95,
           "restfulness":66,"timing":58,"total_sleep":74},"day":"2024-11-11","score":75,
           "timestamp":"2024-11-11T00:00:00+00:00"})",
       R"({"id":"s2","contributors":{"deep_sleep":null,"efficiency":null,"latency":null,
           "rem_sleep":null,"restfulness":null,"timing":null,"total_sleep":null},
           "day":"2024-11-12","score":null,"timestamp":"2024-11-12T00:00:00+00:00"})",
       ""},
      {"daily_readiness",
       R"({"id":"r1","contributors":{"activity_balance":94,"body_temperature":97,
           "hrv_balance":95,"previous_day_activity":91,"previous_night":77,"recovery_index":64,
           "resting_heart_rate":92,"sleep_balance":92,"sleep_regularity":88},"day":"2024-11-11",
           "score":86,"temperature_deviation":-0.25,"temperature_trend_deviation":0.13,
           "timestamp":"2024-11-11T00:00:00-07:00"})",
       R"({"id":"r2","contributors":{"activity_balance":null,"body_temperature":null,
           "hrv_balance":null,"previous_day_activity":null,"previous_night":null,
           "recovery_index":null,"resting_heart_rate":null,"sleep_balance":null,
           "sleep_regularity":null},"day":"2024-11-12","score":null,"temperature_deviation":null,
           "temperature_trend_deviation":null,"timestamp":"2024-11-12T00:00:00+10:00"})",
       ""},
      {"daily_spo2",
       R"({"id":"o1","day":"2024-11-11","spo2_percentage":{"average":96.42},
           "breathing_disturbance_index":9})",
       R"({"id":"o2","day":"2024-11-12","spo2_percentage":null,"breathing_disturbance_index":null})",
       ""},
      {"daily_stress",
       R"({"id":"t1","day":"2024-11-11","stress_high":3600,"recovery_high":5400,
           "day_summary":"restored"})",
       R"({"id":"t2","day":"2024-11-12","stress_high":null,"recovery_high":null,
           "day_summary":null})",
       "day_summary"},
      {"daily_resilience",
       R"({"id":"e1","day":"2024-11-11","contributors":{"sleep_recovery":46.2,
           "daytime_recovery":49,"stress":34.5},"level":"exceptional"})",
       // Nothing of DailyResilienceModel is nullable.
       R"({"id":"e2","day":"2024-11-12","contributors":{"sleep_recovery":0.0,
           "daytime_recovery":0.0,"stress":0.0},"level":"limited"})",
       "level"},
      {"daily_cardiovascular_age",
       R"({"id":"c1","day":"2024-11-11","vascular_age":39,"pulse_wave_velocity":6.8})",
       R"({"id":"c2","day":"2024-11-12","vascular_age":null,"pulse_wave_velocity":null})",
       ""},
  };
  return list;
}

// ---------------------------------------------------------------------------------------------
// Collection declarations

TEST(DailyCollections, DeclaresTheSevenOnceADayCollections) {
  const auto& specs = allSpecs();
  const std::vector<std::string> expected = {
      "daily_activity", "daily_sleep", "daily_readiness", "daily_spo2",
      "daily_stress", "daily_resilience", "daily_cardiovascular_age"};
  ASSERT_EQ(specs.size(), expected.size());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const auto& spec = specs[i];
    SCOPED_TRACE(spec.name);
    EXPECT_EQ(spec.name, expected[i]);
    EXPECT_EQ(spec.path, "/v2/usercollection/" + spec.name);
    EXPECT_EQ(spec.strategy, sdk::SyncStrategy::DateWindow);
    EXPECT_EQ(spec.day_field, "day");
    EXPECT_FALSE(spec.bare_object);
    EXPECT_EQ(spec.max_window_days, 365);
    EXPECT_EQ(spec.scope, spec.name == "daily_spo2" ? "spo2Daily" : "daily");
    ASSERT_FALSE(spec.streams.empty());
    const auto& doc = spec.streams[0];
    EXPECT_EQ(doc.name, spec.name);
    EXPECT_FALSE(doc.samples.has_value());
    EXPECT_EQ(doc.primary_key, std::vector<std::string>{"day"});
    EXPECT_EQ(doc.columns.at(doc.columnIndex("day")).type, ColumnType::Date);
    EXPECT_EQ(doc.columns.at(doc.columnIndex("id")).type, ColumnType::Text);
    ASSERT_FALSE(doc.columns.empty());
    const auto& raw = doc.columns.back();
    EXPECT_EQ(raw.name, "raw");
    EXPECT_EQ(raw.type, ColumnType::Jsonb);
    EXPECT_EQ(raw.json_path, "$");
    EXPECT_EQ(spec.streams.size(), spec.name == "daily_activity" ? 2u : 1u);
  }
}

TEST(DailyCollections, ActivityHasAMetChildStream) {
  const auto& spec = specOf("daily_activity");
  ASSERT_EQ(spec.streams.size(), 2u);
  const auto& met = spec.streams[1];
  EXPECT_EQ(met.name, "daily_activity_met");
  ASSERT_TRUE(met.samples.has_value());
  EXPECT_EQ(met.samples->json_path, "met");
  EXPECT_EQ(met.samples->value_type, ColumnType::Real);
  ASSERT_EQ(met.columns.size(), 3u);
  EXPECT_EQ(met.columns[0].name, "daily_activity_day");
  EXPECT_EQ(met.columns[0].type, ColumnType::Date);
  EXPECT_EQ(met.columns[1].name, "timestamp");
  EXPECT_EQ(met.columns[1].type, ColumnType::Timestamptz);
  EXPECT_EQ(met.columns[2].name, "value");
  EXPECT_EQ(met.columns[2].type, ColumnType::Real);
  EXPECT_EQ(met.primary_key, (std::vector<std::string>{"daily_activity_day", "timestamp"}));
}

TEST(DailyCollections, EveryStreamAndColumnIsDescribedAndNamedSafely) {
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
    for (const auto& raw_only : spec.raw_only) EXPECT_FALSE(raw_only.reason.empty());
  }
}

TEST(DailyCollections, EachCallBuildsIndependentSpecs) {
  auto a = oura::endpoints::daily::makeCollections();
  const auto b = oura::endpoints::daily::makeCollections();
  a[0].streams[0].columns.clear();
  EXPECT_FALSE(b[0].streams[0].columns.empty());
}

// The OpenAPI contract of these collections is checked for every endpoint plugin at once by
// tests/integration/contract_test.cpp.

// ---------------------------------------------------------------------------------------------
// Every recorded 200 response of these collections

TEST(DailyRecorded, EveryRecordedDocumentMapsToOneRowWithItsOwnValues) {
  const std::regex name_re(R"(^(daily_[a-z0-9_]+?)__(list_.+|single)\.json$)");
  std::map<std::string, std::size_t> docs_per_collection;
  std::map<std::string, std::size_t> warnings_per_collection;
  std::size_t files = 0;
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
    ASSERT_FALSE(docs.empty());
    for (std::size_t i = 0; i < docs.size(); ++i) {
      SCOPED_TRACE("document " + std::to_string(i));
      Collector out;
      ASSERT_NO_THROW(out = mapDoc(spec, docs[i]));
      ASSERT_EQ(out.stream(0).size(), 1u) << "one parent row per document";
      expectRowMatches(spec, docs[i], out.stream(0)[0]);
      // Warnings only for documented-required keys that are really absent.
      EXPECT_EQ(out.warnings.size(), absentRequired(spec, docs[i]));
      for (const auto& w : out.warnings) EXPECT_NE(w.find("'id'"), std::string::npos) << w;
      warnings_per_collection[spec.name] += out.warnings.size();
      ++docs_per_collection[spec.name];
      if (spec.name == "daily_activity") {
        const auto met = docs[i]->getObject("met");
        EXPECT_EQ(out.stream(1).size(), met->getArray("items")->size());
      } else {
        EXPECT_EQ(out.rows.size(), 1u) << "no child rows";
      }
    }
  }
  EXPECT_EQ(files, 19u);
  EXPECT_EQ(docs_per_collection.size(), allSpecs().size()) << "a recording for every collection";
  EXPECT_EQ(docs_per_collection["daily_readiness"], 2141u + 2u + 1u);
  EXPECT_EQ(docs_per_collection["daily_cardiovascular_age"], 235u + 2u);
  // Only daily_cardiovascular_age misses a documented-required key (`id`), once per document.
  EXPECT_EQ(warnings_per_collection["daily_cardiovascular_age"], 237u);
  for (const auto& [name, count] : warnings_per_collection) {
    if (name != "daily_cardiovascular_age") {
      EXPECT_EQ(count, 0u) << name;
    }
  }
}

TEST(DailyRecorded, ActivitySingleAndItsMetSamples) {
  const auto& spec = specOf("daily_activity");
  const auto docs = recordedDocs("daily_activity__single.json");
  ASSERT_EQ(docs.size(), 1u);
  Collector out = mapDoc(spec, docs[0]);
  EXPECT_TRUE(out.warnings.empty());
  const auto& s = spec.streams[0];
  ASSERT_EQ(out.stream(0).size(), 1u);
  const Row& row = out.stream(0)[0];
  EXPECT_EQ(str(cell(s, row, "day")), "2024-11-11");
  EXPECT_EQ(str(cell(s, row, "id")), "b26c49ec-f07c-43da-8086-425b15a49a03");
  EXPECT_EQ(str(cell(s, row, "timestamp")), "2024-11-11T04:00:00+01:00");
  EXPECT_EQ(integer(cell(s, row, "score")), 95);
  EXPECT_EQ(integer(cell(s, row, "active_calories")), 1153);
  EXPECT_EQ(integer(cell(s, row, "total_calories")), 3502);
  EXPECT_EQ(integer(cell(s, row, "steps")), 15185);
  EXPECT_EQ(integer(cell(s, row, "meters_to_target")), -3500);
  EXPECT_DOUBLE_EQ(real(cell(s, row, "average_met_minutes")), 1.875);
  EXPECT_EQ(integer(cell(s, row, "contributors_stay_active")), 65);
  EXPECT_EQ(integer(cell(s, row, "contributors_meet_daily_targets")), 100);
  EXPECT_EQ(str(cell(s, row, "class_5_min")).size(), 288u);
  EXPECT_EQ(toJson(parseText(str(cell(s, row, "raw")))), toJson(docs[0]));

  // met: 1440 samples, one a minute from met.timestamp, in the document's own offset.
  const auto& met = spec.streams[1];
  const auto& samples = out.stream(1);
  ASSERT_EQ(samples.size(), 1440u);
  const std::string start = docs[0]->getObject("met")->getValue<std::string>("timestamp");
  ASSERT_EQ(start, "2024-11-11T04:00:00.000+01:00");
  const auto first = instant(str(cell(met, samples[0], "timestamp")));
  EXPECT_EQ(first.first, instant(start).first) << "first sample is at met.timestamp";
  EXPECT_EQ(first.second, 3600) << "the +01:00 offset is kept";
  EXPECT_EQ(str(cell(met, samples[0], "timestamp")), "2024-11-11T04:00:00+01:00");
  EXPECT_EQ(str(cell(met, samples[1], "timestamp")), "2024-11-11T04:01:00+01:00");
  EXPECT_EQ(instant(str(cell(met, samples[1], "timestamp"))).first - first.first,
            60 * Poco::Timestamp::resolution());
  EXPECT_EQ(str(cell(met, samples[1439], "timestamp")), "2024-11-12T03:59:00+01:00");
  const auto items = docs[0]->getObject("met")->getArray("items");
  for (std::size_t i = 0; i < samples.size(); ++i) {
    ASSERT_EQ(str(cell(met, samples[i], "daily_activity_day")), "2024-11-11");
    expectValue(cell(met, samples[i], "value"), items->get(static_cast<unsigned>(i)),
                ColumnType::Real, "met[" + std::to_string(i) + "]");
  }
  EXPECT_DOUBLE_EQ(real(cell(met, samples[0], "value")), 0.9);
}

TEST(DailyRecorded, ReadinessFullHistoryKeepsNullContributorsAsNull) {
  const auto& spec = specOf("daily_readiness");
  const auto docs = recordedDocs("daily_readiness__list_full_history_start_0024.json");
  ASSERT_EQ(docs.size(), 2141u);
  std::map<std::string, std::size_t> nulls;
  std::set<std::string> days;
  std::size_t warnings = 0;
  for (const auto& doc : docs) {
    Collector out;
    ASSERT_NO_THROW(out = mapDoc(spec, doc));
    ASSERT_EQ(out.stream(0).size(), 1u);
    warnings += out.warnings.size();
    const Row& row = out.stream(0)[0];
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (isNull(row[c])) ++nulls[spec.streams[0].columns[c].name];
    }
    days.insert(str(row[0]));
  }
  EXPECT_EQ(warnings, 0u);
  EXPECT_EQ(days.size(), 2141u) << "one document per day: `day` is a usable key";
  EXPECT_EQ(nulls["contributors_hrv_balance"], 486u);
  EXPECT_EQ(nulls["contributors_previous_day_activity"], 8u);
  EXPECT_EQ(nulls["contributors_previous_night"], 8u);
  EXPECT_EQ(nulls["contributors_body_temperature"], 6u);
  EXPECT_EQ(nulls["contributors_activity_balance"], 3u);
  EXPECT_EQ(nulls["temperature_deviation"], 30u);
  EXPECT_EQ(nulls["temperature_trend_deviation"], 86u);
  EXPECT_EQ(nulls["contributors_sleep_regularity"], 2141u) << "absent in every recorded document";
  EXPECT_EQ(nulls["score"], 0u);
  EXPECT_EQ(nulls["id"], 0u);
}

TEST(DailyRecorded, ReadinessSingle) {
  const auto& spec = specOf("daily_readiness");
  const auto docs = recordedDocs("daily_readiness__single.json");
  Collector out = mapDoc(spec, docs.at(0));
  const auto& s = spec.streams[0];
  const Row& row = out.stream(0).at(0);
  EXPECT_EQ(str(cell(s, row, "day")), "2024-11-11");
  EXPECT_EQ(str(cell(s, row, "id")), "cb284ccc-0c71-4799-b3c3-5434f5f98f0b");
  EXPECT_EQ(integer(cell(s, row, "score")), 86);
  EXPECT_EQ(integer(cell(s, row, "contributors_hrv_balance")), 95);
  EXPECT_EQ(integer(cell(s, row, "contributors_previous_night")), 77);
  EXPECT_DOUBLE_EQ(real(cell(s, row, "temperature_deviation")), 0.1);
  EXPECT_EQ(str(cell(s, row, "timestamp")), "2024-11-11T00:00:00+00:00");
  EXPECT_TRUE(isNull(cell(s, row, "contributors_sleep_regularity")));
  EXPECT_TRUE(out.warnings.empty());
}

TEST(DailyRecorded, SleepSpo2StressResilienceSingles) {
  {
    const auto& spec = specOf("daily_sleep");
    Collector out = mapDoc(spec, recordedDocs("daily_sleep__single.json").at(0));
    const auto& s = spec.streams[0];
    const Row& row = out.stream(0).at(0);
    EXPECT_EQ(str(cell(s, row, "day")), "2018-10-10");
    EXPECT_EQ(integer(cell(s, row, "score")), 75);
    EXPECT_EQ(integer(cell(s, row, "contributors_deep_sleep")), 45);
    EXPECT_EQ(integer(cell(s, row, "contributors_total_sleep")), 74);
    EXPECT_EQ(str(cell(s, row, "timestamp")), "2018-10-10T00:00:00+02:00");
  }
  {
    const auto& spec = specOf("daily_spo2");
    Collector out = mapDoc(spec, recordedDocs("daily_spo2__single.json").at(0));
    const auto& s = spec.streams[0];
    const Row& row = out.stream(0).at(0);
    EXPECT_EQ(str(cell(s, row, "day")), "2022-07-29");
    EXPECT_DOUBLE_EQ(real(cell(s, row, "spo2_percentage_average")), 97.497);
    EXPECT_EQ(integer(cell(s, row, "breathing_disturbance_index")), 9);
  }
  {
    const auto& spec = specOf("daily_stress");
    Collector out = mapDoc(spec, recordedDocs("daily_stress__single.json").at(0));
    const auto& s = spec.streams[0];
    const Row& row = out.stream(0).at(0);
    EXPECT_EQ(str(cell(s, row, "day")), "2023-09-17");
    EXPECT_EQ(integer(cell(s, row, "stress_high")), 0);
    EXPECT_EQ(integer(cell(s, row, "recovery_high")), 0);
    EXPECT_TRUE(isNull(cell(s, row, "day_summary")));
    EXPECT_TRUE(out.warnings.empty());
  }
  {
    const auto& spec = specOf("daily_resilience");
    const auto docs = recordedDocs("daily_resilience__list_2024-11-11_to_2024-11-12.json");
    Collector out = mapDoc(spec, docs.at(0));
    const auto& s = spec.streams[0];
    const Row& row = out.stream(0).at(0);
    EXPECT_EQ(str(cell(s, row, "day")), "2024-11-11");
    EXPECT_EQ(str(cell(s, row, "level")), "adequate");
    EXPECT_DOUBLE_EQ(real(cell(s, row, "contributors_sleep_recovery")), 46.2);
    EXPECT_DOUBLE_EQ(real(cell(s, row, "contributors_daytime_recovery")), 49.3);
    EXPECT_DOUBLE_EQ(real(cell(s, row, "contributors_stress")), 34.5);
    EXPECT_TRUE(out.warnings.empty());
  }
}

TEST(DailyRecorded, Spo2PlaceholderAverageWithNullBdi) {
  const auto& spec = specOf("daily_spo2");
  std::size_t placeholders = 0;
  for (const auto& doc : recordedDocs("daily_spo2__list_full_history_start_0024.json")) {
    Collector out = mapDoc(spec, doc);
    const Row& row = out.stream(0).at(0);
    if (isNull(cell(spec.streams[0], row, "breathing_disturbance_index"))) {
      ++placeholders;
      EXPECT_DOUBLE_EQ(real(cell(spec.streams[0], row, "spo2_percentage_average")), 0.0);
    }
    EXPECT_TRUE(out.warnings.empty());
  }
  EXPECT_EQ(placeholders, 3u);
}

TEST(DailyRecorded, CardiovascularAgeWithoutIdIsKeyedByDayAndWarned) {
  const auto& spec = specOf("daily_cardiovascular_age");
  const auto docs = recordedDocs("daily_cardiovascular_age__list_2024-11-11_to_2024-11-12.json");
  ASSERT_EQ(docs.size(), 2u);
  const auto& s = spec.streams[0];
  std::vector<std::string> warnings;
  std::vector<Row> rows;
  for (const auto& doc : docs) {
    Collector out = mapDoc(spec, doc);
    warnings.insert(warnings.end(), out.warnings.begin(), out.warnings.end());
    rows.push_back(out.stream(0).at(0));
  }
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0], "required field 'id' is absent");
  EXPECT_EQ(str(cell(s, rows[0], "day")), "2024-11-11");
  EXPECT_EQ(integer(cell(s, rows[0], "vascular_age")), 39);
  EXPECT_EQ(str(cell(s, rows[1], "day")), "2024-11-12");
  EXPECT_EQ(integer(cell(s, rows[1], "vascular_age")), 35);
  for (const auto& row : rows) {
    EXPECT_TRUE(isNull(cell(s, row, "id")));
    EXPECT_TRUE(isNull(cell(s, row, "pulse_wave_velocity")));
  }
}

// ---------------------------------------------------------------------------------------------
// Hand-made documents, per collection

class DailySample : public ::testing::TestWithParam<Sample> {};

TEST_P(DailySample, EveryFieldSet) {
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
  if (spec.name == "daily_activity") {
    const auto& met = spec.streams[1];
    const auto& samples = out.stream(1);
    ASSERT_EQ(samples.size(), 3u);
    // 2024-03-31 is the day CEST starts; the series keeps the document's +02:00 throughout.
    EXPECT_EQ(str(cell(met, samples[0], "timestamp")), "2024-03-31T04:00:00+02:00");
    EXPECT_EQ(str(cell(met, samples[1], "timestamp")), "2024-03-31T04:01:00+02:00");
    EXPECT_EQ(str(cell(met, samples[2], "timestamp")), "2024-03-31T04:02:00+02:00");
    EXPECT_DOUBLE_EQ(real(cell(met, samples[0], "value")), 1.1);
    EXPECT_TRUE(isNull(cell(met, samples[1], "value"))) << "a null sample stays null";
    EXPECT_DOUBLE_EQ(real(cell(met, samples[2], "value")), 2.5);
    for (const auto& sample : samples) EXPECT_EQ(str(sample[0]), "2024-03-31");
  }
}

TEST_P(DailySample, EveryNullableFieldNull) {
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
    const bool present = column.json_path == "$" || (findPath(doc, column.json_path, json) && !json.isEmpty());
    EXPECT_EQ(isNull(row[c]), !present) << column.name;
  }
  if (spec.name == "daily_activity") {
    ASSERT_EQ(out.stream(1).size(), 2u);
    for (const auto& sample : out.stream(1)) EXPECT_TRUE(isNull(sample[2]));
  }
}

TEST_P(DailySample, DriftMissingIdUnknownKeyUnknownEnumValue) {
  const auto& spec = specOf(GetParam().collection);
  Object::Ptr doc = parseObject(GetParam().full);
  doc->remove("id");
  doc->set("brand_new_field", parseText(R"({"nested":[1,2,3]})"));
  if (doc->has("contributors")) doc->getObject("contributors")->set("new_contributor", 42);
  if (!GetParam().enum_path.empty()) setPath(doc, GetParam().enum_path, std::string("unheard_of"));
  Collector out;
  ASSERT_NO_THROW(out = mapDoc(spec, doc));
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_EQ(out.warnings[0], "required field 'id' is absent");
  const auto& s = spec.streams[0];
  ASSERT_EQ(out.stream(0).size(), 1u);
  const Row& row = out.stream(0)[0];
  expectRowMatches(spec, doc, row);
  EXPECT_TRUE(isNull(cell(s, row, "id")));
  const std::string raw = str(cell(s, row, "raw"));
  EXPECT_NE(raw.find("brand_new_field"), std::string::npos) << "unknown keys survive in raw";
  if (doc->has("contributors")) {
    EXPECT_NE(raw.find("new_contributor"), std::string::npos);
  }
  if (!GetParam().enum_path.empty()) {
    std::string column = GetParam().enum_path;
    std::replace(column.begin(), column.end(), '.', '_');
    EXPECT_EQ(str(cell(s, row, column)), "unheard_of") << "unknown enum values are kept as text";
  }
}

TEST_P(DailySample, WrongTypesBecomeNullWithAWarning) {
  const auto& spec = specOf(GetParam().collection);
  const auto& s = spec.streams[0];
  for (const auto& column : s.columns) {
    if (column.json_path == "$" || column.name == "day") continue;
    SCOPED_TRACE(column.name);
    Object::Ptr doc = parseObject(GetParam().full);
    Var wrong;
    switch (column.type) {
      case ColumnType::Integer: wrong = std::string("many"); break;
      case ColumnType::Real: wrong = std::string("warm"); break;
      case ColumnType::Text: wrong = parseText(R"({"x":1})"); break;
      case ColumnType::Date: wrong = std::string("yesterday"); break;
      case ColumnType::Timestamptz: wrong = std::string("not a timestamp"); break;
      case ColumnType::Boolean: wrong = std::string("yes"); break;
      case ColumnType::Jsonb: continue;
    }
    setPath(doc, column.json_path, wrong);
    Collector out;
    ASSERT_NO_THROW(out = mapDoc(spec, doc));
    ASSERT_EQ(out.stream(0).size(), 1u);
    EXPECT_TRUE(isNull(cell(s, out.stream(0)[0], column.name)));
    ASSERT_EQ(out.warnings.size(), 1u);
    EXPECT_NE(out.warnings[0].find("'" + column.json_path + "'"), std::string::npos)
        << out.warnings[0];
    // The other columns are unaffected.
    for (std::size_t c = 0; c < s.columns.size(); ++c) {
      if (s.columns[c].name == column.name || s.columns[c].json_path == "$") continue;
      Var json;
      if (findPath(doc, s.columns[c].json_path, json)) {
        expectValue(out.stream(0)[0][c], json, s.columns[c].type, s.columns[c].name);
      }
    }
  }
}

TEST_P(DailySample, MissingOrInvalidDayThrowsMappingError) {
  const auto& spec = specOf(GetParam().collection);
  {
    Object::Ptr doc = parseObject(GetParam().full);
    doc->remove("day");
    EXPECT_THROW(mapDoc(spec, doc), sdk::MappingError);
  }
  {
    Object::Ptr doc = parseObject(GetParam().full);
    doc->set("day", Var());
    EXPECT_THROW(mapDoc(spec, doc), sdk::MappingError);
  }
  for (const char* bad : {"yesterday", "2024/11/11", "2024-13-45", "11-11-2024"}) {
    SCOPED_TRACE(bad);
    Object::Ptr doc = parseObject(GetParam().full);
    doc->set("day", std::string(bad));
    EXPECT_THROW(mapDoc(spec, doc), sdk::MappingError);
  }
}

INSTANTIATE_TEST_SUITE_P(Collections, DailySample, ::testing::ValuesIn(samples()),
                         [](const ::testing::TestParamInfo<Sample>& info) {
                           return info.param.collection;
                         });

// ---------------------------------------------------------------------------------------------
// The generic mapper: number conversions, sample series edge cases

TEST(DailyMapper, NumbersAreWidenedAndNarrowedOnlyWhenExact) {
  const auto& spec = specOf("daily_readiness");
  const auto& s = spec.streams[0];
  Object::Ptr doc = parseObject(samples()[2].full);
  doc->set("score", 86.0);                        // whole-numbered real -> integer
  doc->set("temperature_deviation", 1);           // integer -> real
  doc->getObject("contributors")->set("hrv_balance", 95.5);  // fractional -> NULL + warning
  doc->getObject("contributors")->set("sleep_balance", true);  // boolean -> NULL + warning
  Collector out = mapDoc(spec, doc);
  const Row& row = out.stream(0).at(0);
  EXPECT_EQ(integer(cell(s, row, "score")), 86);
  EXPECT_DOUBLE_EQ(real(cell(s, row, "temperature_deviation")), 1.0);
  EXPECT_TRUE(isNull(cell(s, row, "contributors_hrv_balance")));
  EXPECT_TRUE(isNull(cell(s, row, "contributors_sleep_balance")));
  EXPECT_EQ(out.warnings.size(), 2u);
}

TEST(DailyMapper, AnIntegerBeyondInt64IsNullWithAWarningNotACrash) {
  const auto& spec = specOf("daily_activity");
  Object::Ptr doc = parseObject(R"({"day":"2024-11-11","id":"x","steps":18446744073709551615})");
  Collector out;
  ASSERT_NO_THROW(out = mapDoc(spec, doc));
  EXPECT_TRUE(isNull(cell(spec.streams[0], out.stream(0).at(0), "steps")));
  const auto mentions_steps = std::count_if(out.warnings.begin(), out.warnings.end(),
                                            [](const std::string& w) {
                                              return w.find("'steps' is not") != std::string::npos;
                                            });
  EXPECT_EQ(mentions_steps, 1);
}

TEST(DailyMapper, SampleTimestampsKeepTheirOwnOffset) {
  const auto& spec = specOf("daily_activity");
  const auto& met = spec.streams[1];
  struct Case {
    std::string start;
    double interval;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {"2024-11-11T04:00:00-07:00", 60, {"2024-11-11T04:00:00-07:00", "2024-11-11T04:01:00-07:00"}},
      {"2024-11-11T04:00:00+05:30", 30, {"2024-11-11T04:00:00+05:30", "2024-11-11T04:00:30+05:30"}},
      {"2024-11-11T23:59:30.000+00:00", 60,
       {"2024-11-11T23:59:30+00:00", "2024-11-12T00:00:30+00:00"}},
      {"2024-11-11T04:00:00Z", 0.5, {"2024-11-11T04:00:00+00:00", "2024-11-11T04:00:00.500+00:00"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.start);
    Object::Ptr doc = parseObject(R"({"day":"2024-11-11","id":"x"})");
    Object::Ptr series = parseObject(R"({"items":[1.0,2.0]})");
    series->set("timestamp", c.start);
    series->set("interval", c.interval);
    doc->set("met", series);
    Collector out = mapDoc(spec, doc);
    ASSERT_EQ(out.stream(1).size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(str(cell(met, out.stream(1)[i], "timestamp")), c.expected[i]);
    }
  }
}

TEST(DailyMapper, BrokenOrMissingSampleSeriesStoresNoSamples) {
  const auto& spec = specOf("daily_activity");
  for (const char* met : {R"("met":null)", R"("met":5)", R"("met":{"interval":60,"items":[1]})",
                          R"("met":{"interval":0,"items":[1],"timestamp":"2024-11-11T04:00:00+01:00"})",
                          R"("met":{"interval":60,"items":[1],"timestamp":"yesterday"})"}) {
    SCOPED_TRACE(met);
    Object::Ptr doc = parseObject(std::string(R"({"day":"2024-11-11","id":"x",)") + met + "}");
    Collector out;
    ASSERT_NO_THROW(out = mapDoc(spec, doc));
    EXPECT_EQ(out.stream(0).size(), 1u);
    EXPECT_TRUE(out.stream(1).empty());
  }
}

// README.md and sample.toml are checked against the code for every endpoint plugin by
// tests/integration/contract_test.cpp (Contract.ReadmeAndSampleMatchTheCode).

// ---------------------------------------------------------------------------------------------
// The built shared library

TEST(DailyPluginLibrary, LoadsAndCreatesIndependentInstances) {
  const char* dir = std::getenv("OURA_PLUGIN_DIR");
  ASSERT_NE(dir, nullptr);
  const fs::path file = fs::path(dir) / "oura-endpoint-daily.so";
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
  EXPECT_STREQ(descriptor->name, "daily");
  EXPECT_STREQ(descriptor->version, "0.1.0");
  EXPECT_GT(std::strlen(descriptor->description), 0u);
  EXPECT_TRUE(descriptor->config_schema().empty());

  const sdk::PluginContext first{"daily", sdk::Logger("oura.endpoint.daily"), sdk::PluginConfig()};
  const sdk::PluginContext second{"daily2", sdk::Logger("oura.endpoint.daily2"), sdk::PluginConfig()};
  std::unique_ptr<sdk::Plugin> a(descriptor->create(first));
  std::unique_ptr<sdk::Plugin> b(descriptor->create(second));
  auto* ea = dynamic_cast<sdk::EndpointPlugin*>(a.get());
  auto* eb = dynamic_cast<sdk::EndpointPlugin*>(b.get());
  ASSERT_NE(ea, nullptr);
  ASSERT_NE(eb, nullptr);
  ASSERT_EQ(ea->collections().size(), 7u);
  EXPECT_EQ(&ea->collections(), &ea->collections()) << "built once per instance";
  EXPECT_NE(&ea->collections(), &eb->collections()) << "no state shared between instances";
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(ea->collections()[i].name, allSpecs()[i].name);
    EXPECT_EQ(ea->collections()[i].streams.size(), allSpecs()[i].streams.size());
    EXPECT_EQ(ea->collections()[i].streams[0].columns.size(),
              allSpecs()[i].streams[0].columns.size());
  }
  // mapDocument through the plugin (the default: mapByPaths).
  const auto doc = recordedDocs("daily_activity__single.json").at(0);
  Collector out;
  ea->mapDocument(ea->collections()[0], *doc, toJson(doc), out);
  EXPECT_EQ(out.stream(0).size(), 1u);
  EXPECT_EQ(out.stream(1).size(), 1440u);
  // A MappingError thrown inside the plugin is caught here as the SDK type.
  Object::Ptr no_day = parseObject(R"({"id":"x"})");
  EXPECT_THROW(eb->mapDocument(eb->collections()[1], *no_day, "{}", out), sdk::MappingError);
  a.reset();
  b.reset();
}

}  // namespace
