// The contract test: reads tests/fixtures/openapi.json (Oura's public OpenAPI export) and checks
// every collection of every built endpoint plugin against it. When Oura adds a field to a
// document schema, this test fails until the field is mapped to a column or listed as raw-only
// with a reason.
//  - every property of the document schema is a column (nested objects flattened with '_'), a
//    sample child stream (a PublicSample) or listed in raw_only; and every column reads a
//    property of the schema, with a fitting type and the schema's `required`;
//  - the request path exists, takes the parameters the sync strategy sends, and answers the
//    declared document schema; the scope is one of the spec's OAuth2 scopes;
//  - the 19 collections of Oura API v2 are each served by exactly one plugin.
#include "auth/scopes.hpp"
#include "plugin_host/loader.hpp"
#include "mapping_support.hpp"

#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/logger.hpp>

#include <Poco/JSON/Array.h>
#include <Poco/String.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <regex>
#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace oura::test;
using Poco::JSON::Array;

namespace {

// ---------------------------------------------------------------------------------------------
// Contract test: every property of each OpenAPI document schema is a column, a sample stream or
// listed in raw_only; every column points at a property of the schema, with a fitting type and
// the schema's `required`.

class OpenApi {
 public:
  OpenApi() : root_(parseFile(fixtures() / "openapi.json").extract<Object::Ptr>()) {
    schemas_ = root_->getObject("components")->getObject("schemas");
  }

  Object::Ptr schema(const std::string& name) const { return schemas_->getObject(name); }
  Object::Ptr root() const { return root_; }

  /// Resolves `$ref` and `anyOf: [X, null]`. Sets `nullable` and, for references, `ref` (the
  /// last referenced schema name).
  Object::Ptr resolve(Object::Ptr node, bool& nullable, std::string& ref) const {
    for (int depth = 0; depth < 16; ++depth) {
      if (node->has("$ref")) {
        const std::string target = node->getValue<std::string>("$ref");
        ref = target.substr(target.rfind('/') + 1);
        node = schemas_->getObject(ref);
        if (!node) throw std::runtime_error("dangling $ref " + target);
        continue;
      }
      if (node->has("anyOf")) {
        const auto any = node->getArray("anyOf");
        Object::Ptr chosen;
        for (std::size_t i = 0; i < any->size(); ++i) {
          auto alt = any->getObject(static_cast<unsigned>(i));
          if (alt->has("type") && alt->getValue<std::string>("type") == "null") {
            nullable = true;
          } else {
            chosen = alt;
          }
        }
        if (!chosen) throw std::runtime_error("anyOf without a non-null alternative");
        node = chosen;
        continue;
      }
      return node;
    }
    throw std::runtime_error("$ref chain too deep");
  }

