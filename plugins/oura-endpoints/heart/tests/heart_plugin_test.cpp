// Tests of the `heart` endpoint plugin: its collection specs, the generic mapper on every
// recorded response of these collections, hand-made documents (every field set, every nullable
// field null, drift, wrong types: the shared suite HandMadeDocument), and the built shared
// library. The checks every endpoint plugin shares are in tests/support/plugin_test_support.hpp.
#include "../collections.hpp"

#include <oura_sdk/errors.hpp>

#include "plugin_test_support.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace oura::test;

namespace {

const std::vector<sdk::CollectionSpec>& allSpecs() {
  static const std::vector<sdk::CollectionSpec> specs = oura::endpoints::heart::makeCollections();
  return specs;
}

const sdk::CollectionSpec& specOf(const std::string& name) { return specNamed(allSpecs(), name); }

// ---------------------------------------------------------------------------------------------
// Hand-made documents per collection

const std::vector<HandMadeDocuments>& samples() {
  static const std::vector<HandMadeDocuments> list = {
      {.collection = "heartrate",
       .full = R"({"timestamp":"2024-12-13T18:47:08+00:00","timestamp_unix":1734115628000,
                   "bpm":107,"source":"workout"})",
       // Nothing of PublicHeartRateRow is nullable.
       .nulls = R"({"timestamp":"2024-12-14T00:00:00+00:00","timestamp_unix":1734134400000,
                    "bpm":38,"source":"sleep"})",
       .drop_required = "bpm",
       .enum_paths = {"source"}},
      {.collection = "vO2_max",
       .full = R"({"id":"0b7e2f4e-5d1c-4c4e-9a53-2f0d7c1c1a11","day":"2024-11-11",
                   "timestamp":"2024-11-11T07:12:31+01:00","vo2_max":43})",
       // Nothing of PublicVO2Max is nullable.
       .nulls = R"({"id":"v2","day":"2024-11-12","timestamp":"2024-11-12T00:00:00-05:00",
                    "vo2_max":0})",
       .drop_required = "vo2_max"},
  };
  return list;
}

INSTANTIATE_TEST_SUITE_P(Heart, HandMadeDocument,
                         ::testing::ValuesIn(handMadeCases(allSpecs(), samples())),
                         handMadeCaseName);

// ---------------------------------------------------------------------------------------------
// Collection declarations

TEST(HeartCollections, DeclaresHeartrateAndVo2Max) {
  const auto& specs = allSpecs();
  ASSERT_EQ(specs.size(), 2u);

  const auto& hr = specs[0];
  EXPECT_EQ(hr.name, "heartrate");
  EXPECT_EQ(hr.path, "/v2/usercollection/heartrate");
  EXPECT_EQ(hr.openapi_schema, "PublicHeartRateRow");
  EXPECT_EQ(hr.strategy, sdk::SyncStrategy::DateTimeWindow);
  EXPECT_EQ(hr.day_field, "timestamp");
  EXPECT_FALSE(hr.bare_object);
  EXPECT_EQ(hr.max_window_days, 30);
  EXPECT_EQ(hr.scope, "heartrate");
  ASSERT_EQ(hr.streams.size(), 1u);
  EXPECT_EQ(hr.streams[0].name, "heartrate");
  EXPECT_EQ(hr.streams[0].primary_key, (std::vector<std::string>{"timestamp", "source"}));
  EXPECT_EQ(hr.streams[0].columns.at(hr.streams[0].columnIndex("timestamp")).type,
            ColumnType::Timestamptz);
  const auto& unix_ms = hr.streams[0].columns.at(hr.streams[0].columnIndex("timestamp_unix"));
  EXPECT_TRUE(unix_ms.required) << "documented-required, although real rows lack it";
  EXPECT_EQ(unix_ms.type, ColumnType::Integer);

  const auto& vo2 = specs[1];
  EXPECT_EQ(vo2.name, "vO2_max");
  EXPECT_EQ(vo2.path, "/v2/usercollection/vO2_max") << "capital O in the path";
  EXPECT_EQ(vo2.openapi_schema, "PublicVO2Max");
  EXPECT_EQ(vo2.strategy, sdk::SyncStrategy::DateWindow);
  EXPECT_EQ(vo2.day_field, "day");
  EXPECT_FALSE(vo2.bare_object);
  EXPECT_EQ(vo2.max_window_days, 365);
  EXPECT_EQ(vo2.scope, "heart_health") << "the live server's scope (the OpenAPI export lists none)";
  ASSERT_EQ(vo2.streams.size(), 1u);
  EXPECT_EQ(vo2.streams[0].name, "vo2_max") << "named like the collection, in lower case";
  EXPECT_EQ(vo2.streams[0].primary_key, std::vector<std::string>{"day"});
  EXPECT_EQ(vo2.streams[0].columns.at(vo2.streams[0].columnIndex("vo2_max")).json_path, "vo2_max");
  EXPECT_FALSE(vo2.streams[0].columns.at(vo2.streams[0].columnIndex("id")).name.empty());

  for (const auto& spec : specs) {
    SCOPED_TRACE(spec.name);
    EXPECT_TRUE(spec.raw_only.empty());
    expectRawColumnLast(spec.streams[0]);
  }
}

TEST(HeartCollections, EveryStreamAndColumnIsDescribedAndNamedSafely) {
  expectStreamsDescribedAndNamedSafely(allSpecs());
}

