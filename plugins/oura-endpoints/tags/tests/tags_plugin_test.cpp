// Tests of the `tags` endpoint plugin: its collection specs, the generic mapper on every
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
#include <vector>

using namespace oura::test;

namespace {

const std::vector<sdk::CollectionSpec>& allSpecs() {
  static const std::vector<sdk::CollectionSpec> specs = oura::endpoints::tags::makeCollections();
  return specs;
}

const sdk::CollectionSpec& specOf(const std::string& name) { return specNamed(allSpecs(), name); }

// ---------------------------------------------------------------------------------------------
// Hand-made documents per collection

const std::vector<HandMadeDocuments>& samples() {
  // No `tag` document was recorded (recorded/README.md: the upstream `tag` cassettes were
  // hand-written mocks), so `tag` is covered by these documents, shaped after TagModel.
  static const std::vector<HandMadeDocuments> list = {
      {.collection = "tag",
       .full = R"({"id":"5f0e8f0a-7c59-4b0e-9a8c-1c0f6a1e2b3d","day":"2024-11-11",
                   "text":"late dinner with wine","timestamp":"2024-11-11T21:40:12+01:00",
                   "tags":["tag_generic_alcohol","tag_sleep_latemeal"]})",
       .nulls = R"({"id":"t2","day":"2024-11-12","text":null,
                    "timestamp":"2024-11-12T07:00:00-05:00","tags":[]})",
       .required_but_nullable = {"text"},
       .drop_required = "text"},
      {.collection = "enhanced_tag",
       .full = R"({"id":"16c8c2f9-3c7b-472c-83fc-5ebf2024c380","tag_type_code":"custom",
                   "start_time":"2024-08-05T20:15:01+02:00","end_time":"2024-08-06T06:30:00+02:00",
                   "start_day":"2024-08-05","end_day":"2024-08-06","comment":"after the long run",
                   "custom_name":"sauna"})",
       .nulls = R"({"id":"e2","tag_type_code":null,"start_time":"2024-11-09T00:44:30+01:00",
                    "end_time":null,"start_day":"2024-11-09","end_day":null,"comment":null,
                    "custom_name":null})",
       .drop_required = "start_time",
       .drop_optional = "end_time",
       .enum_paths = {"tag_type_code"}},
  };
  return list;
}

INSTANTIATE_TEST_SUITE_P(Tags, HandMadeDocument,
                         ::testing::ValuesIn(handMadeCases(allSpecs(), samples())),
                         handMadeCaseName);

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
    expectRawColumnLast(doc);
  }
  EXPECT_EQ(specs[0].streams[0].columns.at(specs[0].streams[0].columnIndex("tags")).type,
            ColumnType::Jsonb)
      << "arrays are jsonb";
}

TEST(TagsCollections, EveryStreamAndColumnIsDescribedAndNamedSafely) {
  expectStreamsDescribedAndNamedSafely(allSpecs());
}

TEST(TagsCollections, EachCallBuildsIndependentSpecs) {
  expectEachCallBuildsIndependentSpecs(&oura::endpoints::tags::makeCollections);
}

// The OpenAPI contract of these collections, README.md and sample.toml are checked for every
// endpoint plugin at once by tests/integration/contract_test.cpp.

// ---------------------------------------------------------------------------------------------
// Every recorded 200 response of these collections (there is no recorded `tag` data)

TEST(TagsRecorded, EveryRecordedDocumentMapsToOneRowWithItsOwnValues) {
  std::set<std::string> ids;
  RecordedTally tally;
  ASSERT_NO_FATAL_FAILURE(mapEveryRecording(
      allSpecs(), tally,
      [&](const std::string& file, const sdk::CollectionSpec& spec, const Object::Ptr&,
          Collector& out) {
        if (file.find("__list_full_history") != std::string::npos) {
          ids.insert(str(cell(spec.streams[0], out.stream(0)[0], "id")));
        }
      }));
  EXPECT_EQ(tally.files, 3u);
  EXPECT_EQ(tally.documents["enhanced_tag"], 2u + 21u + 1u);
  EXPECT_EQ(tally.documents.count("tag"), 0u) << "no recorded tag data";
  EXPECT_EQ(tally.totalWarnings(), 0u) << "every recorded enhanced tag has all its required keys";
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
// The built shared library

TEST(TagsPluginLibrary, LoadsAndCreatesIndependentInstances) {
  LoadedEndpointPlugin plugin;
  ASSERT_NO_FATAL_FAILURE(loadEndpointPlugin("tags", allSpecs(), plugin));
  // mapDocument through the plugin (the default: mapByPaths).
  Collector out = mapThrough(*plugin.first, 1, recordedDocs("enhanced_tag__single.json").at(0));
  EXPECT_EQ(out.stream(0).size(), 1u);
  EXPECT_TRUE(out.warnings.empty());
  // A MappingError thrown inside the plugin is caught here as the SDK type.
  EXPECT_THROW(
      mapThrough(*plugin.second, 0, parseObject(R"({"day":"2024-11-11","text":null,"tags":[]})")),
      sdk::MappingError);
}

}  // namespace