 private:
  Object::Ptr root_;
  Object::Ptr schemas_;
};

ColumnType expectedType(const Object::Ptr& schema, const std::string& ref) {
  const std::string type = schema->optValue<std::string>("type", "");
  if (type == "integer") return ColumnType::Integer;
  if (type == "number") return ColumnType::Real;
  if (type == "boolean") return ColumnType::Boolean;
  if (type == "string") {
    const std::string format = schema->optValue<std::string>("format", "");
    if (ref == "ISODate" || format == "date") return ColumnType::Date;
    // LocalDateTime (TagModel, EnhancedTagModel) carries an offset too: "2023-08-30T18:36:03+02:00".
    if (ref == "LocalizedDateTime" || ref == "LocalDateTime" || ref == "UtcDateTime" ||
        format == "date-time") {
      return ColumnType::Timestamptz;
    }
    return ColumnType::Text;  // plain strings and enums (unknown values kept as text)
  }
  return ColumnType::Jsonb;
}

bool isRequired(const Object::Ptr& schema, const std::string& property) {
  if (!schema->has("required")) return false;
  const auto required = schema->getArray("required");
  for (std::size_t i = 0; i < required->size(); ++i) {
    if (required->getElement<std::string>(static_cast<unsigned>(i)) == property) return true;
  }
  return false;
}

void checkCoverage(const OpenApi& api, const sdk::CollectionSpec& spec, const Object::Ptr& schema,
                   const std::string& prefix, bool parent_required,
                   std::set<std::string>& schema_paths) {
  const auto properties = schema->getObject("properties");
  ASSERT_TRUE(properties) << spec.openapi_schema << ": object schema without properties";
  const auto& stream = spec.streams[0];
  for (const auto& name : properties->getNames()) {
    const std::string path = prefix + name;
    SCOPED_TRACE(spec.name + ": property " + path);
    schema_paths.insert(path);
    bool nullable = false;
    std::string ref;
    const auto property = api.resolve(properties->getObject(name), nullable, ref);
    const bool required = parent_required && isRequired(schema, name);

    const auto column = std::find_if(stream.columns.begin(), stream.columns.end(),
                                     [&](const sdk::Column& c) { return c.json_path == path; });
    if (column != stream.columns.end()) {
      EXPECT_EQ(column->type, expectedType(property, ref))
          << "column " << column->name << " is " << sdk::toSqlType(column->type) << ", expected "
          << sdk::toSqlType(expectedType(property, ref));
      EXPECT_EQ(column->required, required) << "column " << column->name;
      std::string flat = path;
      std::replace(flat.begin(), flat.end(), '.', '_');
      EXPECT_EQ(column->name, flat);
      continue;
    }
    const bool raw_only = std::any_of(spec.raw_only.begin(), spec.raw_only.end(),
                                      [&](const sdk::RawOnlyProperty& p) { return p.json_path == path; });
    if (raw_only) continue;
    const bool sampled = std::any_of(spec.streams.begin(), spec.streams.end(), [&](const auto& s) {
      return s.samples && s.samples->json_path == path;
    });
    if (sampled) {
      EXPECT_EQ(ref, "PublicSample") << "a sample stream must read a PublicSample";
      continue;
    }
    if (property->optValue<std::string>("type", "") == "object" && property->has("properties")) {
      // Nested object: its properties are flattened; required only if every level is required
      // and not nullable.
      checkCoverage(api, spec, property, path + ".", required && !nullable, schema_paths);
      continue;
    }
    ADD_FAILURE() << "property '" << path << "' of " << spec.openapi_schema
                  << " is neither a column, a sample stream nor listed in raw_only";
  }
}


std::string readText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Endpoint {
  std::string name;
  std::shared_ptr<sdk::EndpointPlugin> plugin;
};

/// Every endpoint plugin built into $OURA_PLUGIN_DIR, created with its default configuration.
const std::vector<Endpoint>& endpoints() {
  static const std::vector<Endpoint> list = [] {
    const char* dir = std::getenv("OURA_PLUGIN_DIR");
    if (dir == nullptr) throw std::runtime_error("OURA_PLUGIN_DIR is not set (run through ctest)");
    static oura::core::PluginLoader loader({dir});
    auto found = loader.discover();
    std::vector<Endpoint> out;
    for (const auto& loaded : found.plugins) {
      if (loaded.descriptor->kind != sdk::PluginKind::Endpoint) continue;
      std::map<std::string, sdk::ConfigValue> defaults;
      for (const auto& key : loaded.descriptor->config_schema()) {
        if (key.default_value) defaults.emplace(key.name, *key.default_value);
      }
      sdk::PluginContext context{loaded.descriptor->name,
                                 sdk::Logger(std::string("oura.endpoint.") + loaded.descriptor->name),
                                 sdk::PluginConfig(defaults)};
      out.push_back({loaded.descriptor->name,
                     loader.create<sdk::EndpointPlugin>(loaded, context)});
    }
    return out;
  }();
  return list;
}

std::vector<const sdk::CollectionSpec*> allCollections() {
  std::vector<const sdk::CollectionSpec*> out;
  for (const auto& e : endpoints()) {
    for (const auto& spec : e.plugin->collections()) out.push_back(&spec);
  }
  return out;
}

std::set<std::string> parametersOf(const Object::Ptr& get) {
  std::set<std::string> names;
  if (!get->has("parameters")) return names;
  const auto list = get->getArray("parameters");
  for (std::size_t i = 0; i < list->size(); ++i) {
    names.insert(list->getObject(static_cast<unsigned>(i))->getValue<std::string>("name"));
  }
  return names;
}

}  // namespace

