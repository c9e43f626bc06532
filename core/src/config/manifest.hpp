#pragma once
// The TOML manifest (toml++): what a run does. Every problem is reported as
// "file:line:column: key.path: problem" in a sdk::ConfigError (exit code 78).
//
// Shape (every key documented in docs/manifest.md):
//
//   [collector]
//   account = "default"                 # label that keys this account's data
//   plugin_dirs = ["..."]               # default: the installed plugin folder
//   collections = ["daily_sleep", ...]  # default: every collection the endpoints serve
//   days = 7                            # window of a run without --days/--since
//
//   [api]
//   base_url = "https://api.ouraring.com"
//   connect_timeout = 10               # seconds
//   read_timeout = 60                  # seconds
//   ca_file = ""                       # default: system CA bundle
//
//   [rate_limit]   requests = 5000, window = 300 (seconds), concurrency = 4
//   [retry]        max_attempts = 5, base_delay = 0.5, max_delay = 60, max_total = 600 (seconds)
//
//   [oauth]                            # optional: needed by auth login and to refresh
//   client_id = "..."                  # required in the table
//   client_secret = { env = "OURA_CLIENT_SECRET" }   # a reference, never inline
//   authorize_url, token_url, revoke_url, scopes, redirect_uri, pkce,
//   refresh_margin_seconds, lock_timeout_seconds, timeout_seconds, ca_file
//
//   [token_store]                      # exactly one
//   plugin = "env"
//   [token_store.config]  ...
//
//   [[endpoints]]                      # one per endpoint plugin instance
//   plugin = "daily"
//   name = "daily"                     # instance name, default = plugin; unique per kind
//   path = "/x/oura-endpoint-daily.so" # optional explicit file instead of plugin_dirs lookup
//   [endpoints.config] ...
//
//   [[sinks]]  plugin = "stdout" ... [sinks.config] ...

#include "auth/oauth_client.hpp"
#include "http/api_client.hpp"
#include "http/rate_limiter.hpp"
#include "http/retry_policy.hpp"

#include <oura_sdk/config.hpp>
#include <oura_sdk/plugin.hpp>

#include <toml++/toml.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace oura::core {

// One plugin instance named in the manifest.
struct PluginInstance {
  sdk::PluginKind kind = sdk::PluginKind::Endpoint;
  std::string plugin;                 // plugin name, e.g. "daily"
  std::string name;                   // instance name
  std::optional<std::string> path;    // explicit library file
  toml::table config;                 // the raw [*.config] table (validated later)
  std::string where;                  // "file:line:column" of the instance's table
};

struct Manifest {
  std::string file;                   // path the manifest was read from
  std::string account = "default";
  bool account_explicit = false;  // collector.account given; else scrape uses personal_info.id
  std::vector<std::string> plugin_dirs;
  std::vector<std::string> collections;  // empty: all served
  int days = 7;                          // window of a run without sync state, --days or --since
  int overlap_days = 2;                  // an incremental run starts this many days before state
  std::optional<std::string> log_format;  // collector.log_format: "text" or "json"
  std::string sql_dir;                   // the migrations folder; empty: $OURA_SQL_DIR or installed
  HttpSettings http;
  bool base_url_from_environment = false;  // api.base_url came from $OURA_API_BASE_URL
  RateLimitSettings rate_limit;
  RetrySettings retry;
  std::optional<OAuthSettings> oauth;  // the [oauth] table, when present
  PluginInstance token_store;
  std::vector<PluginInstance> endpoints;
  std::vector<PluginInstance> sinks;
};

// Reads and validates the manifest's own keys (not the plugin config tables).
// Throws sdk::ConfigError "file:line:column: key: problem" on syntax errors, unknown keys,
// wrong types, missing required keys, bad values.
Manifest loadManifest(const std::string& path);

// Validates a plugin's config table against its declared schema: unknown keys, wrong types,
// missing required keys, inline secrets; resolves `{ env = "NAME" }` and `{ file = "PATH" }`
// references; fills defaults. `key_path` is the table's dotted path for messages
// (e.g. "sinks[0].config"), `file` the manifest path.
// Throws sdk::ConfigError "file:line:column: key_path.key: problem".
sdk::PluginConfig validatePluginConfig(const toml::table& table, const sdk::ConfigSchema& schema,
                                       const std::string& file, const std::string& key_path);

// The plugin folders when no manifest names any: $OURA_PLUGIN_DIR (a ':'-separated list, like
// PATH) before the installed folder.
std::vector<std::string> pluginDirsWithoutManifest();

}  // namespace oura::core
