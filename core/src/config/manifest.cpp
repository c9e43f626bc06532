// The TOML manifest: reading, validating and resolving. See manifest.hpp and docs/manifest.md.
#include "config/manifest.hpp"

#include "config/nesting_bound.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <iterator>
#include <limits>
#include <map>
#include <oura_sdk/errors.hpp>

#include <Poco/Environment.h>
#include <Poco/Exception.h>
#include <Poco/NumberParser.h>
#include <Poco/String.h>
#include <Poco/StringTokenizer.h>
#include <Poco/URI.h>

#include "http/session.hpp"

#include <optional>
#include <set>
#include <string_view>

namespace oura::core {

namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Messages

std::string position(const std::string& file, const toml::source_region& region) {
  if (region.begin.line == 0) return file;  // a node built in memory: no position known
  return file + ":" + std::to_string(region.begin.line) + ":" + std::to_string(region.begin.column);
}

[[noreturn]] void fail(const std::string& file, const toml::source_region& region,
                       const std::string& key_path, const std::string& problem) {
  throw sdk::ConfigError(position(file, region) + ": " + key_path + ": " + problem);
}

std::string join(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return path + "." + std::string(key);
}

std::string indexed(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

// "a string", "an integer", ... for "expected X, got Y".
const char* describe(toml::node_type type) {
  switch (type) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
  }
  return "an unknown value";
}

[[noreturn]] void wrongType(const std::string& file, const toml::node& node,
                            const std::string& key_path, const std::string& expected) {
  fail(file, node.source(), key_path, "expected " + expected + ", got " + describe(node.type()));
}

std::string listKeys(const std::vector<std::string_view>& keys) {
  std::string out;
  for (const auto& key : keys) {
    if (!out.empty()) out += ", ";
    out += key;
  }
  return out;
}

// Rejects every key of `table` that is not in `allowed`, at the key's own position.
void rejectUnknownKeys(const toml::table& table, const std::vector<std::string_view>& allowed,
                       const std::string& file, const std::string& path) {
  for (const auto& [key, node] : table) {
    if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
    const toml::source_region& where = key.source().begin.line != 0 ? key.source() : node.source();
    fail(file, where, join(path, key.str()),
         "unknown key (expected one of: " + listKeys(allowed) + ")");
  }
}

// Defined below: a `{ env = }` / `{ file = }` reference's value.
std::string resolveReference(const toml::table& ref, const std::string& file,
                             const std::string& key_path, bool secret);

// ---------------------------------------------------------------------------------------------
// Typed readers. Each returns nothing when the key is absent and throws on a wrong type.

// Labels, URLs, paths: a NUL would cut the value short in C APIs and the run log, CR/LF/ESC
// would forge log lines or drive a terminal. The value is never echoed (it may be a secret put
// in the wrong place).
void rejectControlCharacters(const std::string& value, const std::string& file,
                             const toml::node& node, const std::string& key_path) {
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f) {
      char code[8];
      std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(c));
      fail(file, node.source(), key_path,
           "contains a control character (" + std::string(code) + " at offset " +
               std::to_string(i) + "); the value is not shown");
    }
  }
}

// An http(s) URL with a host, no user info and no control characters. Returns the problem, or
// nothing; the problem names the URL only when it is safe to show (no user info or control
// characters: those may hold a password, or forge a log line).
std::optional<std::string> httpUrlProblem(const std::string& url, const std::string& expected) {
  Poco::URI uri;
  try {
    uri = Poco::URI(url);
  } catch (const Poco::Exception&) {
    return expected + "; the value is not a URL (not shown)";
  }
  if (!uri.getUserInfo().empty()) {
    return "must not carry user info (user:password@); the value is not shown. Credentials "
           "belong in [oauth] client_id / client_secret";
  }
  const bool http = url.rfind("http://", 0) == 0;
  const bool https = url.rfind("https://", 0) == 0;
  const std::size_t scheme = http ? 7 : 8;
  if ((!http && !https) || url.size() <= scheme || url[scheme] == '/' || uri.getHost().empty()) {
    return expected + ", got '" + url + "'";
  }
  return std::nullopt;
}

const toml::table* optionalTable(const toml::table& parent, std::string_view key,
                                 const std::string& file, const std::string& path) {
  const toml::node* node = parent.get(key);
  if (!node) return nullptr;
  const toml::table* table = node->as_table();
  if (!table) wrongType(file, *node, join(path, key), "a table");
  return table;
}

