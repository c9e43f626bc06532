// Tests of the `daily` endpoint plugin: its collection specs, the generic mapper on every
// recorded response of these collections, hand-made documents (every field set, every nullable
// field null, drift, wrong types: the shared suite HandMadeDocument), and the built shared
// library. The checks every endpoint plugin shares are in tests/support/plugin_test_support.hpp.
#include "../collections.hpp"

#include <oura_sdk/errors.hpp>

#include "plugin_test_support.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/Timestamp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace oura::test;

namespace {

const std::vector<sdk::CollectionSpec>& allSpecs() {
  static const std::vector<sdk::CollectionSpec> specs = oura::endpoints::daily::makeCollections();
  return specs;
}

const sdk::CollectionSpec& specOf(const std::string& name) { return specNamed(allSpecs(), name); }

// ---------------------------------------------------------------------------------------------
// Hand-made documents per collection

const std::vector<HandMadeDocuments>& samples() {
  // The drift case drops `id`: documented-required, but absent in some real responses.
  static const std::vector<HandMadeDocuments> list = {
      {.collection = "daily_activity",
       .full = R"({"id":"a1","class_5_min":"0011223344550","score":82,"active_calories":512,
           "average_met_minutes":1.6875,"contributors":{"meet_daily_targets":43,
           "move_every_hour":100,"recovery_time":96,"stay_active":78,"training_frequency":71,
           "training_volume":98},"equivalent_walking_distance":9876,
           "high_activity_met_minutes":12,"high_activity_time":300,"inactivity_alerts":2,
           "low_activity_met_minutes":150,"low_activity_time":12000,
           "medium_activity_met_minutes":90,"medium_activity_time":1500,
           "met":{"interval":60.0,"items":[1.1,null,2.5],
                  "timestamp":"2024-03-31T04:00:00.000+02:00"},
           "meters_to_target":-120,"non_wear_time":600,"resting_time":30000,
           "sedentary_met_minutes":8,"sedentary_time":36000,"steps":10234,"target_calories":450,
           "target_meters":9000,"total_calories":2600,"day":"2024-03-31",
           "timestamp":"2024-03-31T04:00:00+02:00"})",
       .nulls = R"({"id":"a2","class_5_min":null,"score":null,"active_calories":0,
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
       .drop_required = "id",
       .unknown_keys = {"contributors.new_contributor"}},
      {.collection = "daily_sleep",
       .full = R"({"id":"s1","contributors":{"deep_sleep":45,"efficiency":98,"latency":99,
           "rem_sleep":95,"restfulness":66,"timing":58,"total_sleep":74},"day":"2024-11-11",
           "score":75,"timestamp":"2024-11-11T00:00:00+00:00"})",
       .nulls = R"({"id":"s2","contributors":{"deep_sleep":null,"efficiency":null,"latency":null,
           "rem_sleep":null,"restfulness":null,"timing":null,"total_sleep":null},
           "day":"2024-11-12","score":null,"timestamp":"2024-11-12T00:00:00+00:00"})",
       .drop_required = "id",
       .unknown_keys = {"contributors.new_contributor"}},
      {.collection = "daily_readiness",
       .full = R"({"id":"r1","contributors":{"activity_balance":94,"body_temperature":97,
           "hrv_balance":95,"previous_day_activity":91,"previous_night":77,"recovery_index":64,
           "resting_heart_rate":92,"sleep_balance":92,"sleep_regularity":88},"day":"2024-11-11",
           "score":86,"temperature_deviation":-0.25,"temperature_trend_deviation":0.13,
           "timestamp":"2024-11-11T00:00:00-07:00"})",
       .nulls = R"({"id":"r2","contributors":{"activity_balance":null,"body_temperature":null,
           "hrv_balance":null,"previous_day_activity":null,"previous_night":null,
           "recovery_index":null,"resting_heart_rate":null,"sleep_balance":null,
           "sleep_regularity":null},"day":"2024-11-12","score":null,"temperature_deviation":null,
           "temperature_trend_deviation":null,"timestamp":"2024-11-12T00:00:00+10:00"})",
       .drop_required = "id",
       .unknown_keys = {"contributors.new_contributor"}},
      {.collection = "daily_spo2",
       .full = R"({"id":"o1","day":"2024-11-11","spo2_percentage":{"average":96.42},
           "breathing_disturbance_index":9})",
       .nulls = R"({"id":"o2","day":"2024-11-12","spo2_percentage":null,
           "breathing_disturbance_index":null})",
       .drop_required = "id"},
      {.collection = "daily_stress",
       .full = R"({"id":"t1","day":"2024-11-11","stress_high":3600,"recovery_high":5400,
           "day_summary":"restored"})",
       .nulls = R"({"id":"t2","day":"2024-11-12","stress_high":null,"recovery_high":null,
           "day_summary":null})",
       .drop_required = "id",
       .enum_paths = {"day_summary"}},
      {.collection = "daily_resilience",
       .full = R"({"id":"e1","day":"2024-11-11","contributors":{"sleep_recovery":46.2,
           "daytime_recovery":49,"stress":34.5},"level":"exceptional"})",
       // Nothing of DailyResilienceModel is nullable.
       .nulls = R"({"id":"e2","day":"2024-11-12","contributors":{"sleep_recovery":0.0,
           "daytime_recovery":0.0,"stress":0.0},"level":"limited"})",
       .drop_required = "id",
       .enum_paths = {"level"},
       .unknown_keys = {"contributors.new_contributor"}},
      {.collection = "daily_cardiovascular_age",
       .full = R"({"id":"c1","day":"2024-11-11","vascular_age":39,"pulse_wave_velocity":6.8})",
       .nulls = R"({"id":"c2","day":"2024-11-12","vascular_age":null,"pulse_wave_velocity":null})",
       .drop_required = "id"},
  };
  return list;
}

