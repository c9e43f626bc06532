// Tests of the `ring` endpoint plugin: its collection specs, the generic mapper on every
// recorded response of these collections, hand-made documents (every field set, every nullable
// field null, drift, wrong types), and the built shared library.
#include "../collections.hpp"

#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/errors.hpp>
#include <oura_sdk/plugin.hpp>
#include <oura_sdk/rows.hpp>

#include "mapping_support.hpp"

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <boost/dll/shared_library.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sdk = oura::sdk;
namespace fs = std::filesystem;
using Poco::Dynamic::Var;
using Poco::JSON::Object;
using sdk::ColumnType;
using sdk::Row;

using namespace oura::test;

namespace {

const std::vector<sdk::CollectionSpec>& allSpecs() {
  static const std::vector<sdk::CollectionSpec> specs = oura::endpoints::ring::makeCollections();
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
  std::string full;           ///< every property set
  std::string nulls;          ///< every nullable property null, the rest set
  std::string enum_path;      ///< a property with an enum, empty when none
  std::string drop_required;  ///< a documented-required property that is not part of the key
                              ///< (empty when the schema has none)
  std::string drop_optional;  ///< an optional property (empty when the schema has none)
};

const std::vector<Sample>& samples() {
  static const std::vector<Sample> list = {
      // Only `id` is required, and it is the key: the drift case drops `email`, as a token
      // without the `email` scope does.
      {"personal_info",
       R"({"id":"32adcdb2d-012-564b63838-8d1e0a-09b-3","age":36,"weight":78.5,"height":1.76,
           "biological_sex":"female","email":"someone@example.org"})",
       R"({"id":"p2","age":null,"weight":null,"height":null,"biological_sex":null,
           "email":null})",
       "", "", "email"},
      {"ring_configuration",
       R"({"id":"a7f906c3-ef87-4f00-a13d-98c9b89e5cd4","color":"stealth_black",
           "design":"horizon","firmware_version":"3.0.9","hardware_type":"gen4",
           "set_up_at":"2024-03-09T10:48:37+00:00","size":9})",
       R"({"id":"r2","color":null,"design":null,"firmware_version":null,"hardware_type":null,
           "set_up_at":null,"size":null})",
       "hardware_type", "", "firmware_version"},
      // No battery data was recorded (recorded/README.md); shaped after PublicRingBatteryLevelRow.
      {"ring_battery_level",
       R"({"timestamp":"2024-12-14T08:00:00+00:00","timestamp_unix":1734163200000,"level":87,
           "charging":false,"in_charger":true})",
       R"({"timestamp":"2024-12-14T08:05:00+00:00","timestamp_unix":1734163500000,"level":0,
           "charging":null,"in_charger":null})",
       "", "level", "charging"},
      {"rest_mode_period",
       R"({"id":"b1907762-45cc-434b-9175-0da158a6bdcf","start_day":"2023-05-04",
           "start_time":"2023-05-04T07:12:41+02:00","end_day":"2023-05-05",
           "end_time":"2023-05-05T15:06:18+02:00",
           "episodes":[{"tags":["tag_generic_surgery"],
                        "timestamp":"2023-05-04T07:12:41.593+02:00"}]})",
       // An open period: no end yet.
       R"({"id":"m2","start_day":"2024-11-11","start_time":null,"end_day":null,"end_time":null,
           "episodes":[]})",
       "", "episodes", "end_time"},
  };
  return list;
}

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
       365, "daily", {"id"}},
      {"ring_battery_level", "PublicRingBatteryLevelRow", sdk::SyncStrategy::DateTimeWindow,
       "timestamp", false, 30, "daily", {"timestamp"}},
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
    const auto& raw = doc.columns.back();
    EXPECT_EQ(raw.name, "raw");
    EXPECT_EQ(raw.type, ColumnType::Jsonb);
    EXPECT_EQ(raw.json_path, "$");
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

TEST(RingCollections, EachCallBuildsIndependentSpecs) {
  auto a = oura::endpoints::ring::makeCollections();
  const auto b = oura::endpoints::ring::makeCollections();
  a[0].streams[0].columns.clear();
  EXPECT_FALSE(b[0].streams[0].columns.empty());
}

// The OpenAPI contract of these collections, README.md and sample.toml are checked for every
// endpoint plugin at once by tests/integration/contract_test.cpp.

// ---------------------------------------------------------------------------------------------
// Every recorded 200 response of these collections (there is no recorded battery data)

