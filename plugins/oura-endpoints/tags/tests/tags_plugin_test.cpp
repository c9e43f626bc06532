// Tests of the `tags` endpoint plugin: its collection specs, the generic mapper on every
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
  static const std::vector<sdk::CollectionSpec> specs = oura::endpoints::tags::makeCollections();
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
  // No `tag` document was recorded (recorded/README.md: the upstream `tag` cassettes were
  // hand-written mocks), so `tag` is covered by these documents, shaped after TagModel.
  static const std::vector<Sample> list = {
      {"tag",
       R"({"id":"5f0e8f0a-7c59-4b0e-9a8c-1c0f6a1e2b3d","day":"2024-11-11",
           "text":"late dinner with wine","timestamp":"2024-11-11T21:40:12+01:00",
           "tags":["tag_generic_alcohol","tag_sleep_latemeal"]})",
       R"({"id":"t2","day":"2024-11-12","text":null,"timestamp":"2024-11-12T07:00:00-05:00",
           "tags":[]})",
       "", "text", ""},
      {"enhanced_tag",
       R"({"id":"16c8c2f9-3c7b-472c-83fc-5ebf2024c380","tag_type_code":"custom",
           "start_time":"2024-08-05T20:15:01+02:00","end_time":"2024-08-06T06:30:00+02:00",
           "start_day":"2024-08-05","end_day":"2024-08-06","comment":"after the long run",
           "custom_name":"sauna"})",
       R"({"id":"e2","tag_type_code":null,"start_time":"2024-11-09T00:44:30+01:00",
           "end_time":null,"start_day":"2024-11-09","end_day":null,"comment":null,
           "custom_name":null})",
       "tag_type_code", "start_time", "end_time"},
  };
  return list;
}

// ---------------------------------------------------------------------------------------------
// Collection declarations

TEST(TagsCollections, DeclaresTagAndEnhancedTag) {
  const auto& specs = allSpecs();
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].name, "tag");
  EXPECT_EQ(specs[0].openapi_schema, "TagModel");
  EXPECT_EQ(specs[0].day_field, "day");
  EXPECT_EQ(specs[1].name, "enhanced_tag");
  EXPECT_EQ(specs[1].openapi_schema, "EnhancedTagModel");
  EXPECT_EQ(specs[1].day_field, "start_day");
  for (const auto& spec : specs) {
    SCOPED_TRACE(spec.name);
    EXPECT_EQ(spec.path, "/v2/usercollection/" + spec.name);
    EXPECT_EQ(spec.strategy, sdk::SyncStrategy::DateWindow);
    EXPECT_FALSE(spec.bare_object);
    EXPECT_EQ(spec.max_window_days, 365);
    EXPECT_EQ(spec.scope, "tag");
    EXPECT_TRUE(spec.raw_only.empty());
    ASSERT_EQ(spec.streams.size(), 1u);
    const auto& doc = spec.streams[0];
    EXPECT_EQ(doc.name, spec.name);
    EXPECT_EQ(doc.primary_key, std::vector<std::string>{"id"}) << "a day can hold several tags";
    EXPECT_EQ(doc.columns.at(doc.columnIndex(spec.day_field)).type, ColumnType::Date);
    const auto& raw = doc.columns.back();
    EXPECT_EQ(raw.name, "raw");
    EXPECT_EQ(raw.type, ColumnType::Jsonb);
    EXPECT_EQ(raw.json_path, "$");
  }
  EXPECT_EQ(specs[0].streams[0].columns.at(specs[0].streams[0].columnIndex("tags")).type,
            ColumnType::Jsonb)
      << "arrays are jsonb";
}

TEST(TagsCollections, EveryStreamAndColumnIsDescribedAndNamedSafely) {
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

TEST(TagsCollections, EachCallBuildsIndependentSpecs) {
  auto a = oura::endpoints::tags::makeCollections();
  const auto b = oura::endpoints::tags::makeCollections();
  a[0].streams[0].columns.clear();
  EXPECT_FALSE(b[0].streams[0].columns.empty());
}

// The OpenAPI contract of these collections, README.md and sample.toml are checked for every
// endpoint plugin at once by tests/integration/contract_test.cpp.

// ---------------------------------------------------------------------------------------------
// Every recorded 200 response of these collections (there is no recorded `tag` data)

TEST(TagsRecorded, EveryRecordedDocumentMapsToOneRowWithItsOwnValues) {
  const std::regex name_re(R"(^(tag|enhanced_tag)__(.+)\.json$)");
  std::map<std::string, std::size_t> docs_per_collection;
  std::size_t files = 0;
  std::size_t warnings = 0;
  std::set<std::string> ids;
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
      if (m[2].str().rfind("list_full_history", 0) == 0) {
        ids.insert(str(cell(spec.streams[0], out.stream(0)[0], "id")));
      }
    }
  }
  EXPECT_EQ(files, 3u);
  EXPECT_EQ(docs_per_collection["enhanced_tag"], 2u + 21u + 1u);
  EXPECT_EQ(docs_per_collection.count("tag"), 0u) << "no recorded tag data";
  EXPECT_EQ(warnings, 0u) << "every recorded enhanced tag has all its required keys";
  EXPECT_EQ(ids.size(), 21u) << "`id` keys the full history (two days have two tags each)";
}

