#pragma once
// The numbered schema migrations of sql/ (001_init.sql, 002_...): found, read and checked here;
// applied by a sink's migrate() (init-db); compared with a sink's schemaVersion() before a
// scrape, so that a program newer than its database refuses to run ("run init-db").

#include "config/manifest.hpp"

#include <oura_sdk/sink.hpp>

#include <string>
#include <vector>

namespace oura::core {

// The migrations folder: collector.sql_dir, else $OURA_SQL_DIR, else the installed
// <datadir>/oura-collector/sql, else (a program run from its build tree) the source tree's sql/.
std::string migrationsDir(const Manifest& manifest);

// Every NNN_name.sql in `dir`, by version. Throws sdk::ConfigError when the folder cannot be
// read, is empty, or the versions do not run 1, 2, 3, ... without gaps or duplicates.
std::vector<sdk::Migration> loadMigrations(const std::string& dir);

}  // namespace oura::core