TEST(RingRecorded, EveryRecordedDocumentMapsToOneRowWithItsOwnValues) {
  const std::regex name_re(
      R"(^(personal_info|ring_configuration|ring_battery_level|rest_mode_period)__(.+)\.json$)");
  std::map<std::string, std::size_t> docs_per_collection;
  std::size_t files = 0;
  std::size_t warnings = 0;
  for (const auto& entry : fs::directory_iterator(fixtures() / "recorded")) {
    const std::string file = entry.path().filename().string();
    std::smatch m;
    if (!std::regex_match(file, m, name_re)) continue;
    if (m[2].str().find("not_found") != std::string::npos) continue;  // 404, no document
    SCOPED_TRACE(file);
    ++files;
    const auto& spec = specOf(m[1].str());
    const Object::Ptr response = parseFile(entry.path()).extract<Object::Ptr>();
    ASSERT_EQ(response->getValue<int>("status"), 200);
    EXPECT_EQ(response->getObject("request")->getValue<std::string>("path").rfind(spec.path, 0),
              0u);
    const auto docs = documentsOf(response->get("body"));
    ASSERT_FALSE(docs.empty());
    for (std::size_t i = 0; i < docs.size(); ++i) {
      SCOPED_TRACE("document " + std::to_string(i));
      Collector out;
      ASSERT_NO_THROW(out = mapDoc(spec, docs[i]));
      ASSERT_EQ(out.stream(0).size(), 1u) << "one row per document";
      EXPECT_EQ(out.rows.size(), 1u) << "no child rows";
      expectRowMatches(spec, docs[i], out.stream(0)[0]);
      EXPECT_EQ(out.warnings.size(), absentRequired(spec, docs[i]));
      warnings += out.warnings.size();
      ++docs_per_collection[spec.name];
    }
  }
  EXPECT_EQ(files, 6u);
  EXPECT_EQ(docs_per_collection["personal_info"], 1u);
  EXPECT_EQ(docs_per_collection["ring_configuration"], 2u + 1u);
  EXPECT_EQ(docs_per_collection["rest_mode_period"], 1u + 55u + 1u);
  EXPECT_EQ(docs_per_collection.count("ring_battery_level"), 0u) << "no recorded battery data";
  EXPECT_EQ(warnings, 0u) << "every recorded document has all its required keys";
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
// Hand-made documents, per collection

class RingSample : public ::testing::TestWithParam<Sample> {};

TEST_P(RingSample, EveryFieldSet) {
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
}

TEST_P(RingSample, EveryNullableFieldNull) {
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
  }
}

TEST_P(RingSample, DriftMissingKeysUnknownKeyUnknownEnumValue) {
  const auto& spec = specOf(GetParam().collection);
  const auto& s = spec.streams[0];
  const std::string& required = GetParam().drop_required;
  const std::string& optional = GetParam().drop_optional;
  Object::Ptr doc = parseObject(GetParam().full);
  if (!required.empty()) setPath(doc, required, Var(), true);
  if (!optional.empty()) setPath(doc, optional, Var(), true);
  doc->set("brand_new_field", parseText(R"({"nested":[1,2,3]})"));
  if (!GetParam().enum_path.empty()) setPath(doc, GetParam().enum_path, std::string("unheard_of"));
  Collector out;
  ASSERT_NO_THROW(out = mapDoc(spec, doc));
  // An absent documented-required key is warned about; an absent optional one is not.
  ASSERT_EQ(out.warnings.size(), required.empty() ? 0u : 1u);
  if (!required.empty()) {
    EXPECT_EQ(out.warnings[0], "required field '" + required + "' is absent");
  }
  ASSERT_EQ(out.stream(0).size(), 1u);
  const Row& row = out.stream(0)[0];
  expectRowMatches(spec, doc, row);
  if (!required.empty()) {
    EXPECT_TRUE(isNull(cell(s, row, required)));
  }
  if (!optional.empty()) {
    EXPECT_TRUE(isNull(cell(s, row, optional)));
  }
  EXPECT_NE(str(cell(s, row, "raw")).find("brand_new_field"), std::string::npos)
      << "unknown keys survive in raw";
  if (!GetParam().enum_path.empty()) {
    EXPECT_EQ(str(cell(s, row, GetParam().enum_path)), "unheard_of")
        << "unknown enum values are kept as text";
  }
}

