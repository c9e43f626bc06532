// Tests of the `activity` endpoint plugin: its collection declarations, the generic mapper on
// every recorded response of `workout` and `session`, hand-made documents (every field set,
// every nullable field null, drift, wrong types: the shared suite HandMadeDocument), sample
// timestamps, and the built shared library. The OpenAPI contract and README/sample.toml are
// checked for every endpoint plugin at once by tests/integration/contract_test.cpp; the checks
// every endpoint plugin shares are in tests/support/plugin_test_support.hpp.
#include "../collections.hpp"

#include <oura_sdk/errors.hpp>

#include "plugin_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <set>
#include <string>
#include <vector>

using namespace oura::test;

namespace {

const std::vector<sdk::CollectionSpec>& allSpecs() {
  static const std::vector<sdk::CollectionSpec> specs =
      oura::endpoints::activity::makeCollections();
  return specs;
}

const sdk::CollectionSpec& specOf(const std::string& name) { return specNamed(allSpecs(), name); }

// ---------------------------------------------------------------------------------------------
// Hand-made documents per collection

const std::vector<HandMadeDocuments>& samples() {
  static const std::vector<HandMadeDocuments> list = {
      {.collection = "workout",
       .full = R"({"id":"w1","activity":"cycling","calories":321.5,"day":"2024-10-25",
           "distance":12345.678,"end_datetime":"2024-10-25T12:53:00+02:00",
           "intensity":"hard","label":"to work","source":"manual",
           "start_datetime":"2024-10-25T10:35:00+00:00"})",
       .nulls = R"({"id":"w2","activity":"walking","calories":null,"day":"2024-10-26",
           "distance":null,"end_datetime":"2024-10-26T09:18:00+02:00","intensity":"easy",
           "label":null,"source":"autodetected","start_datetime":"2024-10-26T09:07:00+02:00"})",
       .drop_required = "activity",
       .enum_paths = {"intensity", "source"}},
      {.collection = "session",
       .full = R"({"id":"m1","day":"2024-10-09","start_datetime":"2024-10-09T16:39:07+02:00",
           "end_datetime":"2024-10-09T16:39:22+02:00","type":"meditation",
           "heart_rate":{"interval":5.0,"items":[62.5,null,60.0],
                         "timestamp":"2024-10-09T16:39:07.000+02:00"},
           "heart_rate_variability":{"interval":5.0,"items":[null,41.0,43.5],
                                     "timestamp":"2024-10-09T16:39:07.000+02:00"},
           "mood":"great",
           "motion_count":{"interval":5.0,"items":[0.0,32.0,null],
                           "timestamp":"2024-10-09T16:39:07.000+02:00"}})",
       .nulls = R"({"id":"m2","day":"2024-10-10","start_datetime":"2024-10-10T16:39:07+02:00",
           "end_datetime":"2024-10-10T16:43:44+02:00","type":"breathing","heart_rate":null,
           "heart_rate_variability":null,"mood":null,"motion_count":null})",
       .drop_required = "end_datetime",
       .enum_paths = {"type", "mood"},
       .unknown_keys = {"heart_rate.unit"}},
  };
  return list;
}

INSTANTIATE_TEST_SUITE_P(Activity, HandMadeDocument,
                         ::testing::ValuesIn(handMadeCases(allSpecs(), samples())),
                         handMadeCaseName);

// ---------------------------------------------------------------------------------------------
// Collection declarations

