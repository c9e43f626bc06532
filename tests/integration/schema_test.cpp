// The database schema against the stream schemas, on a real PostgreSQL ($PGHOST, $PGPORT,
// $PGUSER from .ci/test or .ci/pg-cluster; without PGHOST these tests fail, they never skip).
//  - sql/NNN_*.sql are numbered from 001 without gaps and hold no transaction control
//    (the sink's migrate() runs each file in one transaction with its schema_migrations row);
//  - applied in order to an empty database, they give one table per stream of every built
//    endpoint plugin: account + the stream's columns (+ deleted_at for document streams) in
//    order with the stream's SQL types, the primary key (account, key...), a comment on the
//    table and on every column, the time-range indexes; and no table without a stream;
//  - 001_init.sql can be applied twice (IF NOT EXISTS throughout);
//  - a database at any earlier migration, upgraded by the later files, equals one migrated from
//    empty (and keeps its rows);
//  - the sink's own tables (sync_state, schema_migrations, the run log runs/run_collections of
//    003) are checked by name and shape, and left out of the comparison with the streams;
//  - oura-schema-sql (tests/tools/schema_sql.cpp) gives the same schema as the migrations, and
//    while 001 is the only migration, exactly 001's generated part.
// The real apply path (schema_migrations, one transaction per file) is the PostgreSQL sink's
// migrate(), tested by the sink's own tests; here psql applies the files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <oura_sdk/endpoint.hpp>
#include <oura_sdk/rows.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "plugin_host/loader.hpp"
#include "schema_ddl.hpp"
#include "test_support.hpp"

#ifndef OURA_SCHEMA_SQL_TOOL
#error "OURA_SCHEMA_SQL_TOOL (the path of oura-schema-sql) is set by tests/CMakeLists.txt"
#endif

namespace fs = std::filesystem;
namespace sdk = oura::sdk;
namespace ddl = oura::schema_sql;
using oura::test::CommandResult;
using oura::test::runCommand;

namespace {

// --- environment ------------------------------------------------------------------------------

constexpr const char* kNoPostgres =
    "PGHOST is not set: these tests need a PostgreSQL server. Run them through .ci/test, or start "
    "one with `.ci/pg-cluster start .run/pg && source .run/pg/env` and run ctest again";

bool havePostgres() {
  const char* host = std::getenv("PGHOST");
  return host != nullptr && *host != '\0';
}

fs::path sourceDir() {
  const char* dir = std::getenv("OURA_SOURCE_DIR");
  if (dir == nullptr || *dir == '\0')
    throw std::runtime_error("OURA_SOURCE_DIR is not set (run through ctest)");
  return dir;
}

std::string pluginDir() {
  const char* dir = std::getenv("OURA_PLUGIN_DIR");
  if (dir == nullptr || *dir == '\0')
    throw std::runtime_error("OURA_PLUGIN_DIR is not set (run through ctest)");
  return dir;
}

std::string readText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// Every endpoint plugin built into $OURA_PLUGIN_DIR, with its default configuration.
const std::vector<ddl::Endpoint>& endpoints() {
  static oura::core::PluginLoader loader({pluginDir()});
  static const std::vector<ddl::Endpoint> list = ddl::loadEndpoints(loader);
  return list;
}

struct StreamRef {
  const sdk::CollectionSpec* collection;
  std::size_t index;
  const sdk::StreamSchema& stream() const { return collection->streams[index]; }
  bool document() const { return index == 0; }
};

std::vector<StreamRef> allStreams() {
  std::vector<StreamRef> out;
  for (const auto& e : endpoints()) {
    for (const auto& c : e.plugin->collections()) {
      for (std::size_t s = 0; s < c.streams.size(); ++s) out.push_back({&c, s});
    }
  }
  return out;
}

// --- migrations -------------------------------------------------------------------------------

struct MigrationFile {
  int version;
  fs::path path;
};

/// sql/NNN_name.sql, in version order. Throws on a .sql file with another name.
std::vector<MigrationFile> migrationFiles() {
  const std::regex pattern("([0-9]{3})_[a-z0-9_]+\\.sql");
  std::vector<MigrationFile> out;
  for (const auto& entry : fs::directory_iterator(sourceDir() / "sql")) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".sql") continue;
    std::smatch m;
    if (!std::regex_match(name, m, pattern)) {
      throw std::runtime_error("sql/" + name + " is not named NNN_name.sql (lower case)");
    }
    out.push_back({std::stoi(m[1].str()), entry.path()});
  }
  std::sort(out.begin(), out.end(),
            [](const MigrationFile& a, const MigrationFile& b) { return a.version < b.version; });
  return out;
}