TEST(Contract, EveryOuraCollectionIsServedByExactlyOnePlugin) {
  const std::set<std::string> oura = {
      "personal_info", "tag", "enhanced_tag", "workout", "session", "daily_activity",
      "daily_sleep", "daily_spo2", "daily_readiness", "sleep", "sleep_time",
      "rest_mode_period", "ring_configuration", "daily_stress", "daily_resilience",
      "daily_cardiovascular_age", "vO2_max", "heartrate", "ring_battery_level"};
  std::map<std::string, std::vector<std::string>> served;
  for (const auto& e : endpoints()) {
    for (const auto& spec : e.plugin->collections()) served[spec.name].push_back(e.name);
  }
  for (const auto& name : oura) {
    EXPECT_EQ(served[name].size(), 1u) << name << " is served by " << served[name].size()
                                       << " plugins";
  }
  for (const auto& [name, plugins] : served) {
    EXPECT_TRUE(oura.count(name)) << name << " (" << plugins.front()
                                  << ") is not an Oura API v2 collection";
  }
}

TEST(Contract, ColumnsSampleStreamsAndRawOnlyCoverEveryPropertyOfTheOpenApiSchema) {
  const OpenApi api;
  for (const sdk::CollectionSpec* spec : allCollections()) {
    SCOPED_TRACE(spec->name);
    const auto schema = api.schema(spec->openapi_schema);
    ASSERT_TRUE(schema) << "no schema " << spec->openapi_schema << " in openapi.json";
    ASSERT_FALSE(spec->streams.empty());
    EXPECT_EQ(spec->streams[0].name, Poco::toLower(spec->name))
        << "the document stream is named like the collection, in lower case";
    for (const auto& stream : spec->streams) {
      EXPECT_TRUE(std::regex_match(stream.name, std::regex("[a-z][a-z0-9_]*")))
          << stream.name << " is not a plain lower-case SQL identifier";
      for (const auto& column : stream.columns) {
        EXPECT_TRUE(std::regex_match(column.name, std::regex("[a-z][a-z0-9_]*")))
            << stream.name << "." << column.name;
      }
    }
    for (std::size_t s = 1; s < spec->streams.size(); ++s) {
      if (!spec->streams[s].samples) continue;
      std::string field = spec->streams[s].samples->json_path;
      std::replace(field.begin(), field.end(), '.', '_');
      EXPECT_EQ(spec->streams[s].name, Poco::toLower(spec->name) + "_" + field)
          << "a sample stream is named <collection>_<field>";
    }
    std::set<std::string> schema_paths;
    checkCoverage(api, *spec, schema, "", true, schema_paths);
    // The other direction: every column and raw_only entry names a property of the schema.
    for (const auto& column : spec->streams[0].columns) {
      if (column.json_path == "$") continue;
      EXPECT_TRUE(schema_paths.count(column.json_path))
          << "column " << column.name << " reads '" << column.json_path
          << "', which is not in " << spec->openapi_schema;
    }
    for (const auto& raw_only : spec->raw_only) {
      EXPECT_TRUE(schema_paths.count(raw_only.json_path)) << raw_only.json_path;
      EXPECT_FALSE(raw_only.reason.empty()) << raw_only.json_path << " needs a reason";
    }
    for (std::size_t s = 1; s < spec->streams.size(); ++s) {
      ASSERT_TRUE(spec->streams[s].samples) << spec->streams[s].name << " is not a sample stream";
      EXPECT_TRUE(schema_paths.count(spec->streams[s].samples->json_path))
          << spec->streams[s].name;
    }
    // Every key column exists, and the document stream keeps the raw document.
    for (const auto& stream : spec->streams) {
      for (const auto& key : stream.primary_key) {
        EXPECT_NO_THROW(stream.columnIndex(key)) << stream.name << " key " << key;
      }
    }
    const auto& last = spec->streams[0].columns.back();
    EXPECT_EQ(last.json_path, "$") << "the document stream's last column keeps the raw document";
  }
}