TEST(ActivityCollections, DeclaresWorkoutAndSession) {
  const auto& specs = allSpecs();
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].name, "workout");
  EXPECT_EQ(specs[0].openapi_schema, "PublicWorkout");
  EXPECT_EQ(specs[0].scope, "workout");
  EXPECT_EQ(specs[0].streams.size(), 1u);
  EXPECT_EQ(specs[1].name, "session");
  EXPECT_EQ(specs[1].openapi_schema, "PublicSession");
  EXPECT_EQ(specs[1].scope, "session");
  for (const auto& spec : specs) {
    SCOPED_TRACE(spec.name);
    EXPECT_EQ(spec.path, "/v2/usercollection/" + spec.name);
    EXPECT_EQ(spec.strategy, sdk::SyncStrategy::DateWindow);
    EXPECT_EQ(spec.day_field, "day");
    EXPECT_FALSE(spec.bare_object);
    EXPECT_EQ(spec.max_window_days, 365);
    EXPECT_TRUE(spec.raw_only.empty()) << "every property is a column or a sample stream";
    ASSERT_FALSE(spec.streams.empty());
    const auto& doc = spec.streams[0];
    EXPECT_EQ(doc.name, spec.name);
    EXPECT_FALSE(doc.samples.has_value());
    EXPECT_EQ(doc.primary_key, std::vector<std::string>{"id"}) << "several documents a day";
    EXPECT_EQ(doc.columns.at(doc.columnIndex("day")).type, ColumnType::Date);
    EXPECT_EQ(doc.columns.at(doc.columnIndex("id")).type, ColumnType::Text);
    EXPECT_EQ(doc.columns.at(doc.columnIndex("start_datetime")).type, ColumnType::Timestamptz);
    EXPECT_EQ(doc.columns.at(doc.columnIndex("end_datetime")).type, ColumnType::Timestamptz);
    expectRawColumnLast(doc);
  }
  const auto& workout = specs[0].streams[0];
  EXPECT_NE(workout.columns[workout.columnIndex("calories")].description.find("kcal"),
            std::string::npos);
  EXPECT_NE(workout.columns[workout.columnIndex("distance")].description.find("metres"),
            std::string::npos);
}

TEST(ActivityCollections, SessionHasHeartRateHrvAndMotionChildStreams) {
  const auto& spec = specOf("session");
  ASSERT_EQ(spec.streams.size(), 4u);
  const std::vector<std::array<std::string, 3>> expected = {
      {"session_heart_rate", "heart_rate", "bpm"},
      {"session_heart_rate_variability", "heart_rate_variability", "ms"},
      {"session_motion_count", "motion_count", "count"}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& child = spec.streams[i + 1];
    SCOPED_TRACE(child.name);
    EXPECT_EQ(child.name, expected[i][0]);
    ASSERT_TRUE(child.samples.has_value());
    EXPECT_EQ(child.samples->json_path, expected[i][1]);
    EXPECT_EQ(child.samples->value_type, ColumnType::Real);
    ASSERT_EQ(child.columns.size(), 3u);
    EXPECT_EQ(child.columns[0].name, "session_id");
    EXPECT_EQ(child.columns[0].type, ColumnType::Text);
    EXPECT_EQ(child.columns[0].json_path, "id");
    EXPECT_EQ(child.columns[1].name, "timestamp");
    EXPECT_EQ(child.columns[1].type, ColumnType::Timestamptz);
    EXPECT_EQ(child.columns[2].name, "value");
    EXPECT_NE(child.columns[2].description.find(expected[i][2]), std::string::npos);
    EXPECT_EQ(child.primary_key, (std::vector<std::string>{"session_id", "timestamp"}));
  }
}

TEST(ActivityCollections, EveryStreamAndColumnIsDescribedAndNamedSafely) {
  expectStreamsDescribedAndNamedSafely(allSpecs());
}

TEST(ActivityCollections, EachCallBuildsIndependentSpecs) {
  expectEachCallBuildsIndependentSpecs(&oura::endpoints::activity::makeCollections);
}

// ---------------------------------------------------------------------------------------------
// Every recorded 200 response of these collections

TEST(ActivityRecorded, EveryRecordedDocumentMapsToOneRowWithItsOwnValues) {
  RecordedTally tally;
  ASSERT_NO_FATAL_FAILURE(mapEveryRecording(allSpecs(), tally));
  EXPECT_EQ(tally.files, 6u) << "list, empty list and single of each collection";
  EXPECT_EQ(tally.collections.size(), allSpecs().size());
  EXPECT_EQ(tally.documents["workout"], 83u + 1u);
  EXPECT_EQ(tally.documents["session"], 1u + 1u);
  EXPECT_EQ(tally.totalWarnings(), 0u)
      << "every recorded document has every documented-required key";
  // The listed breathing session has only motion_count (57 items); the single has 149 of each.
  EXPECT_EQ(tally.samples["session_heart_rate"], 149u);
  EXPECT_EQ(tally.samples["session_heart_rate_variability"], 149u);
  EXPECT_EQ(tally.samples["session_motion_count"], 57u + 149u);
}

