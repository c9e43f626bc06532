// The checks every endpoint plugin's tests run (plugin_test_support.hpp).
#include "plugin_test_support.hpp"

#include <oura_sdk/logger.hpp>
#include <oura_sdk/version.hpp>

#include <Poco/JSON/Array.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <regex>
#include <stdexcept>

namespace oura::test {

namespace fs = std::filesystem;

const sdk::CollectionSpec& specNamed(const std::vector<sdk::CollectionSpec>& specs,
                                     const std::string& name) {
  for (const auto& spec : specs) {
    if (spec.name == name) return spec;
  }
  throw std::runtime_error("no collection " + name);
}

std::size_t columnIndexOfPath(const sdk::StreamSchema& stream, const std::string& json_path) {
  for (std::size_t i = 0; i < stream.columns.size(); ++i) {
    if (stream.columns[i].json_path == json_path) return i;
  }
  throw std::out_of_range("no column of " + stream.name + " reads " + json_path);
}

void expectStreamsDescribedAndNamedSafely(const std::vector<sdk::CollectionSpec>& specs) {
  const std::regex identifier("[a-z][a-z0-9_]*");
  for (const auto& spec : specs) {
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
    for (const auto& raw_only : spec.raw_only) EXPECT_FALSE(raw_only.reason.empty());
  }
}

void expectEachCallBuildsIndependentSpecs(std::vector<sdk::CollectionSpec> (*make)()) {
  auto a = make();
  const auto b = make();
  const auto fresh = make();
  for (auto& spec : a) {
    spec.streams[0].columns.clear();
    spec.streams.resize(1);
  }
  ASSERT_EQ(b.size(), fresh.size());
  for (std::size_t i = 0; i < b.size(); ++i) {
    SCOPED_TRACE(fresh[i].name);
    ASSERT_EQ(b[i].streams.size(), fresh[i].streams.size());
    for (std::size_t s = 0; s < b[i].streams.size(); ++s) {
      EXPECT_EQ(b[i].streams[s].columns.size(), fresh[i].streams[s].columns.size());
      EXPECT_FALSE(b[i].streams[s].columns.empty());
    }
  }
}

void expectRawColumnLast(const sdk::StreamSchema& stream) {
  ASSERT_FALSE(stream.columns.empty());
  const auto& raw = stream.columns.back();
  EXPECT_EQ(raw.name, "raw");
  EXPECT_EQ(raw.type, ColumnType::Jsonb);
  EXPECT_EQ(raw.json_path, "$");
}

std::vector<std::size_t> sampleStreams(const sdk::CollectionSpec& spec) {
  std::vector<std::size_t> out;
  for (std::size_t s = 1; s < spec.streams.size(); ++s) {
    if (spec.streams[s].samples) out.push_back(s);
  }
  return out;
}

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
  // The parent's key columns come first.
  const auto& parent = spec.streams[0];
  std::vector<Var> keys;
  for (const auto& key : parent.primary_key) {
    keys.emplace_back();
    ASSERT_TRUE(findPath(doc, parent.columns[parent.columnIndex(key)].json_path, keys.back()));
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE("sample " + std::to_string(i));
    ASSERT_EQ(rows[i].size(), keys.size() + 2);
    for (std::size_t k = 0; k < keys.size(); ++k) {
      expectValue(rows[i][k], keys[k], stream.columns[k].type, stream.columns[k].name);
    }
    const auto at = instant(str(cell(stream, rows[i], "timestamp")));
    EXPECT_EQ(at.first - start.first, static_cast<Poco::Timestamp::TimeDiff>(
                                          std::llround(interval * static_cast<double>(i) * 1e6)));
    EXPECT_EQ(at.second, start.second) << "the series' own UTC offset is kept";
    expectValue(cell(stream, rows[i], "value"), items->get(static_cast<unsigned>(i)),
                stream.samples->value_type, stream.name + "[" + std::to_string(i) + "]");
  }
}

std::size_t RecordedTally::totalWarnings() const {
  return std::accumulate(warnings.begin(), warnings.end(), std::size_t{0},
                         [](std::size_t sum, const auto& entry) { return sum + entry.second; });
}