// --- psql -------------------------------------------------------------------------------------

std::vector<std::string> psqlBase(const std::string& db) {
  return {"-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db};
}

/// Runs `psql -At -c sql` on `db`; rows of fields. Throws with psql's stderr on failure.
std::vector<std::vector<std::string>> query(const std::string& db, const std::string& sql) {
  auto args = psqlBase(db);
  args.insert(args.end(), {"-At", "-F", "\x1f", "-0", "-c", sql});
  const CommandResult r = runCommand("psql", args);
  if (r.exit_code != 0) {
    throw std::runtime_error("psql on " + db + " failed (exit " + std::to_string(r.exit_code) +
                             "): " + r.err + "\nquery: " + sql);
  }
  std::vector<std::vector<std::string>> rows;
  std::size_t start = 0;
  while (start < r.out.size()) {
    std::size_t end = r.out.find('\0', start);
    if (end == std::string::npos) end = r.out.size();
    std::vector<std::string> fields;
    const std::string record = r.out.substr(start, end - start);
    std::size_t f = 0;
    while (true) {
      const std::size_t next = record.find('\x1f', f);
      fields.push_back(record.substr(f, next == std::string::npos ? std::string::npos : next - f));
      if (next == std::string::npos) break;
      f = next + 1;
    }
    rows.push_back(std::move(fields));
    start = end + 1;
  }
  return rows;
}

/// Applies one SQL file the way an operator would by hand: one transaction, stop at the first
/// error. Returns psql's result.
CommandResult applyFile(const std::string& db, const fs::path& file) {
  auto args = psqlBase(db);
  args.insert(args.end(), {"--single-transaction", "-f", file.string()});
  return runCommand("psql", args);
}

CommandResult applyText(const std::string& db, const std::string& sql) {
  auto args = psqlBase(db);
  args.insert(args.end(), {"--single-transaction", "-f", "-"});
  return runCommand("psql", args, {}, sql);
}

/// A fresh database with a random name, dropped (WITH (FORCE)) when it goes out of scope.
class ScratchDatabase {
 public:
  ScratchDatabase() {
    std::random_device random;
    std::ostringstream name;
    name << "oura_schema_test_" << std::hex << random() << random();
    name_ = name.str();
    query(maintenanceDb(), "CREATE DATABASE " + ddl::quoteIdent(name_));
  }
  ~ScratchDatabase() {
    try {
      query(maintenanceDb(), "DROP DATABASE IF EXISTS " + ddl::quoteIdent(name_) + " WITH (FORCE)");
    } catch (const std::exception& e) {
      std::cerr << "could not drop test database " << name_ << ": " << e.what() << "\n";
    }
  }
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;
  const std::string& name() const { return name_; }

 private:
  static std::string maintenanceDb() { return oura::test::envOr("PGDATABASE", "postgres"); }
  std::string name_;
};

/// Applies every migration in order; a test failure naming the file when one fails.
::testing::AssertionResult applyMigrations(const std::string& db) {
  for (const auto& m : migrationFiles()) {
    const CommandResult r = applyFile(db, m.path);
    if (r.exit_code != 0) {
      return ::testing::AssertionFailure()
             << m.path.filename()
             << " failed (applying sql/ in order to an empty database): " << r.err;
    }
  }
  return ::testing::AssertionSuccess();
}

// --- catalog ----------------------------------------------------------------------------------

// The sink's own tables (no stream's): sync state, the migrations record, the run log
// (003_run_log.sql; runs_id_seq is the identity sequence of runs.id), the pending backfills
// (004_backfill_pending.sql), the dead-letter table (005_rejected_documents.sql).
const char* const kStateTables =
    "'sync_state', 'schema_migrations', 'runs', 'run_collections', 'runs_id_seq', "
    "'backfill_pending', 'rejected_documents'";
const std::set<std::string> kStateTableNames = {"sync_state",      "schema_migrations",
                                                "runs",            "run_collections",
                                                "backfill_pending", "rejected_documents"};

/// Everything schema oura holds, one line per table, column, constraint and index (with comments),
/// sorted. `skip_state_tables`: without the sink's own tables (kStateTables).
std::vector<std::string> catalog(const std::string& db, bool skip_state_tables) {
  const std::string skip =
      skip_state_tables ? std::string(" AND c.relname NOT IN (") + kStateTables + ")" : "";
  const std::string from =
      " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'oura'" +
      skip;
  const std::vector<std::string> sqls = {
      "SELECT 'relation ' || c.relname || ' kind ' || c.relkind::text || ' comment '"
      " || coalesce(obj_description(c.oid, 'pg_class'), '<none>')" +
          from + " AND c.relkind NOT IN ('i', 'I')",
      "SELECT 'column ' || c.relname || ' #' || row_number() OVER (PARTITION BY c.oid ORDER BY "
      "a.attnum) || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)"
      " || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END"
      " || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')"
      " || ' comment ' || coalesce(col_description(c.oid, a.attnum), '<none>')" +
          from + " AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped",
      "SELECT 'constraint ' || c.relname || ' ' || con.conname || ' ' || "
      "pg_get_constraintdef(con.oid)" +
          from,
      "SELECT 'index ' || c.relname || ' ' || pg_get_indexdef(i.indexrelid)" + from,
  };
  // Joins that the shared FROM cannot name: patch them in front of WHERE.
  std::vector<std::string> patched = sqls;
  auto join = [](std::string& sql, const std::string& clause) {
    sql.replace(sql.find(" WHERE "), 0, clause);
  };
  join(patched[1],
       " JOIN pg_attribute a ON a.attrelid = c.oid"
       " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum");
  join(patched[2], " JOIN pg_constraint con ON con.conrelid = c.oid");
  join(patched[3], " JOIN pg_index i ON i.indrelid = c.oid");
  std::vector<std::string> lines;
  for (const auto& sql : patched) {
    for (const auto& row : query(db, sql)) lines.push_back(row.at(0));
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

/// "only in A: ... / only in B: ..." for two sorted line lists.
std::string lineDiff(const std::vector<std::string>& a, const std::string& a_name,
                     const std::vector<std::string>& b, const std::string& b_name) {
  std::vector<std::string> only_a, only_b;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_a));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_b));
  std::ostringstream out;
  for (const auto& l : only_a) out << "  only in " << a_name << ": " << l << "\n";
  for (const auto& l : only_b) out << "  only in " << b_name << ": " << l << "\n";
  return out.str();
}

