// Tests of the `heart` endpoint plugin: its collection specs, the generic mapper on every
// recorded response of these collections, hand-made documents (every field set, every nullable
// field null, drift, wrong types), and the built shared library.
#include "../collections.hpp"

#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/errors.hpp>
#include <oura_sdk/plugin.hpp>
#include <oura_sdk/rows.hpp>

#include "mapping_support.hpp"

#include <Poco/Dynamic/Var.h>
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
  static const std::vector<sdk::CollectionSpec> specs = oura::endpoints::heart::makeCollections();
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
      {"heartrate",
       R"({"timestamp":"2024-12-13T18:47:08+00:00","timestamp_unix":1734115628000,"bpm":107,
           "source":"workout"})",
       // Nothing of PublicHeartRateRow is nullable.
       R"({"timestamp":"2024-12-14T00:00:00+00:00","timestamp_unix":1734134400000,"bpm":38,
           "source":"sleep"})",
       "source", "bpm", ""},
      {"vO2_max",
       R"({"id":"0b7e2f4e-5d1c-4c4e-9a53-2f0d7c1c1a11","day":"2024-11-11",
           "timestamp":"2024-11-11T07:12:31+01:00","vo2_max":43})",
       // Nothing of PublicVO2Max is nullable.
       R"({"id":"v2","day":"2024-11-12","timestamp":"2024-11-12T00:00:00-05:00","vo2_max":0})",
       "", "vo2_max", ""},
  };
  return list;
}

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
  EXPECT_EQ(vo2.scope, "daily");
  ASSERT_EQ(vo2.streams.size(), 1u);
  EXPECT_EQ(vo2.streams[0].name, "vo2_max") << "named like the collection, in lower case";
  EXPECT_EQ(vo2.streams[0].primary_key, std::vector<std::string>{"day"});
  EXPECT_EQ(vo2.streams[0].columns.at(vo2.streams[0].columnIndex("vo2_max")).json_path, "vo2_max");
  EXPECT_FALSE(vo2.streams[0].columns.at(vo2.streams[0].columnIndex("id")).name.empty());

  for (const auto& spec : specs) {
    SCOPED_TRACE(spec.name);
    EXPECT_TRUE(spec.raw_only.empty());
    const auto& raw = spec.streams[0].columns.back();
    EXPECT_EQ(raw.name, "raw");
    EXPECT_EQ(raw.type, ColumnType::Jsonb);
    EXPECT_EQ(raw.json_path, "$");
  }
}