std::optional<std::string> optionalString(const toml::table& parent, std::string_view key,
                                          const std::string& file, const std::string& path,
                                          bool allow_empty = false) {
  const toml::node* node = parent.get(key);
  if (!node) return std::nullopt;
  const auto* value = node->as_string();
  if (!value) wrongType(file, *node, join(path, key), "a string");
  if (!allow_empty && value->get().empty()) {
    fail(file, node->source(), join(path, key), "must not be empty");
  }
  rejectControlCharacters(value->get(), file, *node, join(path, key));
  return value->get();
}

// An integer of at least `minimum` that fits an int.
std::optional<int> optionalCount(const toml::table& parent, std::string_view key,
                                 const std::string& file, const std::string& path,
                                 std::int64_t minimum) {
  const toml::node* node = parent.get(key);
  if (!node) return std::nullopt;
  const auto* value = node->as_integer();
  if (!value) wrongType(file, *node, join(path, key), "an integer");
  const std::int64_t v = value->get();
  if (v < minimum) {
    fail(file, node->source(), join(path, key),
         minimum == 1
             ? "must be a positive integer, got " + std::to_string(v)
             : "must be at least " + std::to_string(minimum) + ", got " + std::to_string(v));
  }
  if (v > std::numeric_limits<int>::max()) {
    fail(file, node->source(), join(path, key), "is too large: " + std::to_string(v));
  }
  return static_cast<int>(v);
}

// A duration in seconds, integer or float, converted to milliseconds.
// `positive`: must be > 0 (else >= 0).
std::optional<std::chrono::milliseconds> optionalSeconds(const toml::table& parent,
                                                         std::string_view key,
                                                         const std::string& file,
                                                         const std::string& path, bool positive) {
  const toml::node* node = parent.get(key);
  if (!node) return std::nullopt;
  double seconds = 0;
  if (const auto* i = node->as_integer()) {
    seconds = static_cast<double>(i->get());
  } else if (const auto* f = node->as_floating_point()) {
    seconds = f->get();
  } else {
    wrongType(file, *node, join(path, key), "a number of seconds (integer or float)");
  }
  if (!std::isfinite(seconds)) {
    fail(file, node->source(), join(path, key), "must be a finite number of seconds");
  }
  if (positive ? !(seconds > 0) : seconds < 0) {
    fail(file, node->source(), join(path, key),
         positive ? "must be a positive number of seconds" : "must not be negative");
  }
  constexpr double kMaxSeconds = 1e9;  // about 31 years: anything more is a typo
  if (seconds > kMaxSeconds) {
    fail(file, node->source(), join(path, key), "is too large (at most 1e9 seconds)");
  }
  auto ms = static_cast<std::int64_t>(std::llround(seconds * 1000.0));
  if (positive && ms < 1) ms = 1;
  return std::chrono::milliseconds(ms);
}

// An array of strings, each non-empty, without duplicates.
std::optional<std::vector<std::string>> optionalStringList(const toml::table& parent,
                                                           std::string_view key,
                                                           const std::string& file,
                                                           const std::string& path) {
  const toml::node* node = parent.get(key);
  if (!node) return std::nullopt;
  const toml::array* array = node->as_array();
  if (!array) wrongType(file, *node, join(path, key), "an array of strings");
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const auto* value = element.as_string();
    const std::string element_path = indexed(join(path, key), i);
    if (!value) wrongType(file, element, element_path, "a string");
    if (value->get().empty()) fail(file, element.source(), element_path, "must not be empty");
    rejectControlCharacters(value->get(), file, element, element_path);
    if (!seen.insert(value->get()).second) {
      fail(file, element.source(), element_path, "duplicate entry '" + value->get() + "'");
    }
    out.push_back(value->get());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Paths

fs::path manifestFolder(const std::string& manifest_file) {
  std::error_code ec;
  fs::path absolute = fs::absolute(fs::path(manifest_file), ec);
  if (ec) absolute = fs::path(manifest_file);
  return absolute.parent_path();
}

std::string resolveRelative(const fs::path& folder, const std::string& value) {
  fs::path p(value);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (folder / p).lexically_normal().string();
}

std::vector<std::string> defaultPluginDirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("OURA_PLUGIN_DIR"); env && *env) {
    // A list like PATH: "dir1:dir2".
    std::string_view rest(env);
    while (!rest.empty()) {
      const std::size_t colon = rest.find(':');
      const std::string_view part = rest.substr(0, colon);
      if (!part.empty()) {
        std::error_code ec;
        fs::path absolute = fs::absolute(fs::path(std::string(part)), ec);
        dirs.push_back((ec ? fs::path(std::string(part)) : absolute).lexically_normal().string());
      }
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
#ifdef OURA_DEFAULT_PLUGIN_DIR
  dirs.emplace_back(OURA_DEFAULT_PLUGIN_DIR);
#endif
  return dirs;
}

// ---------------------------------------------------------------------------------------------
// Sections

bool validName(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '_' || c == '-';
  });
}