TEST(HeartCollections, EachCallBuildsIndependentSpecs) {
  expectEachCallBuildsIndependentSpecs(&oura::endpoints::heart::makeCollections);
}

// The OpenAPI contract of these collections, README.md and sample.toml are checked for every
// endpoint plugin at once by tests/integration/contract_test.cpp.

// ---------------------------------------------------------------------------------------------
// Every recorded 200 response of these collections

TEST(HeartRecorded, EveryRecordedDocumentMapsToOneRowWithItsOwnValues) {
  RecordedTally tally;
  ASSERT_NO_FATAL_FAILURE(mapEveryRecording(allSpecs(), tally));
  EXPECT_EQ(tally.files, 2u);
  EXPECT_EQ(tally.collections.size(), allSpecs().size()) << "a recording for every collection";
  EXPECT_EQ(tally.documents["heartrate"], 1101u);
  EXPECT_EQ(tally.documents["vO2_max"], 0u) << "only an empty list was recorded";
  // Every heart-rate row lacks the documented-required `timestamp_unix`, which the column marks
  // known absent: no warning.
  EXPECT_EQ(tally.warnings["heartrate"], 0u);
}

TEST(HeartRecorded, HeartRateRowsWithoutTimestampUnixAreNullWithoutAWarning) {
  const auto& spec = specOf("heartrate");
  const auto& s = spec.streams[0];
  const auto docs = recordedDocs("heartrate__list_default_window.json");
  ASSERT_EQ(docs.size(), 1101u);
  std::map<std::string, std::size_t> sources;
  for (const auto& doc : docs) {
    ASSERT_FALSE(doc->has("timestamp_unix"));
    Collector out = mapDoc(spec, doc);
    EXPECT_TRUE(out.warnings.empty()) << out.warnings.at(0);
    const Row& row = out.stream(0).at(0);
    EXPECT_TRUE(isNull(cell(s, row, "timestamp_unix")));
    ++sources[str(cell(s, row, "source"))];
  }
  EXPECT_EQ(sources["workout"], 854u);
  EXPECT_EQ(sources["awake"], 128u);
  EXPECT_EQ(sources["rest"], 119u);
  // The first row, exactly.
  Collector out = mapDoc(spec, docs[0]);
  const Row& row = out.stream(0).at(0);
  EXPECT_EQ(str(cell(s, row, "timestamp")), "2024-12-13T12:31:21+00:00");
  EXPECT_EQ(str(cell(s, row, "source")), "awake");
  EXPECT_EQ(integer(cell(s, row, "bpm")), 91);
}

TEST(HeartRecorded, RowsSharingATimestampWithAnotherSourceHaveDistinctKeys) {
  const auto& spec = specOf("heartrate");
  const auto& s = spec.streams[0];
  std::set<std::string> timestamps;
  std::set<std::pair<std::string, std::string>> keys;
  std::vector<Row> at_shared_second;
  for (const auto& doc : recordedDocs("heartrate__list_default_window.json")) {
    Collector out = mapDoc(spec, doc);
    const Row& row = out.stream(0).at(0);
    const std::string ts = str(cell(s, row, "timestamp"));
    timestamps.insert(ts);
    EXPECT_TRUE(keys.emplace(ts, str(cell(s, row, "source"))).second)
        << "duplicate key (" << ts << ", " << str(cell(s, row, "source")) << ")";
    if (ts == "2024-12-13T18:47:08+00:00") at_shared_second.push_back(row);
  }
  EXPECT_EQ(keys.size(), 1101u) << "(timestamp, source) is unique";
  EXPECT_EQ(timestamps.size(), 1100u) << "timestamp alone is not";
  ASSERT_EQ(at_shared_second.size(), 2u);
  const Row& a = at_shared_second[0];
  const Row& b = at_shared_second[1];
  EXPECT_EQ(str(cell(s, a, "source")), "awake");
  EXPECT_EQ(integer(cell(s, a, "bpm")), 92);
  EXPECT_EQ(str(cell(s, b, "source")), "workout");
  EXPECT_EQ(integer(cell(s, b, "bpm")), 107);
  std::vector<sdk::Value> key_a;
  std::vector<sdk::Value> key_b;
  for (const auto& key : s.primary_key) {
    key_a.push_back(cell(s, a, key));
    key_b.push_back(cell(s, b, key));
  }
  EXPECT_NE(key_a, key_b);
}

// ---------------------------------------------------------------------------------------------
// The built shared library

TEST(HeartPluginLibrary, LoadsAndCreatesIndependentInstances) {
  LoadedEndpointPlugin plugin;
  ASSERT_NO_FATAL_FAILURE(loadEndpointPlugin("heart", allSpecs(), plugin));
  // mapDocument through the plugin (the default: mapByPaths).
  Collector out =
      mapThrough(*plugin.first, 0, recordedDocs("heartrate__list_default_window.json").at(0));
  EXPECT_EQ(out.stream(0).size(), 1u);
  EXPECT_TRUE(out.warnings.empty()) << "timestamp_unix is known absent";
  EXPECT_TRUE(specOf("heartrate").streams[0].columns.at(
      specOf("heartrate").streams[0].columnIndex("timestamp_unix")).known_absent);
  // A MappingError thrown inside the plugin is caught here as the SDK type.
  EXPECT_THROW(mapThrough(*plugin.second, 1, parseObject(R"({"id":"x","vo2_max":40})")),
               sdk::MappingError);
}

}  // namespace
