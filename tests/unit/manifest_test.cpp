// The manifest: every problem is "file:line:column: key.path: problem"; plugin config tables are
// validated against the plugin's schema, with secret references resolved and never echoed.
#include "config/manifest.hpp"
#include "auth/token_provider.hpp"
#include "auth/scopes.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <oura_sdk/config.hpp>
#include <oura_sdk/errors.hpp>
#include <string>

namespace {

namespace fs = std::filesystem;
namespace sdk = oura::sdk;
using oura::core::loadManifest;
using oura::core::Manifest;
using oura::core::validatePluginConfig;

// The smallest valid manifest (a prefix for most tests).
constexpr const char* kMinimal =
    "[token_store]\n"         // 1
    "plugin = \"env\"\n"      // 2
    "\n"                      // 3
    "[[endpoints]]\n"         // 4
    "plugin = \"daily\"\n"    // 5
    "\n"                      // 6
    "[[sinks]]\n"             // 7
    "plugin = \"stdout\"\n";  // 8

class ManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "oura-manifest-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    file_ = (fs::path(dir_) / "oura.toml").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void write(const std::string& name, const std::string& content) {
    std::ofstream(fs::path(dir_) / name, std::ios::binary) << content;
  }

  Manifest load(const std::string& content) {
    write("oura.toml", content);
    return loadManifest(file_);
  }

  // The message of the ConfigError that loading `content` throws.
  std::string errorOf(const std::string& content) {
    try {
      load(content);
    } catch (const sdk::ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no ConfigError for:\n" << content;
    return {};
  }

  // The message of the ConfigError that validating sinks[0].config of `content` throws.
  std::string configErrorOf(const std::string& content, const sdk::ConfigSchema& schema) {
    Manifest m = load(content);
    try {
      validatePluginConfig(m.sinks.at(0).config, schema, m.file, "sinks[0].config");
    } catch (const sdk::ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no ConfigError for:\n" << content;
    return {};
  }

  sdk::PluginConfig configOf(const std::string& content, const sdk::ConfigSchema& schema) {
    Manifest m = load(content);
    return validatePluginConfig(m.sinks.at(0).config, schema, m.file, "sinks[0].config");
  }

  // "<file>:<line>:<column>: " as messages start.
  std::string at(int line, int column) const {
    return file_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
  }

  std::string dir_;
  std::string file_;
};

// Starts with `prefix` (gtest prints both on failure).
::testing::AssertionResult startsWith(const std::string& text, const std::string& prefix) {
  if (text.rfind(prefix, 0) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << text << "\"\n  does not start with\n\"" << prefix << "\"";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_.c_str(), old_->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

const sdk::ConfigSchema kSinkSchema{
    {"dsn", sdk::ConfigType::String, true, std::nullopt, "connection string"},
    {"password", sdk::ConfigType::Secret, false, std::nullopt, "database password"},
    {"batch_size", sdk::ConfigType::Integer, false, std::int64_t{500}, "rows per batch"},
    {"timeout", sdk::ConfigType::Float, false, 2.5, "seconds"},
    {"verbose", sdk::ConfigType::Boolean, false, false, "log every batch"},
    {"tables", sdk::ConfigType::StringList, false, std::vector<std::string>{"a"}, "tables"},
};

// --- syntax and manifest keys ----------------------------------------------------------------

TEST_F(ManifestTest, MinimalManifestGetsDefaults) {
  ScopedEnv env("OURA_PLUGIN_DIR", nullptr);
  Manifest m = load(kMinimal);
  EXPECT_EQ(m.file, file_);
  EXPECT_EQ(m.account, "default");
  EXPECT_EQ(m.days, 7);
  EXPECT_TRUE(m.collections.empty());
  EXPECT_EQ(m.plugin_dirs, std::vector<std::string>{OURA_DEFAULT_PLUGIN_DIR});
  EXPECT_EQ(m.http.base_url, "https://api.ouraring.com");
  EXPECT_EQ(m.http.connect_timeout, std::chrono::seconds(10));
  EXPECT_EQ(m.http.read_timeout, std::chrono::seconds(60));
  EXPECT_EQ(m.http.ca_file, "");
  EXPECT_EQ(m.rate_limit.requests, 5000);
  EXPECT_EQ(m.rate_limit.window, std::chrono::seconds(300));
  EXPECT_EQ(m.rate_limit.concurrency, 4);
  EXPECT_EQ(m.retry.max_attempts, 5);
  EXPECT_EQ(m.retry.base_delay, std::chrono::milliseconds(500));
  EXPECT_EQ(m.retry.max_delay, std::chrono::seconds(60));
  EXPECT_EQ(m.retry.max_total, std::chrono::seconds(600));

  EXPECT_EQ(m.token_store.kind, sdk::PluginKind::TokenStore);
  EXPECT_EQ(m.token_store.plugin, "env");
  EXPECT_EQ(m.token_store.name, "env");  // name defaults to plugin
  EXPECT_FALSE(m.token_store.path);
  EXPECT_TRUE(m.token_store.config.empty());
  EXPECT_EQ(m.token_store.where, file_ + ":1:1");
  ASSERT_EQ(m.endpoints.size(), 1u);
  EXPECT_EQ(m.endpoints[0].kind, sdk::PluginKind::Endpoint);
  EXPECT_EQ(m.endpoints[0].name, "daily");
  ASSERT_EQ(m.sinks.size(), 1u);
  EXPECT_EQ(m.sinks[0].kind, sdk::PluginKind::Sink);
  EXPECT_EQ(m.sinks[0].name, "stdout");
  EXPECT_EQ(m.sinks[0].where, file_ + ":7:1");
}

TEST_F(ManifestTest, EverySectionIsRead) {
  write("ca.pem", "");
  Manifest m = load(std::string(kMinimal) +
                    "name = \"out\"\n"
                    "path = \"lib/oura-sink-stdout.so\"\n"
                    "[sinks.config]\n"
                    "pretty = true\n"
                    "[collector]\n"
                    "account = \"alice\"\n"
                    "plugin_dirs = [\"plugins\", \"/opt/oura/plugins\", \"../shared\"]\n"
                    "collections = [\"daily_sleep\", \"heartrate\"]\n"
                    "days = 30\n"
                    "[api]\n"
                    "base_url = \"http://127.0.0.1:8080/\"\n"
                    "connect_timeout = 2.5\n"
                    "read_timeout = 5\n"
                    "ca_file = \"ca.pem\"\n"
                    "[rate_limit]\n"
                    "requests = 100\n"
                    "window = 1.5\n"
                    "concurrency = 2\n"
                    "[retry]\n"
                    "max_attempts = 3\n"
                    "base_delay = 0.01\n"
                    "max_delay = 0.25\n"
                    "max_total = 2\n");
  EXPECT_EQ(m.account, "alice");
  const fs::path folder = fs::path(dir_);
  EXPECT_EQ(m.plugin_dirs,
            (std::vector<std::string>{(folder / "plugins").string(), "/opt/oura/plugins",
                                      (folder.parent_path() / "shared").string()}));
  EXPECT_EQ(m.collections, (std::vector<std::string>{"daily_sleep", "heartrate"}));
  EXPECT_EQ(m.days, 30);
  EXPECT_EQ(m.http.base_url, "http://127.0.0.1:8080");         // trailing '/' dropped
  EXPECT_EQ(m.http.connect_timeout, std::chrono::seconds(3));  // rounded up to whole seconds
  EXPECT_EQ(m.http.read_timeout, std::chrono::seconds(5));
  EXPECT_EQ(m.http.ca_file, (folder / "ca.pem").string());
  EXPECT_EQ(m.rate_limit.requests, 100);
  EXPECT_EQ(m.rate_limit.window, std::chrono::milliseconds(1500));
  EXPECT_EQ(m.rate_limit.concurrency, 2);
  EXPECT_EQ(m.retry.max_attempts, 3);
  EXPECT_EQ(m.retry.base_delay, std::chrono::milliseconds(10));
  EXPECT_EQ(m.retry.max_delay, std::chrono::milliseconds(250));
  EXPECT_EQ(m.retry.max_total, std::chrono::seconds(2));
  ASSERT_EQ(m.sinks.size(), 1u);
  EXPECT_EQ(m.sinks[0].name, "out");
  EXPECT_EQ(m.sinks[0].path, (folder / "lib/oura-sink-stdout.so").string());
  EXPECT_EQ(m.sinks[0].config.size(), 1u);
}

TEST_F(ManifestTest, SyntaxErrorReportsPosition) {
  const std::string message = errorOf("[collector]\ndays = \n");
  EXPECT_TRUE(startsWith(message, at(2, 8))) << message;
  EXPECT_GT(message.size(), at(2, 8).size());  // toml++'s description follows
}

TEST_F(ManifestTest, MissingFileIsAConfigError) {
  try {
    loadManifest(dir_ + "/absent.toml");
    FAIL() << "no error";
  } catch (const sdk::ConfigError& e) {
    EXPECT_TRUE(startsWith(e.what(), dir_ + "/absent.toml: cannot read the manifest")) << e.what();
  }
}

TEST_F(ManifestTest, UnknownTopLevelKey) {
  const std::string message = errorOf(std::string(kMinimal) + "\n[colour]\nred = 1\n");
  // Line 10 holds "[colour]": the key starts at column 2, after the bracket.
  EXPECT_TRUE(startsWith(message, at(10, 2) + "colour: unknown key")) << message;

  const std::string plain = errorOf("verbose = true\n" + std::string(kMinimal));
  EXPECT_TRUE(startsWith(plain, at(1, 1) + "verbose: unknown key")) << plain;
}

TEST_F(ManifestTest, UnknownKeyInASection) {
  std::string message = errorOf(std::string(kMinimal) + "[rate_limit]\nrequests = 10\nburst = 3\n");
  EXPECT_TRUE(startsWith(message, at(11, 1) + "rate_limit.burst: unknown key")) << message;

  message = errorOf(std::string(kMinimal) + "  colour = \"red\"\n");
  EXPECT_TRUE(startsWith(message, at(9, 3) + "sinks[0].colour: unknown key")) << message;
}

TEST_F(ManifestTest, WrongType) {
  std::string message = errorOf(std::string(kMinimal) + "[rate_limit]\nrequests = \"many\"\n");
  EXPECT_EQ(message, at(10, 12) + "rate_limit.requests: expected an integer, got a string");

  message = errorOf(std::string(kMinimal) + "[collector]\ncollections = [\"daily_sleep\", 3]\n");
  EXPECT_EQ(message, at(10, 31) + "collector.collections[1]: expected a string, got an integer");

  message = errorOf(std::string(kMinimal) + "[retry]\nmax_delay = true\n");
  EXPECT_TRUE(startsWith(message, at(10, 13) + "retry.max_delay: expected a number of seconds"))
      << message;

  message = errorOf(std::string(kMinimal) + "config = \"x\"\n");
  EXPECT_EQ(message, at(9, 10) + "sinks[0].config: expected a table, got a string");

  message = errorOf("[endpoints]\nplugin = \"daily\"\n[token_store]\nplugin = \"env\"\n");
  EXPECT_TRUE(startsWith(message, at(1, 1) + "endpoints: expected an array of tables")) << message;
}

TEST_F(ManifestTest, BadValues) {
  std::string message = errorOf(std::string(kMinimal) + "[collector]\ndays = 0\n");
  EXPECT_EQ(message, at(10, 8) + "collector.days: must be a positive integer, got 0");

  message = errorOf(std::string(kMinimal) + "[api]\nbase_url = \"ftp://example.com\"\n");
  EXPECT_TRUE(startsWith(message, at(10, 12) + "api.base_url: must be an http:// or https://"))
      << message;

  message = errorOf(std::string(kMinimal) + "[rate_limit]\nwindow = -1\n");
  EXPECT_TRUE(startsWith(message, at(10, 10) + "rate_limit.window: must be a positive")) << message;

  message = errorOf(std::string(kMinimal) + "[retry]\nbase_delay = 10\nmax_delay = 1\n");
  EXPECT_TRUE(startsWith(message, at(11, 13) + "retry.max_delay: ")) << message;
}

TEST_F(ManifestTest, MissingRequiredKeys) {
  // No [token_store]: reported at the enclosing (root) table.
  std::string message =
      errorOf("[[endpoints]]\nplugin = \"daily\"\n[[sinks]]\nplugin = \"stdout\"\n");
  EXPECT_TRUE(startsWith(message, at(1, 1) + "token_store: missing")) << message;

  // [[sinks]] without plugin: reported at the [[sinks]] header.
  message = errorOf(
      "[token_store]\nplugin = \"env\"\n[[endpoints]]\nplugin = \"daily\"\n"
      "[[sinks]]\nname = \"out\"\n");
  EXPECT_EQ(message, at(5, 1) + "sinks[0].plugin: missing required key");

  // No [[sinks]] at all.
  message = errorOf("[token_store]\nplugin = \"env\"\n[[endpoints]]\nplugin = \"daily\"\n");
  EXPECT_TRUE(startsWith(message, at(1, 1) + "sinks: missing")) << message;

  // An empty array of sinks.
  message =
      errorOf("sinks = []\n[token_store]\nplugin = \"env\"\n[[endpoints]]\nplugin = \"daily\"\n");
  EXPECT_EQ(message, at(1, 9) + "sinks: at least one [[sinks]] is required");
}

TEST_F(ManifestTest, DuplicateInstanceNameReportsTheSecond) {
  std::string message = errorOf(std::string(kMinimal) + "[[endpoints]]\nplugin = \"daily\"\n");
  EXPECT_TRUE(
      startsWith(message, at(10, 10) + "endpoints[1].name: duplicate instance name 'daily'"))
      << message;

  message = errorOf(std::string(kMinimal) +
                    "name = \"out\"\n[[sinks]]\nplugin = \"postgres\"\n"
                    "name = \"out\"\n");
  EXPECT_TRUE(startsWith(message, at(12, 8) + "sinks[1].name: duplicate instance name 'out'"))
      << message;

  // The same name in two kinds is fine.
  Manifest m = load(std::string(kMinimal) + "name = \"daily\"\n");
  EXPECT_EQ(m.sinks[0].name, "daily");
}

TEST_F(ManifestTest, RelativePluginDirsResolveAgainstTheManifestFolder) {
  ScopedEnv env("OURA_PLUGIN_DIR", "/from/env");
  Manifest m =
      load("[collector]\nplugin_dirs = [\"plugins\", \"./a/../b\"]\n" + std::string(kMinimal));
  EXPECT_EQ(m.plugin_dirs, (std::vector<std::string>{(fs::path(dir_) / "plugins").string(),
                                                     (fs::path(dir_) / "b").string()}));
}

TEST_F(ManifestTest, PluginDirEnvironmentIsPrependedToTheDefault) {
  {
    ScopedEnv env("OURA_PLUGIN_DIR", "/build/plugins");
    Manifest m = load(kMinimal);
    EXPECT_EQ(m.plugin_dirs, (std::vector<std::string>{"/build/plugins", OURA_DEFAULT_PLUGIN_DIR}));
  }
  {
    ScopedEnv env("OURA_PLUGIN_DIR", nullptr);
    Manifest m = load(kMinimal);
    EXPECT_EQ(m.plugin_dirs, (std::vector<std::string>{OURA_DEFAULT_PLUGIN_DIR}));
  }
}

// --- plugin config ---------------------------------------------------------------------------

TEST_F(ManifestTest, PluginConfigDefaultsAndTypes) {
  sdk::PluginConfig config = configOf(std::string(kMinimal) +
                                          "[sinks.config]\n"
                                          "dsn = \"host=/tmp\"\n"
                                          "timeout = 3\n",  // an integer where a float is declared
                                      kSinkSchema);
  EXPECT_EQ(config.getString("dsn"), "host=/tmp");
  EXPECT_EQ(config.getInt("batch_size"), 500);  // default
  EXPECT_DOUBLE_EQ(config.getFloat("timeout"), 3.0);
  EXPECT_FALSE(config.getBool("verbose"));
  EXPECT_EQ(config.getStringList("tables"), std::vector<std::string>{"a"});
  EXPECT_FALSE(config.has("password"));  // optional, no default
}

TEST_F(ManifestTest, UnknownPluginConfigKey) {
  const std::string message = configErrorOf(std::string(kMinimal) +
                                                "[sinks.config]\n"
                                                "dsn = \"x\"\n"
                                                "colour = \"red\"\n",
                                            kSinkSchema);
  EXPECT_TRUE(startsWith(message, at(11, 1) + "sinks[0].config.colour: unknown key")) << message;
}

TEST_F(ManifestTest, PluginConfigWrongType) {
  std::string message = configErrorOf(
      std::string(kMinimal) + "config = { dsn = \"x\", batch_size = 1.5 }\n", kSinkSchema);
  EXPECT_EQ(message, at(9, 36) + "sinks[0].config.batch_size: expected an integer, got a float");

  message = configErrorOf(std::string(kMinimal) +
                              "[sinks.config]\ndsn = \"x\"\n"
                              "tables = [\"a\", false]\n",
                          kSinkSchema);
  EXPECT_EQ(message, at(11, 16) + "sinks[0].config.tables[1]: expected a string, got a boolean");
}

TEST_F(ManifestTest, MissingRequiredPluginConfigKey) {
  // With a config table: reported at the table.
  std::string message =
      configErrorOf(std::string(kMinimal) + "[sinks.config]\nverbose = true\n", kSinkSchema);
  EXPECT_TRUE(startsWith(message, at(9, 1) + "sinks[0].config.dsn: missing required key"))
      << message;
  // Without one: reported at the instance's table.
  message = configErrorOf(kMinimal, kSinkSchema);
  EXPECT_TRUE(startsWith(message, at(7, 1) + "sinks[0].config.dsn: missing required key"))
      << message;
}

TEST_F(ManifestTest, InlineSecretIsRefusedAndNotEchoed) {
  const std::string message = configErrorOf(std::string(kMinimal) +
                                                "[sinks.config]\n"
                                                "dsn = \"x\"\n"
                                                "password = \"hunter2-inline\"\n",
                                            kSinkSchema);
  EXPECT_EQ(message, at(11, 12) +
                         "sinks[0].config.password: secrets must not be inline: use { env = "
                         "\"NAME\" } or { file = \"PATH\" }");
  EXPECT_FALSE(contains(message, "hunter2-inline"));
}

TEST_F(ManifestTest, EnvReferenceResolved) {
  ScopedEnv env("OURA_TEST_DB_PASSWORD", "s3cret-from-env");
  ScopedEnv dsn("OURA_TEST_DSN", "host=/run/postgresql");
  sdk::PluginConfig config = configOf(std::string(kMinimal) +
                                          "[sinks.config]\n"
                                          "dsn = { env = \"OURA_TEST_DSN\" }\n"
                                          "password = { env = \"OURA_TEST_DB_PASSWORD\" }\n",
                                      kSinkSchema);
  EXPECT_EQ(config.getString("password"), "s3cret-from-env");
  EXPECT_EQ(config.getString("dsn"), "host=/run/postgresql");  // a plain string key may refer too
}

TEST_F(ManifestTest, EnvReferenceMissingOrEmpty) {
  const std::string content = std::string(kMinimal) +
                              "[sinks.config]\n"
                              "dsn = \"x\"\n"
                              "password = { env = \"OURA_TEST_UNSET_PASSWORD\" }\n";
  {
    ScopedEnv env("OURA_TEST_UNSET_PASSWORD", nullptr);
    EXPECT_EQ(
        configErrorOf(content, kSinkSchema),
        at(11, 20) +
            "sinks[0].config.password: environment variable OURA_TEST_UNSET_PASSWORD is not set");
  }
  {
    ScopedEnv env("OURA_TEST_UNSET_PASSWORD", "");
    EXPECT_EQ(
        configErrorOf(content, kSinkSchema),
        at(11, 20) +
            "sinks[0].config.password: environment variable OURA_TEST_UNSET_PASSWORD is empty");
  }
}

TEST_F(ManifestTest, FileReferenceResolved) {
  write("password.txt", "s3cret-from-file\n");  // one trailing newline is stripped
  write("dsn.txt", "line1\nline2\n\n");         // only one
  sdk::PluginConfig config = configOf(std::string(kMinimal) +
                                          "[sinks.config]\n"
                                          "dsn = { file = \"dsn.txt\" }\n"
                                          "password = { file = \"" +
                                          dir_ + "/password.txt\" }\n",
                                      kSinkSchema);
  EXPECT_EQ(config.getString("password"), "s3cret-from-file");
  EXPECT_EQ(config.getString("dsn"), "line1\nline2\n");
}

TEST_F(ManifestTest, FileReferenceUnreadable) {
  const std::string message = configErrorOf(std::string(kMinimal) +
                                                "[sinks.config]\n"
                                                "dsn = \"x\"\n"
                                                "password = { file = \"absent.txt\" }\n",
                                            kSinkSchema);
  EXPECT_TRUE(startsWith(message, at(11, 21) + "sinks[0].config.password: cannot read file " +
                                      (fs::path(dir_) / "absent.txt").string()))
      << message;
}

TEST_F(ManifestTest, BadReferences) {
  std::string message = configErrorOf(std::string(kMinimal) +
                                          "[sinks.config]\ndsn = \"x\"\n"
                                          "password = { vault = \"x\" }\n",
                                      kSinkSchema);
  EXPECT_TRUE(startsWith(message, at(11, 14) + "sinks[0].config.password.vault: unknown key"))
      << message;
  message = configErrorOf(std::string(kMinimal) +
                              "[sinks.config]\ndsn = \"x\"\n"
                              "password = { env = \"A\", file = \"b\" }\n",
                          kSinkSchema);
  EXPECT_TRUE(startsWith(message, at(11, 12) + "sinks[0].config.password: ")) << message;
  message = configErrorOf(std::string(kMinimal) + "[sinks.config]\ndsn = \"x\"\npassword = 42\n",
                          kSinkSchema);
  EXPECT_TRUE(startsWith(message, at(11, 12) + "sinks[0].config.password: expected a reference"))
      << message;
}

TEST_F(ManifestTest, ResolvedSecretNeverAppearsInAnError) {
  ScopedEnv env("OURA_TEST_DB_PASSWORD", "TOPSECRET-VALUE-42");
  write("secret.txt", "TOPSECRET-FILE-42\n");
  // A secret resolved fine, then another key fails: the message names keys, never values.
  std::string message = configErrorOf(std::string(kMinimal) +
                                          "[sinks.config]\n"
                                          "password = { env = \"OURA_TEST_DB_PASSWORD\" }\n"
                                          "dsn = { file = \"secret.txt\" }\n"
                                          "batch_size = \"lots\"\n",
                                      kSinkSchema);
  EXPECT_TRUE(startsWith(message, at(12, 14) + "sinks[0].config.batch_size: ")) << message;
  EXPECT_FALSE(contains(message, "TOPSECRET")) << message;

  // A secret value where an integer is expected: only the type is named.
  const sdk::ConfigSchema int_schema{{"count", sdk::ConfigType::Integer, true, std::nullopt, ""}};
  message = configErrorOf(std::string(kMinimal) + "[sinks.config]\ncount = \"TOPSECRET-INLINE\"\n",
                          int_schema);
  EXPECT_EQ(message, at(10, 9) + "sinks[0].config.count: expected an integer, got a string");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// [oauth]

TEST_F(ManifestTest, OAuthIsAbsentByDefaultAndHasOurasDefaults) {
  EXPECT_FALSE(load(kMinimal).oauth.has_value());
  ::setenv("OURA_TEST_OAUTH_SECRET", "the-secret", 1);
  const Manifest m = load(std::string(kMinimal) +
                          "[oauth]\nclient_id = \"abc\"\n"
                          "client_secret = { env = \"OURA_TEST_OAUTH_SECRET\" }\n");
  ASSERT_TRUE(m.oauth.has_value());
  EXPECT_EQ(m.oauth->client_id, "abc");
  EXPECT_EQ(m.oauth->client_secret, "the-secret");
  EXPECT_EQ(m.oauth->authorize_url, "https://cloud.ouraring.com/oauth/authorize");
  EXPECT_EQ(m.oauth->token_url, "https://api.ouraring.com/oauth/token");
  EXPECT_EQ(m.oauth->revoke_url, "https://api.ouraring.com/oauth/revoke");
  // The default scopes are the live authorization server's, which win over the OpenAPI export
  // (tests/fixtures/openapi.json, docs/DESIGN.md "Oura API facts"): every scope of the export is
  // asked for under the name the live server grants (`spo2Daily` as `spo2`), and so are the
  // scopes the live server gates collections on that the export does not list (`stress`,
  // `heart_health`, `ring_configuration`).
  {
    const char* fixtures = std::getenv("OURA_FIXTURES");
    ASSERT_NE(fixtures, nullptr) << "run through ctest (OURA_FIXTURES)";
    std::ifstream spec_file(std::string(fixtures) + "/openapi.json");
    Poco::JSON::Object::Ptr spec =
        Poco::JSON::Parser().parse(spec_file).extract<Poco::JSON::Object::Ptr>();
    Poco::JSON::Object::Ptr scopes = spec->getObject("components")
                                         ->getObject("securitySchemes")
                                         ->getObject("OAuth2")
                                         ->getObject("flows")
                                         ->getObject("authorizationCode")
                                         ->getObject("scopes");
    std::vector<std::string> documented;
    scopes->getNames(documented);
    std::vector<std::string> defaults = m.oauth->scopes;
    for (const std::string& scope : documented) {
      EXPECT_TRUE(oura::core::scopeGranted(defaults, scope))
          << "the export's scope " << scope << " is asked for under one of its names";
    }
    std::sort(defaults.begin(), defaults.end());
    const std::vector<std::string> live = {"daily",   "email",   "heart_health",
                                           "heartrate", "personal", "ring_configuration",
                                           "session", "spo2",    "stress",
                                           "tag",     "workout"};
    EXPECT_EQ(defaults, live);
  }
  EXPECT_EQ(m.oauth->redirect_uri, "http://127.0.0.1:8765/callback");
  EXPECT_FALSE(m.oauth->pkce);
  EXPECT_EQ(m.oauth->refresh_margin, std::chrono::seconds(300));
  EXPECT_EQ(m.oauth->lock_timeout, std::chrono::seconds(60));
  EXPECT_TRUE(m.oauth->ca_file.empty());
}

TEST_F(ManifestTest, OAuthKeysAreRead) {
  write("secret.txt", "from-a-file\n");
  write("ca.pem", "x");
  const Manifest m = load(std::string(kMinimal) +
                          "[oauth]\nclient_id = \"abc\"\nclient_secret = { file = \"secret.txt\" }\n"
                          "token_url = \"https://example.test/oauth/v2/token\"\nrevoke_url = \"\"\n"
                          "scopes = [\"extapi:daily\"]\nredirect_uri = \"http://127.0.0.1:9/cb\"\n"
                          "pkce = true\nrefresh_margin_seconds = 0\nlock_timeout_seconds = 5\n"
                          "timeout_seconds = 1.5\nca_file = \"ca.pem\"\n");
  ASSERT_TRUE(m.oauth.has_value());
  EXPECT_EQ(m.oauth->client_secret, "from-a-file");
  EXPECT_EQ(m.oauth->token_url, "https://example.test/oauth/v2/token");
  EXPECT_TRUE(m.oauth->revoke_url.empty());
  EXPECT_EQ(m.oauth->scopes, std::vector<std::string>{"extapi:daily"});
  EXPECT_TRUE(m.oauth->pkce);
  EXPECT_EQ(m.oauth->refresh_margin, std::chrono::seconds(0));
  EXPECT_EQ(m.oauth->lock_timeout, std::chrono::seconds(5));
  EXPECT_EQ(m.oauth->timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(fs::path(m.oauth->ca_file).filename(), "ca.pem");
}

TEST_F(ManifestTest, OAuthProblemsNameTheirPosition) {
  const std::string base = std::string(kMinimal) + "[oauth]\n";  // [oauth] is line 9
  EXPECT_EQ(errorOf(base + "client_secret = { env = \"X\" }\n").rfind(file_ + ":9:", 0), 0u);
  EXPECT_NE(errorOf(base).find("oauth.client_id: missing required key"), std::string::npos);
  const std::string inline_secret = errorOf(base + "client_id = \"a\"\nclient_secret = \"s3\"\n");
  EXPECT_NE(inline_secret.find(file_ + ":11:"), std::string::npos) << inline_secret;
  EXPECT_NE(inline_secret.find("secrets must not be inline"), std::string::npos);
  EXPECT_EQ(inline_secret.find("s3\""), std::string::npos);
  EXPECT_NE(errorOf(base + "client_id = \"a\"\ncolor = 1\n").find(file_ + ":11:1: oauth.color: unknown key"),
            std::string::npos);
  EXPECT_NE(errorOf(base + "client_id = \"a\"\ntoken_url = \"ftp://x\"\n").find("oauth.token_url"),
            std::string::npos);
  EXPECT_NE(errorOf(base + "client_id = \"a\"\nredirect_uri = \"https://x/cb\"\n")
                .find("oauth.redirect_uri: must be an http:// loopback URL"),
            std::string::npos);
  EXPECT_NE(errorOf(base + "client_id = \"a\"\nsave_retry_seconds = -1\n")
                .find("oauth.save_retry_seconds"),
            std::string::npos);
  EXPECT_NE(errorOf(base + "client_id = \"a\"\npkce = \"yes\"\n").find("oauth.pkce: expected a boolean"),
            std::string::npos);
  EXPECT_NE(errorOf(base + "client_id = \"a\"\nscopes = []\n").find("oauth.scopes: must not be empty"),
            std::string::npos);
  EXPECT_NE(errorOf(base + "client_id = \"a\"\nlock_timeout_seconds = 0\n")
                .find("oauth.lock_timeout_seconds"),
            std::string::npos);
}

// oauth.redirect_uri is what `auth login` listens on: http, a loopback host, an explicit port
// 1-65535 and a path, else 78 at its file:line.
TEST_F(ManifestTest, TheRedirectUriMustBeALoopbackUrlWithAPortAndAPath) {
  const std::string base = std::string(kMinimal) + "[oauth]\nclient_id = \"a\"\n";  // line 10
  for (const std::string good : {"http://127.0.0.1:8765/callback", "http://localhost:1/cb",
                                 "http://[::1]:65535/x/y", "http://127.0.0.1:8765/"}) {
    SCOPED_TRACE(good);
    const Manifest m = load(base + "redirect_uri = \"" + good + "\"\n");
    EXPECT_EQ(m.oauth->redirect_uri, good);
  }
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"http://0.0.0.0:8765/callback", "the host must be 127.0.0.1, ::1 or localhost"},
      {"http://[::]:8765/callback", "the host must be 127.0.0.1, ::1 or localhost"},
      {"http://example.com:8765/callback", "the host must be 127.0.0.1, ::1 or localhost"},
      {"http://192.168.1.2:8765/callback", "the host must be 127.0.0.1, ::1 or localhost"},
      {"http://127.0.0.1:0/callback", "needs an explicit port from 1 to 65535"},
      {"http://127.0.0.1/callback", "needs an explicit port from 1 to 65535"},
      {"http://127.0.0.1:65536/callback", "needs an explicit port from 1 to 65535"},
      {"http://127.0.0.1:8765", "needs a path"},
      {"https://127.0.0.1:8765/callback", "must be an http:// loopback URL"},
      {"http://user@127.0.0.1:8765/callback", "must not carry user info"},
      {"http://127.0.0.1:8765/callback#x", "must not have a #fragment"},
      {"127.0.0.1:8765/callback", "must be an http:// loopback URL"},
  };
  for (const auto& [uri, problem] : bad) {
    SCOPED_TRACE(uri);
    const std::string message = errorOf(base + "redirect_uri = \"" + uri + "\"\n");
    EXPECT_EQ(message.rfind(file_ + ":11:", 0), 0u) << message;
    EXPECT_NE(message.find("oauth.redirect_uri: " + problem), std::string::npos) << message;
  }
}

TEST(OAuthRefreshMargin, IsAtMostHalfOfTheKnownLifetime) {
  using oura::core::effectiveRefreshMargin;
  sdk::TokenSet t;
  EXPECT_EQ(effectiveRefreshMargin(t, std::chrono::seconds(300)), std::chrono::seconds(300));
  t.refreshed_at = 1000;
  t.expires_at = 1000 + 86400;
  EXPECT_EQ(effectiveRefreshMargin(t, std::chrono::seconds(300)), std::chrono::seconds(300));
  t.expires_at = 1000 + 100;
  EXPECT_EQ(effectiveRefreshMargin(t, std::chrono::seconds(300)), std::chrono::seconds(50));
  t.expires_at = 900;  // expired before it was stored: no margin, expiry decides
  EXPECT_EQ(effectiveRefreshMargin(t, std::chrono::seconds(300)), std::chrono::seconds(0));
}

TEST(OAuthTokenCharacters, BearerAndRefreshTokensAreChecked) {
  EXPECT_TRUE(oura::core::validBearerToken("abc-._~+/=XYZ09"));
  for (const std::string& bad : {std::string("a b"), std::string("a\r\nb"), std::string("a\"b"),
                                std::string("a\0b", 3), std::string("\xc3\xa9")}) {
    EXPECT_FALSE(oura::core::validBearerToken(bad)) << bad;
  }
  EXPECT_TRUE(oura::core::validRefreshToken("a b!~{}"));
  for (const std::string bad : {"", "a\nb", "a\tb", "\x7f", "\xc3\xa9"}) {
    EXPECT_FALSE(oura::core::validRefreshToken(bad)) << bad;
  }
}

TEST(OAuthBaseUrl, ReplacesTheOriginOfEveryUrlAndKeepsThePaths) {
  oura::core::OAuthSettings s;
  oura::core::applyOAuthBaseUrl(s, "http://127.0.0.1:4567");
  EXPECT_EQ(s.authorize_url, "http://127.0.0.1:4567/oauth/authorize");
  EXPECT_EQ(s.token_url, "http://127.0.0.1:4567/oauth/token");
  EXPECT_EQ(s.revoke_url, "http://127.0.0.1:4567/oauth/revoke");
  EXPECT_TRUE(s.base_url_from_environment);
  EXPECT_THROW(oura::core::applyOAuthBaseUrl(s, "not a url"), sdk::ConfigError);
}

TEST(OAuthTokenResponse, IsParsedWithOptionalFields) {
  auto full = oura::core::parseTokenResponse(
      R"({"access_token":"a","refresh_token":"r","expires_in":86400,"scope":"daily  personal","token_type":"bearer"})");
  EXPECT_EQ(full.access_token, "a");
  EXPECT_EQ(full.refresh_token, std::optional<std::string>("r"));
  EXPECT_EQ(full.expires_in, std::optional<std::int64_t>(86400));
  EXPECT_EQ(full.scopes, (std::optional<std::vector<std::string>>{{"daily", "personal"}}));
  auto bare = oura::core::parseTokenResponse(R"({"access_token":"a"})");
  EXPECT_FALSE(bare.refresh_token.has_value());  // the old refresh token is kept
  EXPECT_FALSE(bare.expires_in.has_value());
  EXPECT_FALSE(bare.scopes.has_value());
  // A 200 that cannot be used: the outcome is unknown (a refresh token sent may be spent).
  for (const char* bad : {"", "[]", "{}", R"({"access_token":1})", R"({"access_token":""})",
                          "<html>busy</html>", R"({"access_token":"a","refresh_token":7})"}) {
    try {
      oura::core::parseTokenResponse(bad);
      ADD_FAILURE() << bad;
    } catch (const oura::core::OAuthError& e) {
      EXPECT_EQ(e.Error::kind(), oura::core::ErrorKind::Unavailable) << bad;  // exit 69
      EXPECT_EQ(e.kind(), oura::core::OAuthError::Kind::OutcomeUnknown) << bad;
    }
  }
}

// --- hostile manifests (issue 10 item 8) -----------------------------------------------------

TEST_F(ManifestTest, DeepNestingIsRefusedBeforeTomlSeesIt) {
  // 50,000 parts overflowed toml++'s stack (SIGSEGV); each shape is refused with its line.
  std::string key = "a";
  for (int i = 0; i < 50000; ++i) key += ".a";
  std::string message = errorOf(std::string(kMinimal) + "\n" + key + " = 1\n");
  EXPECT_EQ(message, file_ + ":10: a dotted key or table header has more than 32 parts");
  message = errorOf(std::string(kMinimal) + "[" + key + "]\n");
  EXPECT_EQ(message, file_ + ":9: a dotted key or table header has more than 32 parts");
  message = errorOf(std::string(kMinimal) + "[[" + key + "]]\n");
  EXPECT_EQ(message, file_ + ":9: a dotted key or table header has more than 32 parts");
  message = errorOf(std::string(kMinimal) + "[sinks.config]\nx = {" + key + " = 1}\n");
  EXPECT_EQ(message, file_ + ":10: a dotted key or table header has more than 32 parts");
  message = errorOf(std::string(kMinimal) + "[sinks.config]\nx = " + std::string(50000, '[') +
                    std::string(50000, ']') + "\n");
  EXPECT_EQ(message, file_ + ":10: arrays and inline tables nest more than 32 deep");
  std::string inline_tables = "x = ";
  for (int i = 0; i < 50000; ++i) inline_tables += "{a = ";
  message = errorOf(std::string(kMinimal) + "[sinks.config]\n" + inline_tables + "\n");
  EXPECT_EQ(message, file_ + ":10: arrays and inline tables nest more than 32 deep");
  // Dots inside strings, comments and numbers are not key parts.
  Manifest m = load(std::string(kMinimal) + "[sinks.config]\n# " + key + "\nnote = \"" + key +
                    "\"\nratios = [1.5, 2.5, 3.5, 4.5]\n'quoted.key.with.dots' = '" + key +
                    "'\nmulti = \"\"\"\n" + key + "\n\"\"\"\n");
  EXPECT_EQ(m.sinks.at(0).config.size(), 4u);
}

TEST_F(ManifestTest, ControlCharactersInLabelsAreRefusedAndNotEchoed) {
  const std::string message = errorOf(std::string(kMinimal) +
                                      "[collector]\naccount = \"evil\\u0000name\"\n");
  EXPECT_EQ(message, at(10, 11) +
                         "collector.account: contains a control character (U+0000 at offset "
                         "4); the value is not shown");
  const std::string escape = errorOf(std::string(kMinimal) +
                                     "[collector]\naccount = \"red\\u001b[31mtext\"\n");
  EXPECT_NE(escape.find("U+001B"), std::string::npos) << escape;
  EXPECT_EQ(escape.find("red"), std::string::npos) << escape;
}

TEST_F(ManifestTest, UrlsWithUserInfoOrLineBreaksAreRefusedWithoutEchoingThem) {
  std::string message = errorOf(std::string(kMinimal) +
                                "[api]\nbase_url = \"https://user:hunter2@api.example.com\"\n");
  EXPECT_TRUE(startsWith(message, at(10, 12) + "api.base_url: must not carry user info"))
      << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  message = errorOf(std::string(kMinimal) +
                    "[oauth]\nclient_id = \"a\"\ntoken_url = \"https://u:hunter2@x.example/t\"\n");
  EXPECT_TRUE(startsWith(message, at(11, 13) + "oauth.token_url: must not carry user info"))
      << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  message = errorOf(std::string(kMinimal) +
                    "[api]\nbase_url = \"https://api.example.com/\\r\\nX-Injected: 1\"\n");
  EXPECT_TRUE(startsWith(message, at(10, 12) + "api.base_url: contains a control character"))
      << message;
  EXPECT_EQ(message.find("Injected"), std::string::npos) << message;
  message = errorOf(std::string(kMinimal) +
                    "[oauth]\nclient_id = \"a\"\nredirect_uri = \"http://u:hunter2@127.0.0.1:1/c\"\n");
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
}

TEST_F(ManifestTest, ASecretGivenAsAVariableNameIsNotEchoed) {
  const std::string message = configErrorOf(
      std::string(kMinimal) +
          "[sinks.config]\ndsn = \"x\"\npassword = { env = \"pa55/w0rd+s3cret=\" }\n",
      kSinkSchema);
  EXPECT_TRUE(startsWith(message, at(11, 20) + "sinks[0].config.password.env: is not an "
                                               "environment variable name"))
      << message;
  EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
}

TEST_F(ManifestTest, AnEmptyCollectionsListIsRefusedLikeAnEmptyCollectionsOption) {
  // `--collections ""` is a usage error (64); `collections = []` must not mean "everything".
  EXPECT_EQ(errorOf(std::string(kMinimal) + "[collector]\ncollections = []\n"),
            at(10, 15) +
                "collector.collections: must name at least one collection; leave the key out "
                "to fetch every collection the endpoints serve");
}

// Issue 10 item 1: scope names are aliases. The live server grants `spo2` where the OpenAPI
// export says `spo2Daily`, and new-portal applications see every name with `extapi:`.
TEST(Scopes, NamesAreComparedAsAliasesWithAndWithoutTheExtapiPrefix) {
  using oura::core::scopeGranted;
  for (const char* granted : {"spo2", "spo2Daily", "extapi:spo2", "extapi:spo2Daily"}) {
    SCOPED_TRACE(granted);
    EXPECT_TRUE(scopeGranted({"daily", granted}, "spo2"));
    EXPECT_TRUE(scopeGranted({"daily", granted}, "spo2Daily"));
    EXPECT_TRUE(scopeGranted({granted}, "extapi:spo2Daily"));
  }
  EXPECT_TRUE(scopeGranted({"extapi:stress"}, "stress"));
  EXPECT_TRUE(scopeGranted({"heart_health"}, "extapi:heart_health"));
  EXPECT_FALSE(scopeGranted({"daily", "spo2"}, "stress"));
  EXPECT_FALSE(scopeGranted({"extapi:daily"}, "heart_health"));
  EXPECT_FALSE(scopeGranted({"spo2x"}, "spo2"));
  EXPECT_TRUE(scopeGranted({}, ""));
  EXPECT_EQ(oura::core::withNeededScopes({"daily", "extapi:spo2Daily"}, {"spo2", "stress", "daily"}),
            (std::vector<std::string>{"daily", "extapi:spo2Daily", "stress"}));
}