struct ColumnInfo {
  std::string name, type;
  bool not_null;
  std::string comment;
};

/// PostgreSQL's own spelling (format_type) of every sdk::toSqlType: "timestamptz" is
/// "timestamp with time zone".
std::map<std::string, std::string> canonicalTypes(const std::string& db) {
  std::map<std::string, std::string> out;
  for (const auto type : {sdk::ColumnType::Text, sdk::ColumnType::Integer, sdk::ColumnType::Real,
                          sdk::ColumnType::Boolean, sdk::ColumnType::Date,
                          sdk::ColumnType::Timestamptz, sdk::ColumnType::Jsonb}) {
    const std::string name = sdk::toSqlType(type);
    out[name] =
        query(db, "SELECT format_type(" + ddl::quoteLiteral(name) + "::regtype, NULL)").at(0).at(0);
  }
  return out;
}

std::string firstDifference(const std::string& want, const std::string& have) {
  std::istringstream a(want), b(have);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool ga = static_cast<bool>(std::getline(a, la));
    const bool gb = static_cast<bool>(std::getline(b, lb));
    if (!ga && !gb) return "identical";
    if (!ga || !gb || la != lb) {
      return "first difference at line " + std::to_string(line) + " of the generated part:\n" +
             "  oura-schema-sql: " + (ga ? la : "<end>") + "\n" +
             "  001_init.sql:    " + (gb ? lb : "<end>");
    }
  }
}