void readCollector(const toml::table& root, const std::string& file, const fs::path& folder,
                   Manifest& m) {
  const toml::table* t = optionalTable(root, "collector", file, "");
  if (!t) {
    m.plugin_dirs = defaultPluginDirs();
    return;
  }
  const std::string path = "collector";
  rejectUnknownKeys(*t, {"account", "plugin_dirs", "collections", "days", "overlap_days", "sql_dir",
                         "log_format"},
                    file, path);
  if (auto format = optionalString(*t, "log_format", file, path)) {
    if (*format != "text" && *format != "json") {
      fail(file, t->get("log_format")->source(), join(path, "log_format"),
           "must be \"text\" or \"json\", got '" + *format + "'");
    }
    m.log_format = *format;
  }
  if (auto account = optionalString(*t, "account", file, path)) {
    m.account = *account;
    m.account_explicit = true;
  }
  if (auto dirs = optionalStringList(*t, "plugin_dirs", file, path)) {
    m.plugin_dirs.clear();
    for (const auto& dir : *dirs) m.plugin_dirs.push_back(resolveRelative(folder, dir));
  } else {
    m.plugin_dirs = defaultPluginDirs();
  }
  if (auto collections = optionalStringList(*t, "collections", file, path)) {
    // The same rule as `--collections ""`: an empty selection is a mistake, not "everything".
    if (collections->empty()) {
      fail(file, t->get("collections")->source(), join(path, "collections"),
           "must name at least one collection; leave the key out to fetch every collection the "
           "endpoints serve");
    }
    m.collections = *collections;
  }
  if (auto days = optionalCount(*t, "days", file, path, 1)) m.days = *days;
  if (auto overlap = optionalCount(*t, "overlap_days", file, path, 0)) m.overlap_days = *overlap;
  if (auto dir = optionalString(*t, "sql_dir", file, path)) m.sql_dir = resolveRelative(folder, *dir);
}

void readApi(const toml::table& root, const std::string& file, const fs::path& folder,
             Manifest& m) {
  const toml::table* t = optionalTable(root, "api", file, "");
  if (!t) return;
  const std::string path = "api";
  rejectUnknownKeys(*t,
                    {"base_url", "connect_timeout", "read_timeout", "response_timeout",
                     "max_response_bytes", "max_decoded_bytes", "max_string_bytes", "ca_file"},
                    file, path);
  if (auto v = optionalSeconds(*t, "response_timeout", file, path, true)) {
    m.http.response_timeout = std::chrono::ceil<std::chrono::seconds>(*v);
  }
  if (auto v = optionalCount(*t, "max_response_bytes", file, path, 1024)) {
    m.http.max_response_bytes = static_cast<std::size_t>(*v);
  }
  if (auto v = optionalCount(*t, "max_decoded_bytes", file, path, 1024)) {
    m.http.max_decoded_bytes = static_cast<std::size_t>(*v);
  }
  if (auto v = optionalCount(*t, "max_string_bytes", file, path, 1024)) {
    m.http.max_string_bytes = static_cast<std::size_t>(*v);
  }
  if (auto url = optionalString(*t, "base_url", file, path)) {
    const std::size_t scheme = url->rfind("http://", 0) == 0 ? 7 : 8;
    if (auto problem = httpUrlProblem(*url, "must be an http:// or https:// URL with a host")) {
      fail(file, t->get("base_url")->source(), join(path, "base_url"), *problem);
    }
    while (url->size() > scheme + 1 && url->back() == '/') url->pop_back();
    m.http.base_url = *url;
  }
  const auto whole_seconds = [](std::chrono::milliseconds ms) {
    return std::chrono::ceil<std::chrono::seconds>(ms);
  };
  if (auto v = optionalSeconds(*t, "connect_timeout", file, path, true)) {
    m.http.connect_timeout = whole_seconds(*v);
  }
  if (auto v = optionalSeconds(*t, "read_timeout", file, path, true)) {
    m.http.read_timeout = whole_seconds(*v);
  }
  if (auto ca = optionalString(*t, "ca_file", file, path, /*allow_empty=*/true)) {
    m.http.ca_file = ca->empty() ? std::string() : resolveRelative(folder, *ca);
    std::error_code ec;
    if (!m.http.ca_file.empty() && !fs::is_regular_file(m.http.ca_file, ec)) {
      fail(file, t->get("ca_file")->source(), join(path, "ca_file"),
           "no such file: " + m.http.ca_file);
    }
  }
}

