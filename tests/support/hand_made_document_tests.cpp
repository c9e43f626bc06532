// The suite `HandMadeDocument` (plugin_test_support.hpp): the generic mapper on the hand-made
// documents of one collection. Defined once here, and instantiated by every endpoint plugin's
// test with its own documents. `handMadeCases` is defined in this file on purpose: the test that
// instantiates the suite calls it, so the linker takes this object file (and the suite's
// registrations with it) out of the static library oura_test_support.
#include "plugin_test_support.hpp"

#include <oura_sdk/errors.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace oura::test {

std::vector<HandMadeCase> handMadeCases(const std::vector<sdk::CollectionSpec>& specs,
                                        const std::vector<HandMadeDocuments>& documents) {
  std::vector<HandMadeCase> cases;
  for (const auto& docs : documents) cases.push_back({&specNamed(specs, docs.collection), docs});
  return cases;
}

std::string handMadeCaseName(const ::testing::TestParamInfo<HandMadeCase>& info) {
  return info.param.documents.collection;
}

void PrintTo(const HandMadeCase& hand_made, std::ostream* out) {
  *out << "hand-made documents of " << hand_made.documents.collection;
}

// A test program that links this file without instantiating the suite runs none of it.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(HandMadeDocument);

namespace {

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

TEST_P(HandMadeDocument, EveryFieldSet) {
  Object::Ptr doc = parseObject(documents().full);
  Collector out = mapDoc(spec(), doc);
  EXPECT_TRUE(out.warnings.empty()) << out.warnings.front();
  ASSERT_EQ(out.stream(0).size(), 1u);
  const Row& row = out.stream(0)[0];
  expectRowMatches(spec(), doc, row);
  for (std::size_t c = 0; c < row.size(); ++c) {
    EXPECT_FALSE(isNull(row[c])) << spec().streams[0].columns[c].name << " should be set";
  }
  for (std::size_t s : sampleStreams(spec())) {
    EXPECT_FALSE(out.stream(s).empty()) << spec().streams[s].name << ": every series is set";
    expectSamples(spec(), s, doc, out.stream(s));
  }
}

TEST_P(HandMadeDocument, EveryNullableFieldNull) {
  Object::Ptr doc = parseObject(documents().nulls);
  Collector out = mapDoc(spec(), doc);
  EXPECT_TRUE(out.warnings.empty()) << "null is not absent: no warning";
  ASSERT_EQ(out.stream(0).size(), 1u);
  const Row& row = out.stream(0)[0];
  expectRowMatches(spec(), doc, row);
  for (std::size_t c = 0; c < row.size(); ++c) {
    const auto& column = spec().streams[0].columns[c];
    Var json;
    const bool present =
        column.json_path == "$" || (findPath(doc, column.json_path, json) && !json.isEmpty());
    EXPECT_EQ(isNull(row[c]), !present) << column.name;
    // Only documented-required, non-nullable columns are set in the all-null document.
    if (column.json_path != "$") {
      EXPECT_EQ(present,
                column.required && !contains(documents().required_but_nullable, column.json_path))
          << column.name;
    }
  }
  for (std::size_t s : sampleStreams(spec())) expectSamples(spec(), s, doc, out.stream(s));
}

TEST_P(HandMadeDocument, DriftMissingKeysUnknownKeysUnknownEnumValues) {
  const auto& s = spec().streams[0];
  const std::string& required = documents().drop_required;
  const std::string& optional = documents().drop_optional;
  Object::Ptr doc = parseObject(documents().full);
  if (!required.empty()) setPath(doc, required, Var(), true);
  if (!optional.empty()) setPath(doc, optional, Var(), true);
  doc->set("brand_new_field", parseText(R"({"nested":[1,2,3]})"));
  for (const auto& path : documents().unknown_keys) setPath(doc, path, 42);
  for (const auto& path : documents().enum_paths) setPath(doc, path, std::string("unheard_of"));
  Collector out;
  ASSERT_NO_THROW(out = mapDoc(spec(), doc));
  // An absent documented-required key is warned about, unless the column marks it known absent
  // (real data never carries it); an absent optional one is not.
  const bool known_absent =
      !required.empty() && s.columns.at(columnIndexOfPath(s, required)).known_absent;
  ASSERT_EQ(out.warnings.size(), required.empty() || known_absent ? 0u : 1u);
  if (!required.empty() && !known_absent) {
    EXPECT_EQ(out.warnings[0], "required field '" + required + "' is absent");
  }
  ASSERT_EQ(out.stream(0).size(), 1u);
  const Row& row = out.stream(0)[0];
  expectRowMatches(spec(), doc, row);
  if (!required.empty()) {
    EXPECT_TRUE(isNull(row.at(columnIndexOfPath(s, required))));
  }
  if (!optional.empty()) {
    EXPECT_TRUE(isNull(row.at(columnIndexOfPath(s, optional))));
  }
  const std::string raw = str(cell(s, row, "raw"));
  EXPECT_NE(raw.find("brand_new_field"), std::string::npos) << "unknown keys survive in raw";
  for (const auto& path : documents().unknown_keys) {
    EXPECT_NE(raw.find(path.substr(path.rfind('.') + 1)), std::string::npos) << path;
  }
  for (const auto& path : documents().enum_paths) {
    EXPECT_EQ(str(row.at(columnIndexOfPath(s, path))), "unheard_of")
        << path << ": unknown enum values are kept as text";
  }
  // An unknown key in a series is ignored.
  for (std::size_t k : sampleStreams(spec())) expectSamples(spec(), k, doc, out.stream(k));
}

TEST_P(HandMadeDocument, MissingNullOrInvalidKeyThrowsMappingError) {
  const auto& s = spec().streams[0];
  for (const auto& key : s.primary_key) {
    SCOPED_TRACE(key);
    const auto& column = s.columns[s.columnIndex(key)];
    {
      Object::Ptr doc = parseObject(documents().full);
      setPath(doc, column.json_path, Var(), true);
      EXPECT_THROW(mapDoc(spec(), doc), sdk::MappingError);
    }
    {
      Object::Ptr doc = parseObject(documents().full);
      setPath(doc, column.json_path, Var());
      EXPECT_THROW(mapDoc(spec(), doc), sdk::MappingError);
    }
    // Values of no use as a key: containers, and text that is not of the key's type.
    std::vector<Var> invalid = {parseText(R"({"x":1})"), parseText("[1]")};
    if (column.type != ColumnType::Text) invalid.emplace_back(std::string("yesterday"));
    if (column.type == ColumnType::Date) {
      for (const char* bad : {"2024/11/11", "2024-13-45", "11-11-2024"}) {
        invalid.emplace_back(std::string(bad));
      }
    }
    for (const auto& value : invalid) {
      SCOPED_TRACE(toJson(value));
      Object::Ptr doc = parseObject(documents().full);
      setPath(doc, column.json_path, value);
      EXPECT_THROW(mapDoc(spec(), doc), sdk::MappingError);
    }
  }
}

TEST_P(HandMadeDocument, WrongTypesBecomeNullWithAWarning) {
  const auto& s = spec().streams[0];
  for (const auto& column : s.columns) {
    if (column.json_path == "$" || contains(s.primary_key, column.name)) {
      continue;  // a key of the wrong type cannot key the row (checked above)
    }
    SCOPED_TRACE(column.name);
    Object::Ptr doc = parseObject(documents().full);
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
    ASSERT_NO_THROW(out = mapDoc(spec(), doc));
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

}  // namespace
}  // namespace oura::test