constexpr const char* kWriteMigration =
    "the schema in sql/ does not match the plugins' stream schemas: write "
    "sql/NNN_<name>.sql: run oura-schema-sql to get the new DDL (a new stream's CREATE TABLE, "
    "ALTER TABLE for changed columns, COMMENT ON for changed descriptions)";

}  // namespace

// --- quoting (no database) --------------------------------------------------------------------

TEST(SchemaSql, QuoteLiteralDoublesSingleQuotes) {
  EXPECT_EQ(ddl::quoteLiteral(""), "''");
  EXPECT_EQ(ddl::quoteLiteral("bpm"), "'bpm'");
  EXPECT_EQ(ddl::quoteLiteral("the user's local day"), "'the user''s local day'");
  EXPECT_EQ(ddl::quoteLiteral("''"), "''''''");
  EXPECT_EQ(ddl::quoteLiteral("a\\b \"c\" $$d$$"), "'a\\b \"c\" $$d$$'");
  EXPECT_EQ(ddl::quoteLiteral("°C, µs"), "'°C, µs'");
  EXPECT_THROW(ddl::quoteLiteral(std::string("a\0b", 3)), std::invalid_argument);
}

TEST(SchemaSql, QuoteIdentDoublesDoubleQuotes) {
  EXPECT_EQ(ddl::quoteIdent("daily_sleep"), "\"daily_sleep\"");
  EXPECT_EQ(ddl::quoteIdent("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(ddl::quoteIdent("user"), "\"user\"");  // a reserved word is fine quoted
  EXPECT_EQ(ddl::quoteIdent(std::string(63, 'x')).size(), 65u);
  EXPECT_THROW(ddl::quoteIdent(""), std::invalid_argument);
  EXPECT_THROW(ddl::quoteIdent(std::string(64, 'x')), std::invalid_argument);
  EXPECT_THROW(ddl::quoteIdent(std::string("a\0b", 3)), std::invalid_argument);
}

TEST(SchemaSql, QuotedTextRoundTripsThroughPostgres) {
  ASSERT_TRUE(havePostgres()) << kNoPostgres;
  const std::string tricky =
      "it's \"quoted\", a \\ backslash, $$dollars$$, ''two'' and ; semicolon";
  const auto rows =
      query(oura::test::envOr("PGDATABASE", "postgres"),
            "SELECT " + ddl::quoteLiteral(tricky) + " AS " + ddl::quoteIdent("a \"b\""));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at(0), tricky);
}

// --- migration files (no database) ------------------------------------------------------------

TEST(Schema, MigrationFilesAreNumberedFromOneWithoutGapsAndHoldNoTransactionControl) {
  const auto files = migrationFiles();
  ASSERT_FALSE(files.empty()) << "no sql/NNN_*.sql";
  EXPECT_EQ(files.front().path.filename(), "001_init.sql");
  const std::regex control(
      "^\\s*(BEGIN|COMMIT|ROLLBACK|START\\s+TRANSACTION|SAVEPOINT|VACUUM)\\b|"
      "\\bCONCURRENTLY\\b|\\bschema_migrations\\b",
      std::regex::icase);
  for (std::size_t i = 0; i < files.size(); ++i) {
    SCOPED_TRACE(files[i].path.filename().string());
    EXPECT_EQ(files[i].version, static_cast<int>(i + 1))
        << "versions go 001, 002, ... without gaps";
    std::istringstream in(readText(files[i].path));
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      const auto comment = line.find("--");
      const std::string code = line.substr(0, comment);  // no "--" inside our literals
      EXPECT_FALSE(std::regex_search(code, control))
          << "line " << number << ": " << line
          << "\n  a migration holds only its own DDL: migrate() runs it in one transaction and "
             "records it in oura.schema_migrations itself";
    }
  }
}

// --- the schema against the stream schemas ----------------------------------------------------