// An http(s) URL with a host (the OAuth client checks https:// and loopback later).
std::optional<std::string> optionalUrl(const toml::table& t, std::string_view key,
                                       const std::string& file, const std::string& path,
                                       bool allow_empty) {
  auto url = optionalString(t, key, file, path, allow_empty);
  if (!url || url->empty()) return url;
  if (auto problem = httpUrlProblem(
          *url, "must be an https:// URL with a host (http:// only for 127.0.0.1)")) {
    fail(file, t.get(key)->source(), join(path, key), *problem);
  }
  return url;
}

// oauth.redirect_uri: what `auth login` listens on. http (the browser gets there without TLS),
// a loopback host only (127.0.0.1, ::1, localhost: 0.0.0.0 would listen on every interface, and a
// code must never reach another machine), an explicit port 1-65535 (none would listen on 80,
// 0 on a random port the registered URI cannot name), a path, no user info or fragment.
std::string checkedRedirectUri(const toml::table& t, const std::string& file,
                               const std::string& path) {
  auto value = optionalString(t, "redirect_uri", file, path);
  const toml::node* node = t.get("redirect_uri");
  const std::string key = join(path, "redirect_uri");
  auto bad = [&](const std::string& problem) {
    // A URL with user info may hold a password: never echoed.
    const bool secretive = value->find('@') != std::string::npos;
    fail(file, node->source(), key,
         problem + (secretive ? std::string("; the value is not shown")
                              : ", got '" + *value + "'") +
             "; it must be an http:// loopback URL with a port and a path that `auth login` "
             "listens on, e.g. http://127.0.0.1:8765/callback");
  };
  Poco::URI uri;
  try {
    uri = Poco::URI(*value);
  } catch (const Poco::Exception& e) {
    if (e.message().find("port") != std::string::npos) {
      bad("needs an explicit port from 1 to 65535 (" + e.message() + ")");
    }
    bad("not a URL (" + e.message() + ")");
  }
  if (Poco::toLower(uri.getScheme()) != "http") bad("must be an http:// loopback URL");
  const std::string& host = uri.getHost();
  if (host.empty() || !isLoopbackHost(host)) {
    bad("the host must be 127.0.0.1, ::1 or localhost (the listener must not be reachable from "
        "other machines)");
  }
  if (!uri.getUserInfo().empty()) bad("must not carry user info");
  if (uri.getSpecifiedPort() == 0) bad("needs an explicit port from 1 to 65535");
  if (uri.getPath().empty() || uri.getPath()[0] != '/') bad("needs a path, e.g. /callback");
  if (!uri.getFragment().empty()) bad("must not have a #fragment (RFC 6749 section 3.1.2)");
  return *value;
}

void readOAuth(const toml::table& root, const std::string& file, const fs::path& folder,
               Manifest& m) {
  const toml::table* t = optionalTable(root, "oauth", file, "");
  if (!t) return;
  const std::string path = "oauth";
  rejectUnknownKeys(*t,
                    {"client_id", "client_secret", "authorize_url", "token_url", "revoke_url",
                     "scopes", "redirect_uri", "pkce", "refresh_margin_seconds",
                     "lock_timeout_seconds", "save_retry_seconds", "timeout_seconds", "ca_file"},
                    file, path);
  OAuthSettings o;
  o.where = position(file, t->source());
  auto client_id = optionalString(*t, "client_id", file, path);
  if (!client_id) {
    fail(file, t->source(), join(path, "client_id"),
         "missing required key (the client id of your Oura application)");
  }
  {
    // The sample manifest's placeholder (etc/oura-collector.toml) left in place: a login would
    // fail at Oura with an unhelpful page, and a refresh with invalid_client.
    std::string lower = *client_id;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower.rfind("your-", 0) == 0 || lower.rfind("your_", 0) == 0 ||
        lower.find('<') != std::string::npos || lower == "changeme" || lower == "client-id") {
      fail(file, t->get("client_id")->source(), join(path, "client_id"),
           "'" + *client_id + "' is the sample's placeholder: set the client id of your Oura "
           "application (https://cloud.ouraring.com/oauth/applications)");
    }
  }
  o.client_id = *client_id;
  if (const toml::node* secret = t->get("client_secret")) {
    const std::string key = join(path, "client_secret");
    if (secret->is_string()) {
      fail(file, secret->source(), key,
           "secrets must not be inline: use { env = \"NAME\" } or { file = \"PATH\" }");
    }
    const toml::table* ref = secret->as_table();
    if (!ref) wrongType(file, *secret, key, "a reference { env = \"NAME\" } or { file = \"PATH\" }");
    try {
      o.client_secret = resolveReference(*ref, file, key, true);
    } catch (const sdk::ConfigError& e) {
      o.client_secret_problem = e.what();  // reported when a token request needs it
    }
  }
  if (auto v = optionalUrl(*t, "authorize_url", file, path, false)) o.authorize_url = *v;
  if (auto v = optionalUrl(*t, "token_url", file, path, false)) {
    o.token_url = *v;
    o.token_url_explicit = true;  // no fallback to the new-portal URL
  }
  if (auto v = optionalUrl(*t, "revoke_url", file, path, true)) o.revoke_url = *v;
  if (auto v = optionalStringList(*t, "scopes", file, path)) {
    if (v->empty()) fail(file, t->get("scopes")->source(), join(path, "scopes"), "must not be empty");
    for (std::size_t i = 0; i < v->size(); ++i) {
      if ((*v)[i].find_first_of(" \t\r\n\"\\") != std::string::npos) {
        fail(file, t->get("scopes")->as_array()->get(i)->source(), indexed(join(path, "scopes"), i),
             "a scope cannot contain spaces or quotes");
      }
    }
    o.scopes = *v;
  }
  if (t->get("redirect_uri")) o.redirect_uri = checkedRedirectUri(*t, file, path);
  if (const toml::node* node = t->get("pkce")) {
    const auto* b = node->as_boolean();
    if (!b) wrongType(file, *node, join(path, "pkce"), "a boolean");
    o.pkce = b->get();
  }
  if (auto v = optionalCount(*t, "refresh_margin_seconds", file, path, 0)) {
    o.refresh_margin = std::chrono::seconds(*v);
  }
  if (auto v = optionalCount(*t, "lock_timeout_seconds", file, path, 1)) {
    o.lock_timeout = std::chrono::seconds(*v);
  }
  if (auto v = optionalCount(*t, "save_retry_seconds", file, path, 0)) {
    o.save_retry = std::chrono::seconds(*v);
  }
  if (auto v = optionalSeconds(*t, "timeout_seconds", file, path, true)) o.timeout = *v;
  if (auto ca = optionalString(*t, "ca_file", file, path, /*allow_empty=*/true)) {
    o.ca_file = ca->empty() ? std::string() : resolveRelative(folder, *ca);
    std::error_code ec;
    if (!o.ca_file.empty() && !fs::is_regular_file(o.ca_file, ec)) {
      fail(file, t->get("ca_file")->source(), join(path, "ca_file"), "no such file: " + o.ca_file);
    }
  }
  m.oauth = std::move(o);
}