TEST(HeartCollections, EveryStreamAndColumnIsDescribedAndNamedSafely) {
  const std::regex identifier("[a-z][a-z0-9_]*");
  for (const auto& spec : allSpecs()) {
    for (const auto& stream : spec.streams) {
      SCOPED_TRACE(stream.name);
      EXPECT_FALSE(stream.description.empty());
      EXPECT_TRUE(std::regex_match(stream.name, identifier)) << "a lower-case SQL identifier";
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

TEST(HeartCollections, EachCallBuildsIndependentSpecs) {
  auto a = oura::endpoints::heart::makeCollections();
  const auto b = oura::endpoints::heart::makeCollections();
  a[0].streams[0].columns.clear();
  EXPECT_FALSE(b[0].streams[0].columns.empty());
}

// The OpenAPI contract of these collections, README.md and sample.toml are checked for every
// endpoint plugin at once by tests/integration/contract_test.cpp.

// ---------------------------------------------------------------------------------------------
// Every recorded 200 response of these collections

TEST(HeartRecorded, EveryRecordedDocumentMapsToOneRowWithItsOwnValues) {
  const std::regex name_re(R"(^(heartrate|vO2_max)__(.+)\.json$)");
  std::map<std::string, std::size_t> docs_per_collection;
  std::map<std::string, std::size_t> warnings_per_collection;
  std::size_t files = 0;
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
    if (m[2].str().rfind("list_empty", 0) == 0) {
      EXPECT_TRUE(docs.empty()) << "an empty list maps to zero rows";
      docs_per_collection.emplace(spec.name, 0);
      continue;
    }
    ASSERT_FALSE(docs.empty());
    for (std::size_t i = 0; i < docs.size(); ++i) {
      SCOPED_TRACE("document " + std::to_string(i));
      Collector out;
      ASSERT_NO_THROW(out = mapDoc(spec, docs[i]));
      ASSERT_EQ(out.stream(0).size(), 1u) << "one row per document";
      EXPECT_EQ(out.rows.size(), 1u) << "no child rows";
      expectRowMatches(spec, docs[i], out.stream(0)[0]);
      // Warnings only for documented-required keys that are really absent.
      EXPECT_EQ(out.warnings.size(), absentRequired(spec, docs[i]));
      warnings_per_collection[spec.name] += out.warnings.size();
      ++docs_per_collection[spec.name];
    }
  }
  EXPECT_EQ(files, 2u);
  EXPECT_EQ(docs_per_collection.size(), allSpecs().size()) << "a recording for every collection";
  EXPECT_EQ(docs_per_collection["heartrate"], 1101u);
  EXPECT_EQ(docs_per_collection["vO2_max"], 0u) << "only an empty list was recorded";
  // Every heart-rate row lacks the documented-required `timestamp_unix`: one warning each.
  EXPECT_EQ(warnings_per_collection["heartrate"], 1101u);
}

TEST(HeartRecorded, HeartRateRowsWithoutTimestampUnixAreNullAndWarnedOnce) {
  const auto& spec = specOf("heartrate");
  const auto& s = spec.streams[0];
  const auto docs = recordedDocs("heartrate__list_default_window.json");
  ASSERT_EQ(docs.size(), 1101u);
  std::map<std::string, std::size_t> sources;
  for (const auto& doc : docs) {
    ASSERT_FALSE(doc->has("timestamp_unix"));
    Collector out = mapDoc(spec, doc);
    ASSERT_EQ(out.warnings.size(), 1u);
    EXPECT_EQ(out.warnings[0], "required field 'timestamp_unix' is absent");
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
// Hand-made documents, per collection

class HeartSample : public ::testing::TestWithParam<Sample> {};

TEST_P(HeartSample, EveryFieldSet) {
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

TEST_P(HeartSample, EveryNullableFieldNull) {
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

TEST_P(HeartSample, DriftMissingKeysUnknownKeyUnknownEnumValue) {
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

TEST_P(HeartSample, MissingNullOrInvalidKeyThrowsMappingError) {
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

TEST_P(HeartSample, WrongTypesBecomeNullWithAWarning) {
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

INSTANTIATE_TEST_SUITE_P(Collections, HeartSample, ::testing::ValuesIn(samples()),
                         [](const ::testing::TestParamInfo<Sample>& info) {
                           return info.param.collection;
                         });

// ---------------------------------------------------------------------------------------------
// The built shared library

TEST(HeartPluginLibrary, LoadsAndCreatesIndependentInstances) {
  const char* dir = std::getenv("OURA_PLUGIN_DIR");
  ASSERT_NE(dir, nullptr);
  const fs::path file = fs::path(dir) / "oura-endpoint-heart.so";
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
  EXPECT_STREQ(descriptor->name, "heart");
  EXPECT_STREQ(descriptor->version, "0.1.0");
  EXPECT_GT(std::strlen(descriptor->description), 0u);
  EXPECT_TRUE(descriptor->config_schema().empty());

  const sdk::PluginContext first{"heart", sdk::Logger("oura.endpoint.heart"), sdk::PluginConfig()};
  const sdk::PluginContext second{"heart2", sdk::Logger("oura.endpoint.heart2"),
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
  // mapDocument through the plugin (the default: mapByPaths).
  const auto doc = recordedDocs("heartrate__list_default_window.json").at(0);
  Collector out;
  ea->mapDocument(ea->collections()[0], *doc, toJson(doc), out);
  EXPECT_EQ(out.stream(0).size(), 1u);
  EXPECT_EQ(out.warnings.size(), 1u) << "timestamp_unix is absent";
  // A MappingError thrown inside the plugin is caught here as the SDK type.
  Object::Ptr no_day = parseObject(R"({"id":"x","vo2_max":40})");
  EXPECT_THROW(eb->mapDocument(eb->collections()[1], *no_day, "{}", out), sdk::MappingError);
  a.reset();
  b.reset();
}

}  // namespace
