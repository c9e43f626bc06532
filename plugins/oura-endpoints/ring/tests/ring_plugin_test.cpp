// Tests of the `ring` endpoint plugin: its collection specs, the generic mapper on every
// recorded response of these collections, hand-made documents (every field set, every nullable
// field null, drift, wrong types: the shared suite HandMadeDocument), and the built shared
// library. The checks every endpoint plugin shares are in tests/support/plugin_test_support.hpp.
#include "../collections.hpp"

#include <oura_sdk/errors.hpp>

#include "plugin_test_support.hpp"

#include <Poco/JSON/Array.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

using namespace oura::test;

namespace {

const std::vector<sdk::CollectionSpec>& allSpecs() {
  static const std::vector<sdk::CollectionSpec> specs = oura::endpoints::ring::makeCollections();
  return specs;
}

const sdk::CollectionSpec& specOf(const std::string& name) { return specNamed(allSpecs(), name); }

// ---------------------------------------------------------------------------------------------
// Hand-made documents per collection

const std::vector<HandMadeDocuments>& samples() {
  static const std::vector<HandMadeDocuments> list = {
      // Only `id` is required, and it is the key: the drift case drops `email`, as a token
      // without the `email` scope does.
      {.collection = "personal_info",
       .full = R"({"id":"32adcdb2d-012-564b63838-8d1e0a-09b-3","age":36,"weight":78.5,
                   "height":1.76,"biological_sex":"female","email":"someone@example.org"})",
       .nulls = R"({"id":"p2","age":null,"weight":null,"height":null,"biological_sex":null,
                    "email":null})",
       .drop_optional = "email"},
      {.collection = "ring_configuration",
       .full = R"({"id":"a7f906c3-ef87-4f00-a13d-98c9b89e5cd4","color":"stealth_black",
                   "design":"horizon","firmware_version":"3.0.9","hardware_type":"gen4",
                   "set_up_at":"2024-03-09T10:48:37+00:00","size":9})",
       .nulls = R"({"id":"r2","color":null,"design":null,"firmware_version":null,
                    "hardware_type":null,"set_up_at":null,"size":null})",
       .drop_optional = "firmware_version",
       .enum_paths = {"hardware_type"}},
      // No battery data was recorded (recorded/README.md); shaped after PublicRingBatteryLevelRow.
      {.collection = "ring_battery_level",
       .full = R"({"timestamp":"2024-12-14T08:00:00+00:00","timestamp_unix":1734163200000,
                   "level":87,"charging":false,"in_charger":true})",
       .nulls = R"({"timestamp":"2024-12-14T08:05:00+00:00","timestamp_unix":1734163500000,
                    "level":0,"charging":null,"in_charger":null})",
       .drop_required = "level",
       .drop_optional = "charging"},
      {.collection = "rest_mode_period",
       .full = R"({"id":"b1907762-45cc-434b-9175-0da158a6bdcf","start_day":"2023-05-04",
                   "start_time":"2023-05-04T07:12:41+02:00","end_day":"2023-05-05",
                   "end_time":"2023-05-05T15:06:18+02:00",
                   "episodes":[{"tags":["tag_generic_surgery"],
                                "timestamp":"2023-05-04T07:12:41.593+02:00"}]})",
       // An open period: no end yet.
       .nulls = R"({"id":"m2","start_day":"2024-11-11","start_time":null,"end_day":null,
                    "end_time":null,"episodes":[]})",
       .drop_required = "episodes",
       .drop_optional = "end_time"},
  };
  return list;
}

INSTANTIATE_TEST_SUITE_P(Ring, HandMadeDocument,
                         ::testing::ValuesIn(handMadeCases(allSpecs(), samples())),
                         handMadeCaseName);

// ---------------------------------------------------------------------------------------------
// Collection declarations

