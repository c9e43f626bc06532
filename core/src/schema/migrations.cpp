#include "schema/migrations.hpp"

#include <oura_sdk/errors.hpp>

#include <Poco/Environment.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace oura::core {

std::string migrationsDir(const Manifest& manifest) {
  if (!manifest.sql_dir.empty()) return manifest.sql_dir;
  const std::string env = Poco::Environment::get("OURA_SQL_DIR", "");
  if (!env.empty()) return env;
  std::error_code ec;
  if (!std::filesystem::is_directory(OURA_DEFAULT_SQL_DIR, ec) &&
      std::filesystem::is_directory(OURA_SOURCE_SQL_DIR, ec)) {
    return OURA_SOURCE_SQL_DIR;  // a program run from its build tree, not installed
  }
  return OURA_DEFAULT_SQL_DIR;
}

std::vector<sdk::Migration> loadMigrations(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    throw sdk::ConfigError("cannot read the migrations folder " + dir + ": " + ec.message() +
                           " (set collector.sql_dir or $OURA_SQL_DIR)");
  }
  static const std::regex name_re(R"(^(\d{3})_[A-Za-z0-9_]+\.sql$)");
  std::vector<sdk::Migration> migrations;
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    std::smatch m;
    if (!std::regex_match(name, m, name_re)) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in.good() && !in.eof()) throw sdk::ConfigError("cannot read migration " + entry.path().string());
    migrations.push_back(sdk::Migration{std::stoi(m[1].str()), name, text.str()});
  }
  std::sort(migrations.begin(), migrations.end(),
            [](const sdk::Migration& a, const sdk::Migration& b) { return a.version < b.version; });
  if (migrations.empty()) {
    throw sdk::ConfigError("no migrations (NNN_name.sql) in " + dir);
  }
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      throw sdk::ConfigError(dir + "/" + migrations[i].name + ": expected version " +
                             std::to_string(i + 1) +
                             " (migrations are numbered 001, 002, ... without gaps or duplicates)");
    }
  }
  return migrations;
}

}  // namespace oura::core