void readRateLimit(const toml::table& root, const std::string& file, Manifest& m) {
  const toml::table* t = optionalTable(root, "rate_limit", file, "");
  if (!t) return;
  const std::string path = "rate_limit";
  rejectUnknownKeys(*t, {"requests", "window", "concurrency"}, file, path);
  if (auto v = optionalCount(*t, "requests", file, path, 1)) m.rate_limit.requests = *v;
  if (auto v = optionalSeconds(*t, "window", file, path, true)) m.rate_limit.window = *v;
  if (auto v = optionalCount(*t, "concurrency", file, path, 1)) m.rate_limit.concurrency = *v;
}

void readRetry(const toml::table& root, const std::string& file, Manifest& m) {
  const toml::table* t = optionalTable(root, "retry", file, "");
  if (!t) return;
  const std::string path = "retry";
  rejectUnknownKeys(*t, {"max_attempts", "base_delay", "max_delay", "max_total"}, file, path);
  if (auto v = optionalCount(*t, "max_attempts", file, path, 1)) m.retry.max_attempts = *v;
  if (auto v = optionalSeconds(*t, "base_delay", file, path, false)) m.retry.base_delay = *v;
  if (auto v = optionalSeconds(*t, "max_delay", file, path, false)) m.retry.max_delay = *v;
  if (auto v = optionalSeconds(*t, "max_total", file, path, false)) m.retry.max_total = *v;
  if (m.retry.max_delay < m.retry.base_delay) {
    const char* key = t->get("max_delay") ? "max_delay" : "base_delay";
    fail(file, t->get(key)->source(), join(path, key),
         "max_delay must not be less than base_delay");
  }
}