TEST(Contract, PathsParametersResponsesAndScopesMatchTheSpec) {
  const OpenApi api;
  const auto paths = api.root()->getObject("paths");
  const auto scopes = api.root()
                          ->getObject("components")
                          ->getObject("securitySchemes")
                          ->getObject("OAuth2")
                          ->getObject("flows")
                          ->getObject("authorizationCode")
                          ->getObject("scopes");
  std::vector<std::string> spec_scopes;
  for (const auto& [name, description] : *scopes) spec_scopes.push_back(name);
  // The live authorization server gates collections on scopes the export does not list, and
  // grants SpO2 as `spo2` (docs/DESIGN.md "Oura API facts"; the live behaviour wins): a plugin's
  // scope is one of the spec's under one of its names, or one of these.
  const std::set<std::string> live_only = {"stress", "heart_health", "ring_configuration"};
  for (const sdk::CollectionSpec* spec : allCollections()) {
    SCOPED_TRACE(spec->name);
    EXPECT_TRUE(oura::core::scopeGranted(spec_scopes, spec->scope) ||
                live_only.count(spec->scope) == 1)
        << "scope " << spec->scope << " is neither an OAuth2 scope of the spec nor a live one";
    const auto path = paths->getObject(spec->path);
    ASSERT_TRUE(path) << spec->path << " is not in the spec";
    const auto get = path->getObject("get");
    ASSERT_TRUE(get);
    const std::set<std::string> parameters = parametersOf(get);
    switch (spec->strategy) {
      case sdk::SyncStrategy::DateWindow:
      case sdk::SyncStrategy::FullRefetch:
        EXPECT_TRUE(parameters.count("start_date"));
        EXPECT_TRUE(parameters.count("end_date"));
        EXPECT_FALSE(spec->day_field.empty()) << "windowed documents are kept by their own day";
        break;
      case sdk::SyncStrategy::DateTimeWindow:
        EXPECT_TRUE(parameters.count("start_datetime"));
        EXPECT_TRUE(parameters.count("end_datetime"));
        EXPECT_LE(spec->max_window_days, 30) << "the API takes at most 30 days a request";
        EXPECT_FALSE(spec->day_field.empty());
        break;
      case sdk::SyncStrategy::Snapshot:
        EXPECT_FALSE(parameters.count("start_date"));
        EXPECT_FALSE(parameters.count("start_datetime"));
        break;
    }
    const std::string body = toJson(get->getObject("responses")->getObject("200"));
    if (spec->bare_object) {
      EXPECT_FALSE(parameters.count("next_token")) << "a bare object does not paginate";
      EXPECT_NE(body.find("/" + spec->openapi_schema + "\""), std::string::npos) << body;
    } else {
      EXPECT_TRUE(parameters.count("next_token"));
      EXPECT_TRUE(body.find("MultiDocumentResponse_" + spec->openapi_schema + "_") !=
                      std::string::npos ||
                  body.find("TimeSeriesResponse_" + spec->openapi_schema + "_") !=
                      std::string::npos)
          << body;
    }
  }
}