TEST(ActivityRecorded, WorkoutSingle) {
  const auto& spec = specOf("workout");
  const auto& s = spec.streams[0];
  const auto docs = recordedDocs("workout__single.json");
  ASSERT_EQ(docs.size(), 1u);
  Collector out = mapDoc(spec, docs[0]);
  EXPECT_TRUE(out.warnings.empty());
  const Row& row = out.stream(0).at(0);
  EXPECT_EQ(str(cell(s, row, "id")), "bbfa96cf-9eda-49e9-9d88-36d7fd93975e");
  EXPECT_EQ(str(cell(s, row, "day")), "2024-10-09");
  EXPECT_EQ(str(cell(s, row, "activity")), "walking");
  EXPECT_EQ(str(cell(s, row, "intensity")), "easy");
  EXPECT_EQ(str(cell(s, row, "source")), "confirmed");
  EXPECT_EQ(str(cell(s, row, "start_datetime")), "2024-10-09T09:07:00+02:00");
  EXPECT_EQ(str(cell(s, row, "end_datetime")), "2024-10-09T09:18:00+02:00");
  EXPECT_DOUBLE_EQ(real(cell(s, row, "calories")), 21.967);
  EXPECT_TRUE(isNull(cell(s, row, "distance")));
  EXPECT_TRUE(isNull(cell(s, row, "label")));
  EXPECT_EQ(toJson(parseText(str(cell(s, row, "raw")))), toJson(docs[0]));
  EXPECT_EQ(out.rows.size(), 1u) << "no child streams";
}

TEST(ActivityRecorded, WorkoutListKeepsEachTimestampsOwnOffset) {
  const auto& spec = specOf("workout");
  const auto& s = spec.streams[0];
  const auto docs = recordedDocs("workout__list_2024-10-09_to_2024-11-03.json");
  ASSERT_EQ(docs.size(), 83u);
  std::set<std::string> ids;
  std::set<std::string> days;
  std::size_t null_distance = 0;
  std::size_t mixed_offsets = 0;
  for (const auto& doc : docs) {
    Collector out = mapDoc(spec, doc);
    EXPECT_TRUE(out.warnings.empty());
    const Row& row = out.stream(0).at(0);
    ids.insert(str(cell(s, row, "id")));
    days.insert(str(cell(s, row, "day")));
    null_distance += isNull(cell(s, row, "distance")) ? 1 : 0;
    EXPECT_TRUE(isNull(cell(s, row, "label")));
    const std::string start = str(cell(s, row, "start_datetime"));
    const std::string end = str(cell(s, row, "end_datetime"));
    if (start.substr(19) != end.substr(19)) ++mixed_offsets;
    // Stored as written; the instants still run forwards.
    EXPECT_LT(instant(start).first, instant(end).first) << start << " " << end;
  }
  EXPECT_EQ(ids.size(), 83u) << "`id` is unique: a usable key";
  EXPECT_EQ(days.size(), 24u) << "several workouts a day: `day` is not a key";
  EXPECT_EQ(null_distance, 42u);
  EXPECT_EQ(mixed_offsets, 6u) << "start and end of one workout can have different offsets";
  // 2024-10-25: starts at +00:00 and ends at +02:00 in the same document.
  const auto odd = std::find_if(docs.begin(), docs.end(), [](const Object::Ptr& d) {
    return d->getValue<std::string>("start_datetime") == "2024-10-25T10:35:00+00:00";
  });
  ASSERT_NE(odd, docs.end());
  Collector out = mapDoc(spec, *odd);
  EXPECT_EQ(str(cell(s, out.stream(0).at(0), "end_datetime")), "2024-10-25T12:53:00+02:00");
  // Long float tails are kept exactly.
  const auto tail = std::find_if(docs.begin(), docs.end(), [](const Object::Ptr& d) {
    return !d->get("distance").isEmpty() && d->getValue<double>("distance") == 1422.4962158203125;
  });
  ASSERT_NE(tail, docs.end());
  Collector tail_out = mapDoc(spec, *tail);
  EXPECT_EQ(real(cell(s, tail_out.stream(0).at(0), "distance")), 1422.4962158203125);
}