TEST(RingCollections, DeclaresTheFourCollections) {
  const auto& specs = allSpecs();
  struct Expected {
    std::string name;
    std::string schema;
    sdk::SyncStrategy strategy;
    std::string day_field;
    bool bare_object;
    int max_window_days;
    std::string scope;
    std::vector<std::string> key;
  };
  const std::vector<Expected> expected = {
      {"personal_info", "PersonalInfoResponse", sdk::SyncStrategy::Snapshot, "", true, 365,
       "personal", {"id"}},
      {"ring_configuration", "PublicRingConfiguration", sdk::SyncStrategy::Snapshot, "", false,
       365, "ring_configuration", {"id"}},  // the live server's scopes (DESIGN.md "Oura API facts")
      {"ring_battery_level", "PublicRingBatteryLevelRow", sdk::SyncStrategy::DateTimeWindow,
       "timestamp", false, 30, "ring_configuration", {"timestamp"}},
      {"rest_mode_period", "PublicRestModePeriod", sdk::SyncStrategy::FullRefetch, "start_day",
       false, 365, "daily", {"id"}},
  };
  ASSERT_EQ(specs.size(), expected.size());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const auto& spec = specs[i];
    const auto& want = expected[i];
    SCOPED_TRACE(want.name);
    EXPECT_EQ(spec.name, want.name);
    EXPECT_EQ(spec.path, "/v2/usercollection/" + want.name);
    EXPECT_EQ(spec.openapi_schema, want.schema);
    EXPECT_EQ(spec.strategy, want.strategy);
    EXPECT_EQ(spec.day_field, want.day_field);
    EXPECT_EQ(spec.bare_object, want.bare_object);
    EXPECT_EQ(spec.max_window_days, want.max_window_days);
    EXPECT_EQ(spec.scope, want.scope);
    EXPECT_TRUE(spec.raw_only.empty());
    ASSERT_EQ(spec.streams.size(), 1u);
    const auto& doc = spec.streams[0];
    EXPECT_EQ(doc.name, spec.name);
    EXPECT_EQ(doc.primary_key, want.key);
    expectRawColumnLast(doc);
  }
  const auto& personal = specs[0].streams[0];
  EXPECT_FALSE(personal.columns.at(personal.columnIndex("email")).required)
      << "email is kept as a column; it is null without the `email` scope";
  const auto& battery = specs[2].streams[0];
  EXPECT_TRUE(battery.columns.at(battery.columnIndex("timestamp_unix")).required);
  const auto& rest = specs[3].streams[0];
  EXPECT_EQ(rest.columns.at(rest.columnIndex("episodes")).type, ColumnType::Jsonb);
}

TEST(RingCollections, EveryStreamAndColumnIsDescribedAndNamedSafely) {
  expectStreamsDescribedAndNamedSafely(allSpecs());
}

TEST(RingCollections, EachCallBuildsIndependentSpecs) {
  expectEachCallBuildsIndependentSpecs(&oura::endpoints::ring::makeCollections);
}

// The OpenAPI contract of these collections, README.md and sample.toml are checked for every
// endpoint plugin at once by tests/integration/contract_test.cpp.

// ---------------------------------------------------------------------------------------------
// Every recorded 200 response of these collections (there is no recorded battery data)

TEST(RingRecorded, EveryRecordedDocumentMapsToOneRowWithItsOwnValues) {
  RecordedTally tally;
  ASSERT_NO_FATAL_FAILURE(mapEveryRecording(allSpecs(), tally));
  EXPECT_EQ(tally.files, 6u);
  EXPECT_EQ(tally.documents["personal_info"], 1u);
  EXPECT_EQ(tally.documents["ring_configuration"], 2u + 1u);
  EXPECT_EQ(tally.documents["rest_mode_period"], 1u + 55u + 1u);
  EXPECT_EQ(tally.documents.count("ring_battery_level"), 0u) << "no recorded battery data";
  EXPECT_EQ(tally.totalWarnings(), 0u) << "every recorded document has all its required keys";
}

TEST(RingRecorded, PersonalInfoIsABareObject) {
  const auto& spec = specOf("personal_info");
  const auto& s = spec.streams[0];
  const Object::Ptr response =
      parseFile(fixtures() / "recorded" / "personal_info__get.json").extract<Object::Ptr>();
  const Object::Ptr body = response->getObject("body");
  ASSERT_TRUE(body);
  EXPECT_FALSE(body->has("data")) << "no envelope";
  EXPECT_FALSE(body->has("next_token"));
  Collector out = mapDoc(spec, body);
  EXPECT_TRUE(out.warnings.empty());
  const Row& row = out.stream(0).at(0);
  EXPECT_EQ(str(cell(s, row, "id")), "32adcdb2d-012-564b63838-8d1e0a-09b-3");
  EXPECT_EQ(integer(cell(s, row, "age")), 36);
  EXPECT_DOUBLE_EQ(real(cell(s, row, "weight")), 78.5);
  EXPECT_DOUBLE_EQ(real(cell(s, row, "height")), 1.76);
  EXPECT_EQ(str(cell(s, row, "biological_sex")), "male");
  EXPECT_EQ(str(cell(s, row, "email")), "user@example.com");
}