TEST(Schema, MigrationsApplyFromEmptyAndGiveOneTablePerStream) {
  ASSERT_TRUE(havePostgres()) << kNoPostgres;
  ScratchDatabase db;
  ASSERT_TRUE(applyMigrations(db.name()));

  const auto types = canonicalTypes(db.name());
  const std::string in_oura =
      " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'oura'";

  std::map<std::string, std::string> tables;  // table -> comment
  for (const auto& row :
       query(db.name(), "SELECT c.relname, coalesce(obj_description(c.oid, 'pg_class'), '')" +
                            in_oura + " AND c.relkind IN ('r', 'p', 'v', 'm', 'f')")) {
    tables[row.at(0)] = row.at(1);
  }
  std::map<std::string, std::vector<ColumnInfo>> columns;
  for (const auto& row :
       query(db.name(),
             "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
             " coalesce(col_description(c.oid, a.attnum), '')"
             " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
             " JOIN pg_attribute a ON a.attrelid = c.oid"
             " WHERE n.nspname = 'oura' AND a.attnum > 0 AND NOT a.attisdropped"
             " AND c.relkind IN ('r', 'p') ORDER BY c.relname, a.attnum")) {
    columns[row.at(0)].push_back({row.at(1), row.at(2), row.at(3) == "t", row.at(4)});
  }
  // Every index's columns in order (expressions show as "<expr>"), and which is the primary key.
  std::map<std::string, std::vector<std::string>> primary_keys;
  std::map<std::string, std::set<std::vector<std::string>>> indexes;
  {
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> by_index;
    std::map<std::pair<std::string, std::string>, bool> primary;
    for (const auto& row :
         query(db.name(),
               "SELECT c.relname, ic.relname, i.indisprimary, coalesce(a.attname, '<expr>')"
               " FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
               " JOIN pg_class ic ON ic.oid = i.indexrelid"
               " JOIN pg_namespace n ON n.oid = c.relnamespace"
               " CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)"
               " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum"
               " WHERE n.nspname = 'oura' ORDER BY c.relname, ic.relname, k.ord")) {
      by_index[{row.at(0), row.at(1)}].push_back(row.at(3));
      primary[{row.at(0), row.at(1)}] = row.at(2) == "t";
    }
    for (const auto& [key, cols] : by_index) {
      if (primary[key]) {
        primary_keys[key.first] = cols;
      } else {
        indexes[key.first].insert(cols);
      }
    }
  }

  const auto streams = allStreams();
  ASSERT_FALSE(streams.empty()) << "no endpoint plugin in " << pluginDir();
  std::set<std::string> stream_tables;
  for (const auto& ref : streams) {
    const sdk::StreamSchema& stream = ref.stream();
    SCOPED_TRACE("stream " + stream.name + " (collection " + ref.collection->name + ")");
    stream_tables.insert(stream.name);
    ASSERT_TRUE(tables.count(stream.name))
        << "no table oura." << stream.name << ": " << kWriteMigration;

    // Columns: account, the stream's, deleted_at (document streams); types; NOT NULL on keys only.
    const std::set<std::string> key(stream.primary_key.begin(), stream.primary_key.end());
    std::vector<std::string> want, have;
    want.push_back("account " + types.at("text") + " NOT NULL");
    for (const auto& c : stream.columns) {
      want.push_back(c.name + " " + types.at(sdk::toSqlType(c.type)) +
                     (key.count(c.name) ? " NOT NULL" : ""));
    }
    if (ref.document()) want.push_back("deleted_at " + types.at("timestamptz"));
    for (const auto& c : columns[stream.name]) {
      have.push_back(c.name + " " + c.type + (c.not_null ? " NOT NULL" : ""));
      EXPECT_FALSE(c.comment.empty()) << "column " << c.name << " has no COMMENT";
    }
    EXPECT_EQ(have, want) << "columns of oura." << stream.name
                          << " (name, type, NOT NULL only on the key) differ: " << kWriteMigration;

    std::vector<std::string> want_key = {"account"};
    want_key.insert(want_key.end(), stream.primary_key.begin(), stream.primary_key.end());
    EXPECT_EQ(primary_keys[stream.name], want_key) << "primary key of oura." << stream.name;
    EXPECT_FALSE(tables[stream.name].empty()) << "oura." << stream.name << " has no COMMENT";

    // Time-range indexes: (account, day column) for documents whose key does not start with it,
    // (account, timestamp) for samples.
    std::string time_column;
    if (stream.samples) {
      time_column = "timestamp";
    } else if (!ref.collection->day_field.empty()) {
      time_column = ref.collection->day_field;
      std::replace(time_column.begin(), time_column.end(), '.', '_');
      const bool is_column =
          std::any_of(stream.columns.begin(), stream.columns.end(),
                      [&](const sdk::Column& c) { return c.name == time_column; });
      if (!is_column || stream.primary_key.front() == time_column) time_column.clear();
    }
    if (!time_column.empty()) {
      EXPECT_TRUE(indexes[stream.name].count({"account", time_column}))
          << "no index on oura." << stream.name << " (account, " << time_column << ")";
    }
  }

  // Nothing in schema oura but stream tables and the sink's own state.
  for (const auto& [table, comment] : tables) {
    if (kStateTableNames.count(table)) continue;
    EXPECT_TRUE(stream_tables.count(table))
        << "oura." << table << " is the table of no stream of any built endpoint plugin";
  }
  EXPECT_FALSE(tables.count("schema_migrations"))
      << "oura.schema_migrations belongs to the sink's migrate(), not to a migration file";

  // sync_state: (account, collection) -> synced_through, with updated_at.
  ASSERT_TRUE(tables.count("sync_state")) << "no table oura.sync_state";
  std::vector<std::string> state;
  for (const auto& c : columns["sync_state"]) {
    state.push_back(c.name + " " + c.type + (c.not_null ? " NOT NULL" : ""));
    EXPECT_FALSE(c.comment.empty()) << "sync_state." << c.name << " has no COMMENT";
  }
  EXPECT_EQ(state, (std::vector<std::string>{"account text NOT NULL", "collection text NOT NULL",
                                             "synced_through date NOT NULL",
                                             "updated_at timestamp with time zone NOT NULL"}));
  EXPECT_EQ(primary_keys["sync_state"], (std::vector<std::string>{"account", "collection"}));
  EXPECT_EQ(query(db.name(),
                  "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d"
                  " JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
                  " WHERE d.adrelid = 'oura.sync_state'::regclass"
                  " AND a.attname = 'updated_at'"),
            (std::vector<std::vector<std::string>>{{"now()"}}));

  // The run log (003_run_log.sql): runs, and run_collections going with its run; both carry
  // account (purge empties every oura table with one); every column commented; the indexes of
  // "latest run per account" and "latest run (and error) per account and collection".
  for (const std::string table : {"runs", "run_collections"}) {
    SCOPED_TRACE(table);
    ASSERT_TRUE(tables.count(table)) << "no table oura." << table;
    EXPECT_FALSE(tables[table].empty()) << "oura." << table << " has no COMMENT";
    bool has_account = false;
    for (const auto& c : columns[table]) {
      EXPECT_FALSE(c.comment.empty()) << table << "." << c.name << " has no COMMENT";
      has_account |= c.name == "account" && c.not_null;
    }
    EXPECT_TRUE(has_account) << "oura." << table << " needs account NOT NULL (purge --account)";
  }
  EXPECT_EQ(primary_keys["runs"], (std::vector<std::string>{"id"}));
  EXPECT_EQ(primary_keys["run_collections"], (std::vector<std::string>{"run_id", "collection"}));
  EXPECT_TRUE(indexes["runs"].count({"account", "started_at"}));
  EXPECT_TRUE(indexes["run_collections"].count({"account", "collection", "run_id"}));
  EXPECT_EQ(query(db.name(),
                  "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' AND "
                  "conrelid = 'oura.run_collections'::regclass"),
            (std::vector<std::vector<std::string>>{
                {"FOREIGN KEY (run_id) REFERENCES oura.runs(id) ON DELETE CASCADE"}}));
}