INSTANTIATE_TEST_SUITE_P(Daily, HandMadeDocument,
                         ::testing::ValuesIn(handMadeCases(allSpecs(), samples())),
                         handMadeCaseName);

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
    // The live authorization server's scopes (docs/DESIGN.md "Oura API facts"), not the
    // OpenAPI export's: the live behaviour wins.
    const std::string want = spec.name == "daily_spo2"                 ? "spo2"
                             : spec.name == "daily_resilience"         ? "stress"
                             : spec.name == "daily_cardiovascular_age" ? "heart_health"
                                                                       : "daily";
    EXPECT_EQ(spec.scope, want);
    ASSERT_FALSE(spec.streams.empty());
    const auto& doc = spec.streams[0];
    EXPECT_EQ(doc.name, spec.name);
    EXPECT_FALSE(doc.samples.has_value());
    EXPECT_EQ(doc.primary_key, std::vector<std::string>{"day"});
    EXPECT_EQ(doc.columns.at(doc.columnIndex("day")).type, ColumnType::Date);
    EXPECT_EQ(doc.columns.at(doc.columnIndex("id")).type, ColumnType::Text);
    expectRawColumnLast(doc);
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
  expectStreamsDescribedAndNamedSafely(allSpecs());
}

TEST(DailyCollections, EachCallBuildsIndependentSpecs) {
  expectEachCallBuildsIndependentSpecs(&oura::endpoints::daily::makeCollections);
}

// The OpenAPI contract of these collections is checked for every endpoint plugin at once by
// tests/integration/contract_test.cpp.

// ---------------------------------------------------------------------------------------------
// Every recorded 200 response of these collections

TEST(DailyRecorded, EveryRecordedDocumentMapsToOneRowWithItsOwnValues) {
  RecordedTally tally;
  ASSERT_NO_FATAL_FAILURE(mapEveryRecording(
      allSpecs(), tally,
      [](const std::string&, const sdk::CollectionSpec&, const Object::Ptr&, Collector& out) {
        for (const auto& w : out.warnings) EXPECT_NE(w.find("'id'"), std::string::npos) << w;
      }));
  EXPECT_EQ(tally.files, 19u);
  EXPECT_EQ(tally.documents.size(), allSpecs().size()) << "a recording for every collection";
  EXPECT_EQ(tally.documents["daily_readiness"], 2141u + 2u + 1u);
  EXPECT_EQ(tally.documents["daily_cardiovascular_age"], 235u + 2u);
  // Only daily_cardiovascular_age misses a documented-required key (`id`), in every document;
  // the column marks it known absent, so no collection warns.
  for (const auto& [name, count] : tally.warnings) {
    {
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

TEST(DailyRecorded, CardiovascularAgeWithoutIdIsKeyedByDayWithoutAWarning) {
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
  // `id` is documented as required but never sent: the column is known absent.
  EXPECT_TRUE(warnings.empty()) << warnings.at(0);
  EXPECT_TRUE(s.columns.at(s.columnIndex("id")).known_absent);
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
// Hand-made documents beyond the shared suite

TEST(DailyMapper, MetSamplesOfTheHandMadeActivityKeepTheDocumentsOffset) {
  const auto& spec = specOf("daily_activity");
  Collector out = mapDoc(spec, parseObject(samples()[0].full));
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
  LoadedEndpointPlugin plugin;
  ASSERT_NO_FATAL_FAILURE(loadEndpointPlugin("daily", allSpecs(), plugin));
  EXPECT_EQ(plugin.first->collections().size(), 7u);
  // mapDocument through the plugin (the default: mapByPaths).
  Collector out = mapThrough(*plugin.first, 0, recordedDocs("daily_activity__single.json").at(0));
  EXPECT_EQ(out.stream(0).size(), 1u);
  EXPECT_EQ(out.stream(1).size(), 1440u);
  // A MappingError thrown inside the plugin is caught here as the SDK type.
  EXPECT_THROW(mapThrough(*plugin.second, 1, parseObject(R"({"id":"x"})")), sdk::MappingError);
}

}  // namespace
