// Tests of the `activity` endpoint plugin: its collection declarations, the generic mapper on
// every recorded response of `workout` and `session`, hand-made documents (every field set,
// every nullable field null, drift, wrong types), sample timestamps, and the built shared
// library. The OpenAPI contract and README/sample.toml are checked for every endpoint plugin at
// once by tests/integration/contract_test.cpp.
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
#include <array>
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
  static const std::vector<sdk::CollectionSpec> specs =
      oura::endpoints::activity::makeCollections();
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
  Var id;
  ASSERT_TRUE(findPath(doc, "id", id));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE("sample " + std::to_string(i));
    ASSERT_EQ(rows[i].size(), 3u);
    EXPECT_EQ(str(rows[i][0]), id.extract<std::string>());
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
      {"workout",
       R"({"id":"w1","activity":"cycling","calories":321.5,"day":"2024-10-25",
           "distance":12345.678,"end_datetime":"2024-10-25T12:53:00+02:00",
           "intensity":"hard","label":"to work","source":"manual",
           "start_datetime":"2024-10-25T10:35:00+00:00"})",
       R"({"id":"w2","activity":"walking","calories":null,"day":"2024-10-26",
           "distance":null,"end_datetime":"2024-10-26T09:18:00+02:00","intensity":"easy",
           "label":null,"source":"autodetected","start_datetime":"2024-10-26T09:07:00+02:00"})",
       {"intensity", "source"},
       "activity"},
      {"session",
       R"({"id":"m1","day":"2024-10-09","start_datetime":"2024-10-09T16:39:07+02:00",
           "end_datetime":"2024-10-09T16:39:22+02:00","type":"meditation",
           "heart_rate":{"interval":5.0,"items":[62.5,null,60.0],
                         "timestamp":"2024-10-09T16:39:07.000+02:00"},
           "heart_rate_variability":{"interval":5.0,"items":[null,41.0,43.5],
                                     "timestamp":"2024-10-09T16:39:07.000+02:00"},
           "mood":"great",
           "motion_count":{"interval":5.0,"items":[0.0,32.0,null],
                           "timestamp":"2024-10-09T16:39:07.000+02:00"}})",
       R"({"id":"m2","day":"2024-10-10","start_datetime":"2024-10-10T16:39:07+02:00",
           "end_datetime":"2024-10-10T16:43:44+02:00","type":"breathing","heart_rate":null,
           "heart_rate_variability":null,"mood":null,"motion_count":null})",
       {"type", "mood"},
       "end_datetime"},
  };
  return list;
}

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
    const auto& raw = doc.columns.back();
    EXPECT_EQ(raw.name, "raw");
    EXPECT_EQ(raw.type, ColumnType::Jsonb);
    EXPECT_EQ(raw.json_path, "$");
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

TEST(ActivityCollections, EachCallBuildsIndependentSpecs) {
  auto a = oura::endpoints::activity::makeCollections();
  const auto b = oura::endpoints::activity::makeCollections();
  a[0].streams[0].columns.clear();
  a[1].streams.clear();
  EXPECT_FALSE(b[0].streams[0].columns.empty());
  EXPECT_EQ(b[1].streams.size(), 4u);
}

// ---------------------------------------------------------------------------------------------
// Every recorded 200 response of these collections

TEST(ActivityRecorded, EveryRecordedDocumentMapsToOneRowWithItsOwnValues) {
  const std::regex name_re(R"(^(workout|session)__(list_.+|single)\.json$)");
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
  EXPECT_EQ(docs_per_collection["workout"], 83u + 1u);
  EXPECT_EQ(docs_per_collection["session"], 1u + 1u);
  EXPECT_EQ(warnings, 0u) << "every recorded document has every documented-required key";
  // The listed breathing session has only motion_count (57 items); the single has 149 of each.
  EXPECT_EQ(samples_per_stream["session_heart_rate"], 149u);
  EXPECT_EQ(samples_per_stream["session_heart_rate_variability"], 149u);
  EXPECT_EQ(samples_per_stream["session_motion_count"], 57u + 149u);
}