void mapEveryRecording(const std::vector<sdk::CollectionSpec>& specs, RecordedTally& tally,
                       const RecordedDocumentCheck& check) {
  tally = RecordedTally{};
  for (const auto& entry : fs::directory_iterator(fixtures() / "recorded")) {
    const std::string file = entry.path().filename().string();
    const std::size_t separator = file.find("__");
    if (separator == std::string::npos || entry.path().extension() != ".json") continue;
    const std::string collection = file.substr(0, separator);
    const auto spec = std::find_if(specs.begin(), specs.end(),
                                   [&](const auto& s) { return s.name == collection; });
    if (spec == specs.end()) continue;
    const std::string what = entry.path().stem().string().substr(separator + 2);
    if (what.find("not_found") != std::string::npos) continue;  // 404, no document
    SCOPED_TRACE(file);
    ++tally.files;
    tally.collections.insert(collection);
    const Object::Ptr response = parseFile(entry.path()).extract<Object::Ptr>();
    ASSERT_EQ(response->getValue<int>("status"), 200);
    const std::string path = response->getObject("request")->getValue<std::string>("path");
    EXPECT_TRUE(path == spec->path || path.rfind(spec->path + "/", 0) == 0) << path;
    const auto docs = documentsOf(response->get("body"));
    if (what.rfind("list_empty", 0) == 0) {
      EXPECT_TRUE(docs.empty()) << "an empty list maps to zero rows";
      continue;
    }
    ASSERT_FALSE(docs.empty());
    for (std::size_t i = 0; i < docs.size(); ++i) {
      SCOPED_TRACE("document " + std::to_string(i));
      Collector out;
      ASSERT_NO_THROW(out = mapDoc(*spec, docs[i]));
      ASSERT_EQ(out.stream(0).size(), 1u) << "one row per document";
      expectRowMatches(*spec, docs[i], out.stream(0)[0]);
      // Warnings only for documented-required keys that are really absent.
      EXPECT_EQ(out.warnings.size(), absentRequired(*spec, docs[i]));
      tally.warnings[spec->name] += out.warnings.size();
      ++tally.documents[spec->name];
      for (std::size_t s : sampleStreams(*spec)) {
        expectSamples(*spec, s, docs[i], out.stream(s));
        tally.samples[spec->streams[s].name] += out.stream(s).size();
      }
      if (spec->streams.size() == 1) {
        EXPECT_EQ(out.rows.size(), 1u) << "no child rows";
      } else {
        EXPECT_LE(out.rows.size(), spec->streams.size())
            << "no rows for streams the collection does not declare";
      }
      if (check) check(file, *spec, docs[i], out);
    }
  }
}

void loadEndpointPlugin(const std::string& name, const std::vector<sdk::CollectionSpec>& expected,
                        LoadedEndpointPlugin& out) {
  const char* dir = std::getenv("OURA_PLUGIN_DIR");
  ASSERT_NE(dir, nullptr);
  const fs::path file = fs::path(dir) / ("oura-endpoint-" + name + ".so");
  ASSERT_TRUE(fs::exists(file)) << file;
  out.library = boost::dll::shared_library(
      file.string(), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  ASSERT_TRUE(out.library.has("oura_plugin_v1"));
  const auto* descriptor =
      static_cast<const sdk::PluginDescriptor*>(out.library.get<const void*>("oura_plugin_v1"));
  ASSERT_NE(descriptor, nullptr);
  out.descriptor = descriptor;
  EXPECT_EQ(descriptor->magic, sdk::kDescriptorMagic);
  EXPECT_EQ(descriptor->api_version, sdk::kApiVersion);
  EXPECT_STREQ(descriptor->fingerprint, OURA_SDK_BUILD_FINGERPRINT);
  EXPECT_EQ(descriptor->kind, sdk::PluginKind::Endpoint);
  EXPECT_STREQ(descriptor->name, name.c_str());
  EXPECT_STREQ(descriptor->version, "0.1.0");
  EXPECT_GT(std::strlen(descriptor->description), 0u);
  EXPECT_TRUE(descriptor->config_schema().empty());

  const sdk::PluginContext first{name, sdk::Logger("oura.endpoint." + name), sdk::PluginConfig()};
  const sdk::PluginContext second{name + "2", sdk::Logger("oura.endpoint." + name + "2"),
                                  sdk::PluginConfig()};
  out.first_instance.reset(descriptor->create(first));
  out.second_instance.reset(descriptor->create(second));
  out.first = dynamic_cast<sdk::EndpointPlugin*>(out.first_instance.get());
  out.second = dynamic_cast<sdk::EndpointPlugin*>(out.second_instance.get());
  ASSERT_NE(out.first, nullptr);
  ASSERT_NE(out.second, nullptr);
  const auto& a = out.first->collections();
  const auto& b = out.second->collections();
  ASSERT_EQ(a.size(), expected.size());
  ASSERT_EQ(b.size(), expected.size());
  EXPECT_EQ(&a, &out.first->collections()) << "built once per instance";
  EXPECT_NE(&a, &b) << "no state shared between instances";
  for (std::size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i].name);
    EXPECT_EQ(a[i].name, expected[i].name);
    ASSERT_EQ(a[i].streams.size(), expected[i].streams.size());
    EXPECT_EQ(a[i].streams[0].columns.size(), expected[i].streams[0].columns.size());
    EXPECT_NE(&a[i].streams[0], &b[i].streams[0]);
  }
}

Collector mapThrough(const sdk::EndpointPlugin& plugin, std::size_t collection,
                     const Object::Ptr& doc) {
  Collector out;
  plugin.mapDocument(plugin.collections().at(collection), *doc, toJson(doc), out);
  return out;
}

}  // namespace oura::test