// One [token_store] table or one element of [[endpoints]] / [[sinks]]. `table` is moved from:
// its config table (or, when there is none, the emptied instance table) becomes
// `PluginInstance::config`, so the nodes keep their source positions (toml++ copies drop them).
PluginInstance readInstance(toml::table& table, sdk::PluginKind kind, const std::string& file,
                            const fs::path& folder, const std::string& path) {
  rejectUnknownKeys(table, {"plugin", "name", "path", "config"}, file, path);
  PluginInstance instance;
  instance.kind = kind;
  instance.where = position(file, table.source());
  auto plugin = optionalString(table, "plugin", file, path);
  if (!plugin) fail(file, table.source(), join(path, "plugin"), "missing required key");
  if (!validName(*plugin)) {
    fail(file, table.get("plugin")->source(), join(path, "plugin"),
         "'" + *plugin + "' is not a plugin name (letters, digits, '_' and '-' only)");
  }
  instance.plugin = *plugin;
  instance.name = *plugin;
  if (auto name = optionalString(table, "name", file, path)) {
    if (!validName(*name)) {
      fail(file, table.get("name")->source(), join(path, "name"),
           "'" + *name + "' is not an instance name (letters, digits, '_' and '-' only)");
    }
    instance.name = *name;
  }
  if (auto library = optionalString(table, "path", file, path)) {
    instance.path = resolveRelative(folder, *library);
  }
  if (toml::node* config = table.get("config")) {
    toml::table* config_table = config->as_table();
    if (!config_table) wrongType(file, *config, join(path, "config"), "a table");
    instance.config = std::move(*config_table);
  } else {
    instance.config = std::move(table);
    instance.config.clear();
  }
  return instance;
}

std::vector<PluginInstance> readInstances(toml::table& root, std::string_view key,
                                          sdk::PluginKind kind, const std::string& file,
                                          const fs::path& folder) {
  const std::string path(key);
  toml::node* node = root.get(key);
  if (!node) {
    fail(file, root.source(), path,
         "missing required table: at least one [[" + path + "]] is needed");
  }
  toml::array* array = node->as_array();
  if (array && array->empty()) {
    fail(file, node->source(), path, "at least one [[" + path + "]] is required");
  }
  if (!array || !array->is_array_of_tables()) {
    wrongType(file, *node, path, "an array of tables ([[" + path + "]])");
  }
  std::vector<PluginInstance> instances;
  std::map<std::string, std::string> names;  // instance name -> key path of its first use
  for (std::size_t i = 0; i < array->size(); ++i) {
    toml::table& table = *array->get(i)->as_table();
    const std::string element_path = indexed(path, i);
    const toml::source_region where = table.source();
    const toml::node* name_node = table.get("name") ? table.get("name") : table.get("plugin");
    const toml::source_region name_where = name_node ? name_node->source() : where;
    PluginInstance instance = readInstance(table, kind, file, folder, element_path);
    auto [it, inserted] = names.emplace(instance.name, element_path);
    if (!inserted) {
      fail(file, name_where, join(element_path, "name"),
           "duplicate instance name '" + instance.name + "' (also used by " + it->second +
               "; set a unique name)");
    }
    instances.push_back(std::move(instance));
  }
  return instances;
}

}  // namespace

std::vector<std::string> pluginDirsWithoutManifest() { return defaultPluginDirs(); }

Manifest loadManifest(const std::string& path) {
  {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      throw sdk::ConfigError(path + ": cannot read the manifest: is a directory");
    }
    if (fs::exists(path, ec) && !fs::is_regular_file(path, ec)) {
      throw sdk::ConfigError(path + ": cannot read the manifest: not a regular file");
    }
    constexpr std::uintmax_t kMaxManifest = 1024 * 1024;
    if (fs::exists(path, ec) && fs::file_size(path, ec) > kMaxManifest) {
      throw sdk::ConfigError(path + ": the manifest is larger than 1 MiB");
    }
  }
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      throw sdk::ConfigError(path + ": cannot read the manifest: " + std::strerror(errno));
    }
    std::ostringstream all;
    all << in.rdbuf();
    text = std::move(all).str();
  }
  // toml++ recurses per nesting level: a deep key must be refused before it sees the text.
  if (auto problem = checkTomlNesting(text)) {
    throw sdk::ConfigError(path + ":" + std::to_string(problem->line) + ": " + problem->message);
  }
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    throw sdk::ConfigError(position(path, e.source()) + ": " + std::string(e.description()));
  }

  Manifest m;
  m.file = path;
  const fs::path folder = manifestFolder(path);

  rejectUnknownKeys(
      root,
      {"collector", "api", "oauth", "rate_limit", "retry", "token_store", "endpoints", "sinks"},
      path, "");
  readCollector(root, path, folder, m);
  readApi(root, path, folder, m);
  readOAuth(root, path, folder, m);
  readRateLimit(root, path, m);
  readRetry(root, path, m);

  toml::node* token_store = root.get("token_store");
  if (!token_store)
    fail(path, root.source(), "token_store", "missing required table [token_store]");
  toml::table* token_table = token_store->as_table();
  if (!token_table) wrongType(path, *token_store, "token_store", "a table ([token_store])");
  m.token_store =
      readInstance(*token_table, sdk::PluginKind::TokenStore, path, folder, "token_store");

  m.endpoints = readInstances(root, "endpoints", sdk::PluginKind::Endpoint, path, folder);
  m.sinks = readInstances(root, "sinks", sdk::PluginKind::Sink, path, folder);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Plugin configuration