// Upgrades: a database at any earlier migration, with data in it, brought to the newest by the
// remaining files, has exactly the schema of one migrated from empty, and keeps its rows.
TEST(Schema, MigrationsFromEachEarlierVersionGiveTheSameSchema) {
  ASSERT_TRUE(havePostgres()) << kNoPostgres;
  const auto files = migrationFiles();
  ASSERT_GE(files.size(), 3u) << "001_init, 002_token_store, 003_run_log at least";
  ScratchDatabase fresh;
  ASSERT_TRUE(applyMigrations(fresh.name()));
  const auto want = catalog(fresh.name(), false);
  for (std::size_t at = 1; at < files.size(); ++at) {
    SCOPED_TRACE("from migration " + std::to_string(files[at - 1].version));
    ScratchDatabase db;
    for (std::size_t i = 0; i < at; ++i) {
      const CommandResult r = applyFile(db.name(), files[i].path);
      ASSERT_EQ(r.exit_code, 0) << files[i].path.filename() << ": " << r.err;
    }
    query(db.name(), "INSERT INTO oura.sync_state (account, collection, synced_through) VALUES "
                     "('upgrade', 'daily_sleep', '2024-01-31')");
    for (std::size_t i = at; i < files.size(); ++i) {
      const CommandResult r = applyFile(db.name(), files[i].path);
      ASSERT_EQ(r.exit_code, 0) << files[i].path.filename() << " on a database at migration "
                                << files[at - 1].version << ": " << r.err;
    }
    const auto have = catalog(db.name(), false);
    EXPECT_TRUE(want == have) << lineDiff(want, "migrated from empty", have, "upgraded");
    EXPECT_EQ(query(db.name(), "SELECT synced_through FROM oura.sync_state WHERE account = "
                               "'upgrade'"),
              (std::vector<std::vector<std::string>>{{"2024-01-31"}}));
  }
}