TEST_P(RingSample, MissingNullOrInvalidKeyThrowsMappingError) {
  const auto& spec = specOf(GetParam().collection);
  for (const auto& key : spec.streams[0].primary_key) {
    SCOPED_TRACE(key);
    const auto& column = spec.streams[0].columns[spec.streams[0].columnIndex(key)];
    {
      Object::Ptr doc = parseObject(GetParam().full);
      setPath(doc, column.json_path, Var(), true);
      EXPECT_THROW(mapDoc(spec, doc), sdk::MappingError);
    }
    {
      Object::Ptr doc = parseObject(GetParam().full);
      setPath(doc, column.json_path, Var());
      EXPECT_THROW(mapDoc(spec, doc), sdk::MappingError);
    }
    if (column.type != ColumnType::Text) {
      Object::Ptr doc = parseObject(GetParam().full);
      setPath(doc, column.json_path, std::string("yesterday"));
      EXPECT_THROW(mapDoc(spec, doc), sdk::MappingError);
    }
  }
}

TEST_P(RingSample, WrongTypesBecomeNullWithAWarning) {
  const auto& spec = specOf(GetParam().collection);
  const auto& s = spec.streams[0];
  for (const auto& column : s.columns) {
    if (column.json_path == "$") continue;
    const bool key = std::find(s.primary_key.begin(), s.primary_key.end(), column.name) !=
                     s.primary_key.end();
    if (key) continue;  // a key of the wrong type cannot key the row (checked above)
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
  }
}

INSTANTIATE_TEST_SUITE_P(Collections, RingSample, ::testing::ValuesIn(samples()),
                         [](const ::testing::TestParamInfo<Sample>& info) {
                           return info.param.collection;
                         });

// ---------------------------------------------------------------------------------------------
// The built shared library

TEST(RingPluginLibrary, LoadsAndCreatesIndependentInstances) {
  const char* dir = std::getenv("OURA_PLUGIN_DIR");
  ASSERT_NE(dir, nullptr);
  const fs::path file = fs::path(dir) / "oura-endpoint-ring.so";
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
  EXPECT_STREQ(descriptor->name, "ring");
  EXPECT_STREQ(descriptor->version, "0.1.0");
  EXPECT_GT(std::strlen(descriptor->description), 0u);
  EXPECT_TRUE(descriptor->config_schema().empty());

  const sdk::PluginContext first{"ring", sdk::Logger("oura.endpoint.ring"), sdk::PluginConfig()};
  const sdk::PluginContext second{"ring2", sdk::Logger("oura.endpoint.ring2"),
                                  sdk::PluginConfig()};
  std::unique_ptr<sdk::Plugin> a(descriptor->create(first));
  std::unique_ptr<sdk::Plugin> b(descriptor->create(second));
  auto* ea = dynamic_cast<sdk::EndpointPlugin*>(a.get());
  auto* eb = dynamic_cast<sdk::EndpointPlugin*>(b.get());
  ASSERT_NE(ea, nullptr);
  ASSERT_NE(eb, nullptr);
  ASSERT_EQ(ea->collections().size(), allSpecs().size());
  EXPECT_EQ(&ea->collections(), &ea->collections()) << "built once per instance";
  EXPECT_NE(&ea->collections(), &eb->collections()) << "no state shared between instances";
  for (std::size_t i = 0; i < allSpecs().size(); ++i) {
    EXPECT_EQ(ea->collections()[i].name, allSpecs()[i].name);
    EXPECT_EQ(ea->collections()[i].streams.size(), allSpecs()[i].streams.size());
    EXPECT_EQ(ea->collections()[i].streams[0].columns.size(),
              allSpecs()[i].streams[0].columns.size());
  }
  // mapDocument through the plugin (the default: mapByPaths), on the bare personal_info object.
  const auto doc = recordedDocs("personal_info__get.json").at(0);
  Collector out;
  ea->mapDocument(ea->collections()[0], *doc, toJson(doc), out);
  EXPECT_EQ(out.stream(0).size(), 1u);
  EXPECT_TRUE(out.warnings.empty());
  // A MappingError thrown inside the plugin is caught here as the SDK type.
  Object::Ptr no_id = parseObject(R"({"start_day":"2024-11-11","episodes":[]})");
  EXPECT_THROW(eb->mapDocument(eb->collections()[3], *no_id, "{}", out), sdk::MappingError);
  a.reset();
  b.reset();
}

}  // namespace