namespace {

// Reads a reference table `{ env = "NAME" }` or `{ file = "PATH" }`. The resolved value never
// appears in a message.
std::string resolveReference(const toml::table& ref, const std::string& file,
                             const std::string& key_path, bool secret) {
  for (const auto& [key, node] : ref) {
    if (key.str() != "env" && key.str() != "file") {
      const toml::source_region& where =
          key.source().begin.line != 0 ? key.source() : node.source();
      fail(file, where, join(key_path, key.str()),
           "unknown key in a reference (use { env = \"NAME\" } or { file = \"PATH\" })");
    }
  }
  const toml::node* env = ref.get("env");
  const toml::node* path = ref.get("file");
  if (env && path) {
    fail(file, ref.source(), key_path, "a reference takes either env or file, not both");
  }
  if (!env && !path) {
    fail(file, ref.source(), key_path,
         "expected a reference { env = \"NAME\" } or { file = \"PATH\" }, got an empty table");
  }
  if (env) {
    const auto* name = env->as_string();
    if (!name) wrongType(file, *env, join(key_path, "env"), "a string");
    if (name->get().empty()) fail(file, env->source(), join(key_path, "env"), "must not be empty");
    // POSIX names: letters, digits, '_', not starting with a digit. Anything else may be the
    // secret itself typed where its variable's name belongs: never shown.
    const std::string& var = name->get();
    const bool posix_name =
        var.size() <= 255 && !std::isdigit(static_cast<unsigned char>(var[0])) &&
        std::all_of(var.begin(), var.end(), [](unsigned char c) {
          return std::isalnum(c) != 0 || c == '_';
        });
    if (!posix_name) {
      fail(file, env->source(), join(key_path, "env"),
           "is not an environment variable name (letters, digits and '_'); the value is not "
           "shown, in case it is the secret itself: give the variable's name, e.g. { env = "
           "\"OURA_CLIENT_SECRET\" }");
    }
    const char* value = std::getenv(name->get().c_str());
    if (!value) {
      fail(file, env->source(), key_path, "environment variable " + name->get() + " is not set");
    }
    if (!*value) {
      fail(file, env->source(), key_path, "environment variable " + name->get() + " is empty");
    }
    return value;
  }
  const auto* name = path->as_string();
  if (!name) wrongType(file, *path, join(key_path, "file"), "a string");
  if (name->get().empty()) fail(file, path->source(), join(key_path, "file"), "must not be empty");
  const std::string resolved = resolveRelative(manifestFolder(file), name->get());
  std::error_code ec;
  if (fs::is_directory(resolved, ec)) {
    fail(file, path->source(), key_path, "cannot read file " + resolved + ": is a directory");
  }
  // Only a regular file of a sensible size: /dev/zero or a FIFO would read forever.
  if (fs::exists(resolved, ec) && !fs::is_regular_file(resolved, ec)) {
    fail(file, path->source(), key_path,
         "cannot read file " + resolved + ": not a regular file");
  }
  constexpr std::uintmax_t kMaxReferencedFile = 64 * 1024;
  if (fs::exists(resolved, ec) && fs::file_size(resolved, ec) > kMaxReferencedFile) {
    fail(file, path->source(), key_path,
         "file " + resolved + " is larger than 64 KiB: a referenced value is one short text");
  }
  std::ifstream in(resolved, std::ios::binary);
  if (!in) {
    fail(file, path->source(), key_path,
         "cannot read file " + resolved + ": " + std::strerror(errno));
  }
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(file, path->source(), key_path, "cannot read file " + resolved);
  if (!content.empty() && content.back() == '\n') {
    content.pop_back();
    if (!content.empty() && content.back() == '\r') content.pop_back();
  }
  if (secret && content.empty()) {
    fail(file, path->source(), key_path, "file " + resolved + " is empty");
  }
  return content;
}

sdk::ConfigValue readValue(const toml::node& node, const sdk::ConfigKey& key,
                           const std::string& file, const std::string& key_path) {
  switch (key.type) {
    case sdk::ConfigType::String:
      if (const auto* s = node.as_string()) return s->get();
      if (const auto* ref = node.as_table()) return resolveReference(*ref, file, key_path, false);
      wrongType(file, node, key_path,
                "a string or a reference { env = \"NAME\" } / { file = \"PATH\" }");
    case sdk::ConfigType::Secret:
      if (node.is_string()) {
        fail(file, node.source(), key_path,
             "secrets must not be inline: use { env = \"NAME\" } or { file = \"PATH\" }");
      }
      if (const auto* ref = node.as_table()) return resolveReference(*ref, file, key_path, true);
      wrongType(file, node, key_path, "a reference { env = \"NAME\" } or { file = \"PATH\" }");
    case sdk::ConfigType::Integer:
      if (const auto* i = node.as_integer()) return i->get();
      wrongType(file, node, key_path, "an integer");
    case sdk::ConfigType::Float:
      if (const auto* f = node.as_floating_point()) return f->get();
      if (const auto* i = node.as_integer()) return static_cast<double>(i->get());
      wrongType(file, node, key_path, "a float");
    case sdk::ConfigType::Boolean:
      if (const auto* b = node.as_boolean()) return b->get();
      wrongType(file, node, key_path, "a boolean");
    case sdk::ConfigType::StringList: {
      const toml::array* array = node.as_array();
      if (!array) wrongType(file, node, key_path, "an array of strings");
      std::vector<std::string> out;
      for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& element = *array->get(i);
        const auto* s = element.as_string();
        if (!s) wrongType(file, element, indexed(key_path, i), "a string");
        out.push_back(s->get());
      }
      return out;
    }
  }
  fail(file, node.source(), key_path, "unsupported configuration type");
}