// 001_init.sql uses IF NOT EXISTS throughout (COMMENT ON is a plain overwrite), so running it
// again on a database that has it changes nothing and fails nothing. Correctness still comes from
// schema_migrations; this only makes a hand-run retry harmless.
TEST(Schema, InitAppliedTwiceChangesNothing) {
  ASSERT_TRUE(havePostgres()) << kNoPostgres;
  ScratchDatabase db;
  const fs::path init = sourceDir() / "sql" / "001_init.sql";
  const CommandResult first = applyFile(db.name(), init);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto before = catalog(db.name(), false);
  ASSERT_FALSE(before.empty());
  const CommandResult second = applyFile(db.name(), init);
  ASSERT_EQ(second.exit_code, 0) << "001_init.sql applied a second time failed: " << second.err;
  const auto after = catalog(db.name(), false);
  EXPECT_EQ(before, after) << lineDiff(before, "first run", after, "second run");
}

// The generator and the migrations cannot drift: the schema oura-schema-sql prints for the built
// plugins equals the one the migrations build (tables, columns, types, keys, indexes, comments),
// and while 001 is the only migration its generated part is exactly the generator's output.
TEST(Schema, GeneratorOutputMatchesTheMigrations) {
  const CommandResult tool = runCommand(OURA_SCHEMA_SQL_TOOL, {pluginDir()});
  ASSERT_EQ(tool.exit_code, 0) << "oura-schema-sql failed: " << tool.err;
  ASSERT_EQ(tool.out.rfind(ddl::kGeneratedMarker, 0), 0u) << tool.out.substr(0, 200);

  const auto files = migrationFiles();
  ASSERT_FALSE(files.empty());
  if (files.size() == 1) {
    const std::string init = readText(files.front().path);
    const auto at = init.find(ddl::kGeneratedMarker);
    ASSERT_NE(at, std::string::npos) << "001_init.sql lacks the line " << ddl::kGeneratedMarker;
    const std::string part = init.substr(at);
    EXPECT_TRUE(part == tool.out)
        << kWriteMigration << " (until a release has shipped 001, regenerate its part after the "
        << "marker line instead)\n"
        << firstDifference(tool.out, part);
  }

  ASSERT_TRUE(havePostgres()) << kNoPostgres;
  ScratchDatabase migrated;
  ASSERT_TRUE(applyMigrations(migrated.name()));
  ScratchDatabase generated;
  const CommandResult applied = applyText(generated.name(), "CREATE SCHEMA oura;\n" + tool.out);
  ASSERT_EQ(applied.exit_code, 0) << "oura-schema-sql's output does not apply: " << applied.err;
  const auto want = catalog(generated.name(), true);
  const auto have = catalog(migrated.name(), true);
  ASSERT_FALSE(want.empty());
  EXPECT_TRUE(want == have) << kWriteMigration << "\n"
                            << lineDiff(want, "oura-schema-sql", have, "sql/ migrations");
}