TEST(TagsRecorded, EnhancedTagKeepsEmptyCommentAndNullEnds) {
  const auto& spec = specOf("enhanced_tag");
  const auto& s = spec.streams[0];
  const auto docs = recordedDocs("enhanced_tag__list_2024-08-05_to_2024-11-09.json");
  ASSERT_EQ(docs.size(), 2u);
  Collector out = mapDoc(spec, docs[1]);
  EXPECT_TRUE(out.warnings.empty());
  const Row& row = out.stream(0).at(0);
  EXPECT_EQ(str(cell(s, row, "id")), "078c1c26-7aea-41df-b14f-a5e334db3463");
  EXPECT_EQ(str(cell(s, row, "tag_type_code")), "tag_generic_party");
  EXPECT_EQ(str(cell(s, row, "start_time")), "2024-11-09T00:44:30+01:00");
  EXPECT_EQ(str(cell(s, row, "start_day")), "2024-11-09");
  EXPECT_EQ(str(cell(s, row, "comment")), "") << "an empty comment is \"\", not NULL";
  EXPECT_TRUE(isNull(cell(s, row, "end_time")));
  EXPECT_TRUE(isNull(cell(s, row, "end_day")));
  EXPECT_TRUE(isNull(cell(s, row, "custom_name")));

  // Two tags on one day are two rows with different keys.
  std::map<std::string, std::set<std::string>> ids_per_day;
  for (const auto& doc : recordedDocs("enhanced_tag__list_full_history_start_0024.json")) {
    Collector one = mapDoc(spec, doc);
    const Row& r = one.stream(0).at(0);
    ids_per_day[str(cell(s, r, "start_day"))].insert(str(cell(s, r, "id")));
  }
  std::size_t days_with_two = 0;
  for (const auto& [day, ids] : ids_per_day) {
    if (ids.size() == 2) ++days_with_two;
  }
  EXPECT_EQ(days_with_two, 2u);
}

TEST(TagsMapper, TheTagArrayIsJsonb) {
  const auto& spec = specOf("tag");
  const auto& s = spec.streams[0];
  Collector out = mapDoc(spec, parseObject(samples()[0].full));
  EXPECT_EQ(str(cell(s, out.stream(0).at(0), "tags")),
            R"(["tag_generic_alcohol","tag_sleep_latemeal"])");
}

// ---------------------------------------------------------------------------------------------
// Hand-made documents, per collection

class TagsSample : public ::testing::TestWithParam<Sample> {};

TEST_P(TagsSample, EveryFieldSet) {
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

TEST_P(TagsSample, EveryNullableFieldNull) {
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

TEST_P(TagsSample, DriftMissingKeysUnknownKeyUnknownEnumValue) {
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

TEST_P(TagsSample, MissingNullOrInvalidKeyThrowsMappingError) {
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

TEST_P(TagsSample, WrongTypesBecomeNullWithAWarning) {
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

INSTANTIATE_TEST_SUITE_P(Collections, TagsSample, ::testing::ValuesIn(samples()),
                         [](const ::testing::TestParamInfo<Sample>& info) {
                           return info.param.collection;
                         });

// ---------------------------------------------------------------------------------------------
// The built shared library

TEST(TagsPluginLibrary, LoadsAndCreatesIndependentInstances) {
  const char* dir = std::getenv("OURA_PLUGIN_DIR");
  ASSERT_NE(dir, nullptr);
  const fs::path file = fs::path(dir) / "oura-endpoint-tags.so";
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
  EXPECT_STREQ(descriptor->name, "tags");
  EXPECT_STREQ(descriptor->version, "0.1.0");
  EXPECT_GT(std::strlen(descriptor->description), 0u);
  EXPECT_TRUE(descriptor->config_schema().empty());

  const sdk::PluginContext first{"tags", sdk::Logger("oura.endpoint.tags"), sdk::PluginConfig()};
  const sdk::PluginContext second{"tags2", sdk::Logger("oura.endpoint.tags2"),
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
  const auto doc = recordedDocs("enhanced_tag__single.json").at(0);
  Collector out;
  ea->mapDocument(ea->collections()[1], *doc, toJson(doc), out);
  EXPECT_EQ(out.stream(0).size(), 1u);
  EXPECT_TRUE(out.warnings.empty());
  // A MappingError thrown inside the plugin is caught here as the SDK type.
  Object::Ptr no_id = parseObject(R"({"day":"2024-11-11","text":null,"tags":[]})");
  EXPECT_THROW(eb->mapDocument(eb->collections()[0], *no_id, "{}", out), sdk::MappingError);
  a.reset();
  b.reset();
}

}  // namespace