// Each endpoint plugin's folder documents exactly what the code declares: its README.md has a
// collections table row per collection (`| `name` | `path` | `schema` | `scope` |`), a heading
// `#### `stream`` per stream and a row `| `column` | <sql type> |` per column; its sample.toml
// enables the plugin.
TEST(Contract, ReadmeAndSampleMatchTheCode) {
  const char* source = std::getenv("OURA_SOURCE_DIR");
  ASSERT_NE(source, nullptr);
  for (const auto& e : endpoints()) {
    SCOPED_TRACE("plugin " + e.name);
    const auto dir = std::filesystem::path(source) / "plugins" / "oura-endpoints" / e.name;
    const std::string readme = readText(dir / "README.md");
    if (readme.empty()) {
      ADD_FAILURE() << dir / "README.md" << " is missing or empty";
      continue;
    }
    for (const auto& spec : e.plugin->collections()) {
      EXPECT_NE(readme.find("| `" + spec.name + "` | `" + spec.path + "` | `" +
                            spec.openapi_schema + "` | `" + spec.scope + "` |"),
                std::string::npos)
          << spec.name;
      for (const auto& stream : spec.streams) {
        EXPECT_NE(readme.find("#### `" + stream.name + "`"), std::string::npos) << stream.name;
        for (const auto& column : stream.columns) {
          EXPECT_NE(readme.find("| `" + column.name + "` | " + sdk::toSqlType(column.type) + " |"),
                    std::string::npos)
              << stream.name << "." << column.name;
        }
      }
    }
    const std::string sample = readText(dir / "sample.toml");
    EXPECT_NE(sample.find("[[endpoints]]\nplugin = \"" + e.name + "\""), std::string::npos)
        << dir / "sample.toml";
  }
}

// Every built plugin's README.md documents exactly the configuration keys its schema declares:
// the table whose header starts with `| key |` has one row `| \`name\` | ...` per key, and no
// row for a key the plugin does not accept.
TEST(Contract, EveryPluginsReadmeTableMatchesItsConfigKeys) {
  const char* source = std::getenv("OURA_SOURCE_DIR");
  const char* dir = std::getenv("OURA_PLUGIN_DIR");
  ASSERT_NE(source, nullptr);
  ASSERT_NE(dir, nullptr);
  oura::core::PluginLoader loader({dir});
  const auto found = loader.discover();
  ASSERT_FALSE(found.plugins.empty());
  for (const auto& loaded : found.plugins) {
    const sdk::PluginKind kind = loaded.descriptor->kind;
    const std::string name = loaded.descriptor->name;
    SCOPED_TRACE(std::string(sdk::toString(kind)) + " plugin " + name);
    const std::string folder = kind == sdk::PluginKind::Endpoint ? "oura-endpoints"
                               : kind == sdk::PluginKind::Sink   ? "sinks"
                                                                 : "auth";
    const auto readme_path = std::filesystem::path(source) / "plugins" / folder / name / "README.md";
    std::istringstream readme(readText(readme_path));
    std::set<std::string> documented;
    bool in_table = false;
    for (std::string line; std::getline(readme, line);) {
      if (line.rfind("| key |", 0) == 0) {
        in_table = true;
        continue;
      }
      if (!in_table) continue;
      if (line.rfind("|---", 0) == 0) continue;
      if (line.rfind("| `", 0) != 0) {
        in_table = false;
        continue;
      }
      const auto end = line.find('`', 3);
      if (end != std::string::npos) documented.insert(line.substr(3, end - 3));
    }
    std::set<std::string> declared;
    for (const auto& key : loaded.descriptor->config_schema()) declared.insert(key.name);
    for (const auto& key : declared) {
      EXPECT_TRUE(documented.count(key)) << readme_path << " has no row for key `" << key << "`";
    }
    for (const auto& key : documented) {
      EXPECT_TRUE(declared.count(key)) << readme_path << " documents `" << key
                                       << "`, which the plugin does not accept";
    }
  }
}