TEST(ActivityRecorded, SessionSingleAndItsSamples) {
  const auto& spec = specOf("session");
  const auto& s = spec.streams[0];
  const auto docs = recordedDocs("session__single.json");
  ASSERT_EQ(docs.size(), 1u);
  Collector out = mapDoc(spec, docs[0]);
  EXPECT_TRUE(out.warnings.empty());
  const Row& row = out.stream(0).at(0);
  EXPECT_EQ(str(cell(s, row, "id")), "f8354a3e-46f3-47f0-8c12-66f040bb2d0f");
  EXPECT_EQ(str(cell(s, row, "day")), "2019-11-24");
  EXPECT_EQ(str(cell(s, row, "type")), "body_status");
  EXPECT_EQ(str(cell(s, row, "mood")), "good");
  EXPECT_EQ(str(cell(s, row, "start_datetime")), "2019-11-24T21:56:11+01:00");
  EXPECT_EQ(str(cell(s, row, "end_datetime")), "2019-11-24T22:08:13+01:00");
  for (std::size_t k = 1; k <= 3; ++k) {
    ASSERT_EQ(out.stream(k).size(), 149u) << spec.streams[k].name;
    expectSamples(spec, k, docs[0], out.stream(k));
  }
  const auto& hr = spec.streams[1];
  const auto& rows = out.stream(1);
  EXPECT_EQ(str(cell(hr, rows[0], "session_id")), "f8354a3e-46f3-47f0-8c12-66f040bb2d0f");
  EXPECT_EQ(str(cell(hr, rows[0], "timestamp")), "2019-11-24T21:56:11+01:00");
  EXPECT_EQ(str(cell(hr, rows[1], "timestamp")), "2019-11-24T21:56:16+01:00");
  EXPECT_EQ(str(cell(hr, rows[148], "timestamp")), "2019-11-24T22:08:31+01:00");
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(isNull(cell(hr, rows[i], "value"))) << "the first heart rate items are null";
  }
  EXPECT_DOUBLE_EQ(real(cell(hr, rows[4], "value")), 84.3);
  std::size_t null_hrv = 0;
  for (const auto& r : out.stream(2)) null_hrv += isNull(r[2]) ? 1 : 0;
  EXPECT_EQ(null_hrv, 21u);
  EXPECT_DOUBLE_EQ(real(cell(spec.streams[3], out.stream(3)[1], "value")), 53.0);
}

TEST(ActivityRecorded, SessionListBreathingWithOnlyMotion) {
  const auto& spec = specOf("session");
  const auto docs = recordedDocs("session__list_2024-10-09_to_2024-11-03.json");
  ASSERT_EQ(docs.size(), 1u);
  Collector out = mapDoc(spec, docs[0]);
  EXPECT_TRUE(out.warnings.empty());
  EXPECT_EQ(str(cell(spec.streams[0], out.stream(0).at(0), "type")), "breathing");
  EXPECT_TRUE(out.stream(1).empty()) << "heart_rate is null";
  EXPECT_TRUE(out.stream(2).empty()) << "heart_rate_variability is null";
  ASSERT_EQ(out.stream(3).size(), 57u);
  EXPECT_EQ(str(cell(spec.streams[3], out.stream(3)[56], "timestamp")),
            "2024-10-09T16:43:47+02:00");
}

// ---------------------------------------------------------------------------------------------
// Sample timestamps of hand-made documents