TEST(ActivityRecorded, EmptyListsMapToZeroRows) {
  for (const char* file :
       {"workout__list_empty_start_1_end_2.json", "session__list_empty_start_1_end_2.json"}) {
    SCOPED_TRACE(file);
    const Var response = parseFile(fixtures() / "recorded" / file);
    ASSERT_EQ(response.extract<Object::Ptr>()->getValue<int>("status"), 200);
    EXPECT_TRUE(recordedDocs(file).empty());
  }
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
// Hand-made documents, per collection

class ActivitySample : public ::testing::TestWithParam<Sample> {};

TEST_P(ActivitySample, EveryFieldSet) {
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
  if (spec.name == "session") {
    const auto& hr = spec.streams[1];
    EXPECT_EQ(str(cell(hr, out.stream(1)[2], "timestamp")), "2024-10-09T16:39:17+02:00");
    EXPECT_TRUE(isNull(cell(hr, out.stream(1)[1], "value"))) << "a null sample stays null";
    EXPECT_TRUE(isNull(cell(spec.streams[3], out.stream(3)[2], "value")));
  }
}

TEST_P(ActivitySample, EveryNullableFieldNull) {
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

TEST_P(ActivitySample, DriftUnknownKeysUnknownEnumValuesAbsentRequiredKey) {
  const auto& spec = specOf(GetParam().collection);
  const auto& s = spec.streams[0];
  Object::Ptr doc = parseObject(GetParam().full);
  doc->remove(GetParam().required_not_key);
  doc->set("brand_new_field", parseText(R"({"nested":[1,2,3]})"));
  if (doc->has("heart_rate")) doc->getObject("heart_rate")->set("unit", std::string("bpm"));
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
  for (const auto& path : GetParam().enum_paths) {
    EXPECT_EQ(str(cell(s, row, path)), "unheard_of") << "unknown enum values are kept as text";
  }
  for (std::size_t k : sampleStreams(spec)) {
    EXPECT_EQ(out.stream(k).size(), 3u) << "an unknown key in a series is ignored";
  }
}

TEST_P(ActivitySample, MissingOrNullIdThrowsMappingError) {
  const auto& spec = specOf(GetParam().collection);
  {
    Object::Ptr doc = parseObject(GetParam().full);
    doc->remove("id");
    EXPECT_THROW(mapDoc(spec, doc), sdk::MappingError);
  }
  {
    Object::Ptr doc = parseObject(GetParam().full);
    doc->set("id", Var());
    EXPECT_THROW(mapDoc(spec, doc), sdk::MappingError);
  }
  {
    Object::Ptr doc = parseObject(GetParam().full);
    doc->set("id", parseText("[1]"));  // not text: no usable key
    EXPECT_THROW(mapDoc(spec, doc), sdk::MappingError);
  }
}

TEST_P(ActivitySample, WrongTypesBecomeNullWithAWarning) {
  const auto& spec = specOf(GetParam().collection);
  const auto& s = spec.streams[0];
  for (const auto& column : s.columns) {
    if (column.json_path == "$" || column.name == "id") continue;  // id: MappingError (above)
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

INSTANTIATE_TEST_SUITE_P(Collections, ActivitySample, ::testing::ValuesIn(samples()),
                         [](const ::testing::TestParamInfo<Sample>& info) {
                           return info.param.collection;
                         });

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
  const char* dir = std::getenv("OURA_PLUGIN_DIR");
  ASSERT_NE(dir, nullptr);
  const fs::path file = fs::path(dir) / "oura-endpoint-activity.so";
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
  EXPECT_STREQ(descriptor->name, "activity");
  EXPECT_STREQ(descriptor->version, "0.1.0");
  EXPECT_GT(std::strlen(descriptor->description), 0u);
  EXPECT_TRUE(descriptor->config_schema().empty());

  const sdk::PluginContext first{"activity", sdk::Logger("oura.endpoint.activity"),
                                 sdk::PluginConfig()};
  const sdk::PluginContext second{"activity2", sdk::Logger("oura.endpoint.activity2"),
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
  EXPECT_NE(&ea->collections()[1].streams[0], &eb->collections()[1].streams[0]);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(ea->collections()[i].name, allSpecs()[i].name);
    EXPECT_EQ(ea->collections()[i].streams.size(), allSpecs()[i].streams.size());
    EXPECT_EQ(ea->collections()[i].streams[0].columns.size(),
              allSpecs()[i].streams[0].columns.size());
  }
  // mapDocument through the plugin (the default: mapByPaths).
  const auto doc = recordedDocs("session__single.json").at(0);
  Collector out;
  ea->mapDocument(ea->collections()[1], *doc, toJson(doc), out);
  EXPECT_EQ(out.stream(0).size(), 1u);
  EXPECT_EQ(out.stream(1).size(), 149u);
  EXPECT_EQ(out.stream(2).size(), 149u);
  EXPECT_EQ(out.stream(3).size(), 149u);
  // Destroying one instance leaves the other usable.
  a.reset();
  const auto workout = recordedDocs("workout__single.json").at(0);
  Collector out_b;
  eb->mapDocument(eb->collections()[0], *workout, toJson(workout), out_b);
  EXPECT_EQ(out_b.stream(0).size(), 1u);
  // A MappingError thrown inside the plugin is caught here as the SDK type.
  Object::Ptr no_id = parseObject(R"({"day":"2024-10-09"})");
  EXPECT_THROW(eb->mapDocument(eb->collections()[0], *no_id, "{}", out_b), sdk::MappingError);
  b.reset();
}

}  // namespace