TEST(RingRecorded, RingConfigurationKeepsTheSetUpSentinel) {
  const auto& spec = specOf("ring_configuration");
  const auto& s = spec.streams[0];
  const auto docs = recordedDocs("ring_configuration__list.json");
  ASSERT_EQ(docs.size(), 2u);
  std::vector<Row> rows;
  for (const auto& doc : docs) rows.push_back(mapDoc(spec, doc).stream(0).at(0));
  EXPECT_NE(str(cell(s, rows[0], "id")), str(cell(s, rows[1], "id")));
  EXPECT_EQ(str(cell(s, rows[0], "set_up_at")), "1970-01-01T00:00:00+00:00")
      << "the placeholder is stored as sent";
  EXPECT_EQ(str(cell(s, rows[1], "set_up_at")), "2024-03-09T10:48:37+00:00");
  for (const auto& row : rows) {
    EXPECT_EQ(str(cell(s, row, "hardware_type")), "gen3");
    EXPECT_EQ(str(cell(s, row, "design")), "heritage");
    EXPECT_EQ(integer(cell(s, row, "size")), 9);
  }
  EXPECT_EQ(str(cell(s, rows[1], "firmware_version")), "3.0.9");
}

TEST(RingRecorded, RestModePeriodsKeepEpisodesAsJsonb) {
  const auto& spec = specOf("rest_mode_period");
  const auto& s = spec.streams[0];
  {
    Collector out = mapDoc(spec, recordedDocs("rest_mode_period__single.json").at(0));
    const Row& row = out.stream(0).at(0);
    EXPECT_EQ(str(cell(s, row, "start_day")), "2020-12-25");
    EXPECT_EQ(str(cell(s, row, "end_time")), "2020-12-25T11:57:26+00:00");
    const auto episodes =
        parseText(str(cell(s, row, "episodes"))).extract<Poco::JSON::Array::Ptr>();
    ASSERT_EQ(episodes->size(), 1u);
    const auto episode = episodes->getObject(0);
    EXPECT_EQ(episode->getValue<std::string>("timestamp"), "2020-12-25T11:57:26.000+00:00");
    EXPECT_EQ(episode->getArray("tags")->size(), 2u);
  }
  std::size_t empty = 0;
  std::size_t spanning = 0;
  std::size_t zero_length = 0;
  std::set<std::string> ids;
  for (const auto& doc : recordedDocs("rest_mode_period__list_full_history_start_0024.json")) {
    Collector out = mapDoc(spec, doc);
    EXPECT_TRUE(out.warnings.empty());
    const Row& row = out.stream(0).at(0);
    ids.insert(str(cell(s, row, "id")));
    if (str(cell(s, row, "episodes")) == "[]") ++empty;
    if (str(cell(s, row, "start_day")) != str(cell(s, row, "end_day"))) ++spanning;
    if (str(cell(s, row, "start_time")) == str(cell(s, row, "end_time"))) ++zero_length;
  }
  EXPECT_EQ(ids.size(), 55u);
  EXPECT_EQ(empty, 46u) << "`episodes: []` is an empty array, not NULL";
  EXPECT_EQ(spanning, 3u);
  EXPECT_EQ(zero_length, 47u) << "most recorded periods start and end at the same second";
}

// ---------------------------------------------------------------------------------------------
// The built shared library

TEST(RingPluginLibrary, LoadsAndCreatesIndependentInstances) {
  LoadedEndpointPlugin plugin;
  ASSERT_NO_FATAL_FAILURE(loadEndpointPlugin("ring", allSpecs(), plugin));
  // mapDocument through the plugin (the default: mapByPaths), on the bare personal_info object.
  Collector out = mapThrough(*plugin.first, 0, recordedDocs("personal_info__get.json").at(0));
  EXPECT_EQ(out.stream(0).size(), 1u);
  EXPECT_TRUE(out.warnings.empty());
  // A MappingError thrown inside the plugin is caught here as the SDK type.
  EXPECT_THROW(
      mapThrough(*plugin.second, 3, parseObject(R"({"start_day":"2024-11-11","episodes":[]})")),
      sdk::MappingError);
}

}  // namespace