TEST(ActivitySampleTimestamps, TheHandMadeSessionKeepsNullItemsAndItsOffset) {
  const auto& spec = specOf("session");
  Collector out = mapDoc(spec, parseObject(samples()[1].full));
  const auto& hr = spec.streams[1];
  ASSERT_EQ(out.stream(1).size(), 3u);
  ASSERT_EQ(out.stream(3).size(), 3u);
  EXPECT_EQ(str(cell(hr, out.stream(1)[2], "timestamp")), "2024-10-09T16:39:17+02:00");
  EXPECT_TRUE(isNull(cell(hr, out.stream(1)[1], "value"))) << "a null sample stays null";
  EXPECT_TRUE(isNull(cell(spec.streams[3], out.stream(3)[2], "value")));
}

TEST(ActivitySampleTimestamps, KeepTheSeriesOffsetAcrossADaylightSavingChange) {
  // A session over the end of CEST (2024-10-27 03:00 local): samples stay in +02:00.
  const auto& spec = specOf("session");
  Object::Ptr doc = parseObject(samples()[1].full);
  doc->set("motion_count", parseText(R"({"interval":1800,"items":[1,null,3.5],
                                         "timestamp":"2024-10-27T02:10:00+02:00"})"));
  doc->set("heart_rate", parseText(R"({"interval":2.5,"items":[70.0,71.0],
                                       "timestamp":"2024-10-27T02:59:59-09:30"})"));
  Collector out = mapDoc(spec, doc);
  EXPECT_TRUE(out.warnings.empty());
  const auto& motion = spec.streams[3];
  ASSERT_EQ(out.stream(3).size(), 3u);
  EXPECT_EQ(str(cell(motion, out.stream(3)[0], "timestamp")), "2024-10-27T02:10:00+02:00");
  EXPECT_EQ(str(cell(motion, out.stream(3)[1], "timestamp")), "2024-10-27T02:40:00+02:00");
  EXPECT_EQ(str(cell(motion, out.stream(3)[2], "timestamp")), "2024-10-27T03:10:00+02:00");
  EXPECT_DOUBLE_EQ(real(cell(motion, out.stream(3)[0], "value")), 1.0);
  EXPECT_TRUE(isNull(cell(motion, out.stream(3)[1], "value")));
  EXPECT_DOUBLE_EQ(real(cell(motion, out.stream(3)[2], "value")), 3.5);
  const auto& hr = spec.streams[1];
  ASSERT_EQ(out.stream(1).size(), 2u);
  EXPECT_EQ(str(cell(hr, out.stream(1)[0], "timestamp")), "2024-10-27T02:59:59-09:30");
  EXPECT_EQ(str(cell(hr, out.stream(1)[1], "timestamp")), "2024-10-27T03:00:01.500-09:30");
  for (std::size_t k : sampleStreams(spec)) expectSamples(spec, k, doc, out.stream(k));
}

// ---------------------------------------------------------------------------------------------
// The built shared library

TEST(ActivityPluginLibrary, LoadsAndCreatesIndependentInstances) {
  LoadedEndpointPlugin plugin;
  ASSERT_NO_FATAL_FAILURE(loadEndpointPlugin("activity", allSpecs(), plugin));
  // mapDocument through the plugin (the default: mapByPaths).
  Collector out = mapThrough(*plugin.first, 1, recordedDocs("session__single.json").at(0));
  EXPECT_EQ(out.stream(0).size(), 1u);
  EXPECT_EQ(out.stream(1).size(), 149u);
  EXPECT_EQ(out.stream(2).size(), 149u);
  EXPECT_EQ(out.stream(3).size(), 149u);
  // Destroying one instance leaves the other usable.
  plugin.first_instance.reset();
  Collector out_b = mapThrough(*plugin.second, 0, recordedDocs("workout__single.json").at(0));
  EXPECT_EQ(out_b.stream(0).size(), 1u);
  // A MappingError thrown inside the plugin is caught here as the SDK type.
  EXPECT_THROW(mapThrough(*plugin.second, 0, parseObject(R"({"day":"2024-10-09"})")),
               sdk::MappingError);
}

}  // namespace