// The value of `key.env` converted to the key's type, or nothing when the variable is unset or
// empty. Throws sdk::ConfigError naming the variable (never its value, which may be a secret).
std::optional<sdk::ConfigValue> envOverride(const sdk::ConfigKey& key, const std::string& path) {
  if (key.env.empty()) return std::nullopt;
  const std::string text = Poco::Environment::get(key.env, "");
  if (text.empty()) return std::nullopt;
  auto bad = [&](const char* expected) -> sdk::ConfigError {
    return sdk::ConfigError("environment variable " + key.env + " (overriding " + path +
                            "): expected " + expected);
  };
  switch (key.type) {
    case sdk::ConfigType::String:
    case sdk::ConfigType::Secret:
      return sdk::ConfigValue{text};
    case sdk::ConfigType::Integer: {
      Poco::Int64 value = 0;
      if (!Poco::NumberParser::tryParse64(text, value)) throw bad("an integer");
      return sdk::ConfigValue{static_cast<std::int64_t>(value)};
    }
    case sdk::ConfigType::Float: {
      double value = 0;
      if (!Poco::NumberParser::tryParseFloat(text, value)) throw bad("a number");
      return sdk::ConfigValue{value};
    }
    case sdk::ConfigType::Boolean: {
      bool value = false;
      if (!Poco::NumberParser::tryParseBool(text, value)) throw bad("true or false");
      return sdk::ConfigValue{value};
    }
    case sdk::ConfigType::StringList: {
      std::vector<std::string> items;
      Poco::StringTokenizer tokens(text, ",",
                                   Poco::StringTokenizer::TOK_TRIM |
                                       Poco::StringTokenizer::TOK_IGNORE_EMPTY);
      for (const auto& token : tokens) items.push_back(token);
      return sdk::ConfigValue{items};
    }
  }
  throw bad("a supported type");
}

}  // namespace

sdk::PluginConfig validatePluginConfig(const toml::table& table, const sdk::ConfigSchema& schema,
                                       const std::string& file, const std::string& key_path) {
  std::vector<std::string_view> known;
  known.reserve(schema.size());
  for (const auto& key : schema) known.push_back(key.name);

  for (const auto& [key, node] : table) {
    const std::string_view name = key.str();  // clang 14 cannot capture a structured binding
    const bool declared = std::any_of(schema.begin(), schema.end(),
                                      [&](const sdk::ConfigKey& k) { return k.name == name; });
    if (declared) continue;
    const toml::source_region& where = key.source().begin.line != 0 ? key.source() : node.source();
    fail(file, where, join(key_path, key.str()),
         known.empty() ? std::string("unknown key (this plugin takes no configuration)")
                       : "unknown key (expected one of: " + listKeys(known) + ")");
  }

  std::map<std::string, sdk::ConfigValue> values;
  for (const auto& key : schema) {
    const std::string path = join(key_path, key.name);
    if (std::optional<sdk::ConfigValue> from_env = envOverride(key, path)) {
      // The environment beats the manifest (docs/manifest.md "Environment"); a manifest value
      // is still type-checked so that a broken manifest is not hidden by the environment.
      if (const toml::node* node = table.get(key.name)) readValue(*node, key, file, path);
      values.emplace(key.name, std::move(*from_env));
    } else if (const toml::node* node = table.get(key.name)) {
      values.emplace(key.name, readValue(*node, key, file, path));
    } else if (key.default_value) {
      values.emplace(key.name, *key.default_value);
    } else if (key.required) {
      fail(file, table.source(), path,
           "missing required key" +
               (key.description.empty() ? std::string() : " (" + key.description + ")"));
    }
  }
  return sdk::PluginConfig(std::move(values));
}

}  // namespace oura::core
