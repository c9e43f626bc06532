// The postgres sink against a real PostgreSQL: every test gets a database of its own, applies
// the migrations of sql/ through the sink's migrate(), adds tables for its test-only streams
// (the table conventions) and points the sink at it. Without PGHOST the tests FAIL.
#include "../postgres_sink.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <oura_sdk/errors.hpp>
#include <oura_sdk/schema.hpp>
#include <thread>

#include "plugin_host/loader.hpp"
#include "pg_test_support.hpp"

using namespace oura::sdk;
using oura::plugins::postgres::PostgresSink;
using pgtest::Database;

namespace {

// --- Test-only collections -------------------------------------------------------------------

// A document collection keyed by id, windowed by a date column, with one sample stream.
CollectionSpec things() {
  CollectionSpec spec =
      collectionSpec("things", "Things", "daily", SyncStrategy::DateWindow, "day");
  spec.streams.push_back(
      documentStream("things", "test documents",
                     {column("id", ColumnType::Text, Presence::Required, "key"),
                      column("day", ColumnType::Date, Presence::Required, "day"),
                      column("n", ColumnType::Integer, Presence::Optional, "count"),
                      column("x", ColumnType::Real, Presence::Optional, "real"),
                      column("ok", ColumnType::Boolean, Presence::Optional, "flag"),
                      column("at", ColumnType::Timestamptz, Presence::Optional, "time"),
                      column("label", ColumnType::Text, Presence::Optional, "text")},
                     {"id"}));
  spec.streams.push_back(
      sampleStream(spec.streams[0], "things_value", "value", ColumnType::Real, "a value"));
  return spec;
}

// A time series keyed by (timestamp, source), windowed by its timestamptz column.
CollectionSpec beats() {
  CollectionSpec spec =
      collectionSpec("beats", "Beats", "heartrate", SyncStrategy::DateTimeWindow, "timestamp");
  spec.streams.push_back(
      documentStream("beats", "test time series",
                     {column("timestamp", ColumnType::Timestamptz, Presence::Required, "time"),
                      column("source", ColumnType::Text, Presence::Required, "source"),
                      column("bpm", ColumnType::Integer, Presence::Optional, "bpm")},
                     {"timestamp", "source"}));
  return spec;
}

// A snapshot collection (no window).
CollectionSpec profile() {
  CollectionSpec spec =
      collectionSpec("profile", "Profile", "personal", SyncStrategy::Snapshot, "");
  spec.streams.push_back(
      documentStream("profile", "test snapshot",
                     {column("id", ColumnType::Text, Presence::Required, "key"),
                      column("age", ColumnType::Integer, Presence::Optional, "years")},
                     {"id"}));
  return spec;
}

std::string rawOf(const std::string& id, const std::string& day, std::int64_t n) {
  return R"({"id":")" + id + R"(","day":")" + day + R"(","n":)" + std::to_string(n) + "}";
}

Row thing(const std::string& id, const std::string& day, std::int64_t n,
          const std::string& label = "label") {
  return Row{id,    day,
             n,     1.5,
             true,  std::string("2024-01-01T04:00:00.250+01:00"),
             label, rawOf(id, day, n)};
}

Row sample(const std::string& id, const std::string& ts, double value) {
  return Row{id, ts, value};
}

Row beat(const std::string& ts, const std::string& source, std::int64_t bpm) {
  return Row{ts, source, bpm,
             R"({"timestamp":")" + ts + R"(","source":")" + source + R"(","bpm":)" +
                 std::to_string(bpm) + "}"};
}

SinkBatch batchOf(const CollectionSpec& spec, const std::string& account,
                  std::vector<std::vector<Row>> rows,
                  DayWindow window = {"2024-01-01", "2024-01-05"}) {
  SinkBatch b;
  b.account = account;
  b.collection = &spec;
  b.window = std::move(window);
  for (std::size_t i = 0; i < spec.streams.size(); ++i) {
    b.streams.push_back(
        StreamRows{&spec.streams[i], i < rows.size() ? rows[i] : std::vector<Row>{}});
  }
  return b;
}

// The keys (in primary-key order) of the document rows of a batch.
std::vector<Row> keysOf(const CollectionSpec& spec, const std::vector<Row>& rows) {
  std::vector<Row> keys;
  for (const Row& r : rows) {
    Row k;
    for (const auto& name : spec.streams[0].primary_key)
      k.push_back(r[spec.streams[0].columnIndex(name)]);
    keys.push_back(k);
  }
  return keys;
}

// --- Fixture ---------------------------------------------------------------------------------

class PostgresSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pgtest::requireEnv("PGHOST");  // throws: the test fails with the reason
    db_ = std::make_unique<Database>();
  }
  void TearDown() override {
    sinks_.clear();
    db_.reset();
  }

  PostgresSink& makeSink(std::map<std::string, ConfigValue> overrides = {},
                         const std::string& instance = "pgtest") {
    PluginContext context{instance, Logger("oura.sink." + instance),
                          pgtest::sinkConfig(db_->name(), std::move(overrides))};
    sinks_.push_back(std::make_unique<PostgresSink>(context));
    return *sinks_.back();
  }

  // Migrated with sql/, plus the test-only tables; returns a sink opened for them.
  PostgresSink& readySink(std::map<std::string, ConfigValue> overrides = {},
                          const std::string& instance = "pgtest",
                          const std::string& account = "me") {
    if (!prepared_) {
      PostgresSink& init = makeSink({}, "pgtest-init");
      init.migrate(pgtest::migrations());
      init.close();
      db_->exec(pgtest::conventionDdl(things_) + pgtest::conventionDdl(beats_) +
                pgtest::conventionDdl(profile_));
      prepared_ = true;
    }
    PostgresSink& sink = makeSink(std::move(overrides), instance);
    sink.open(account, {&things_, &beats_, &profile_});
    return sink;
  }

  static void expectDone(const SinkOutcome& o, std::uint64_t inserted, std::uint64_t updated) {
    EXPECT_EQ(o.status, SinkOutcome::Status::Done) << o.message;
    EXPECT_EQ(o.inserted, inserted) << o.message;
    EXPECT_EQ(o.updated, updated) << o.message;
  }

  std::unique_ptr<Database> db_;
  std::vector<std::unique_ptr<PostgresSink>> sinks_;
  bool prepared_ = false;
  CollectionSpec things_ = things();
  CollectionSpec beats_ = beats();
  CollectionSpec profile_ = profile();
};

// --- Migrations and open ---------------------------------------------------------------------

TEST_F(PostgresSinkTest, MigrateFromEmptyAppliesEveryFileAndIsIdempotent) {
  const std::vector<Migration> all = pgtest::migrations();
  ASSERT_FALSE(all.empty());
  PostgresSink& sink = makeSink();
  EXPECT_EQ(sink.schemaVersion(), 0);
  std::vector<int> expected;
  for (const Migration& m : all) expected.push_back(m.version);
  EXPECT_EQ(sink.migrate(all), expected);
  EXPECT_EQ(sink.schemaVersion(), all.back().version);
  EXPECT_TRUE(sink.migrate(all).empty()) << "the second run applies nothing";
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.schema_migrations"), std::to_string(all.size()));
  EXPECT_EQ(db_->scalar("SELECT name FROM oura.schema_migrations WHERE version = 1"), all[0].name);
  // The conventions every migration set must provide.
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                        "'oura' AND table_name = 'sync_state' AND column_name IN ('account', "
                        "'collection', 'synced_through', 'updated_at')"),
            "4");
}

TEST_F(PostgresSinkTest, MigrateStopsAtAFailingMigrationAndKeepsTheEarlierOnes) {
  std::vector<Migration> all = pgtest::migrations();
  const int last = all.back().version;
  all.push_back(Migration{last + 1, "900_good.sql", "CREATE TABLE oura.extra_ok (a int);"});
  all.push_back(Migration{last + 2, "901_bad.sql",
                          "CREATE TABLE oura.extra_half (a int); SELECT no_such_function();"});
  PostgresSink& sink = makeSink();
  try {
    sink.migrate(all);
    FAIL() << "a failing migration must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("901_bad.sql"), std::string::npos) << e.what();
  }
  EXPECT_EQ(sink.schemaVersion(), last + 1);
  EXPECT_EQ(db_->scalar("SELECT to_regclass('oura.extra_half') IS NULL"), "t")
      << "the failed migration is rolled back whole";
  // A migration that commits by itself is refused rather than recorded half-way.
  std::vector<Migration> more = all;
  more.pop_back();
  more.push_back(
      Migration{last + 2, "901_commit.sql", "CREATE TABLE oura.extra_c (a int); COMMIT;"});
  EXPECT_THROW(sink.migrate(more), Error);
}

TEST_F(PostgresSinkTest, OpenWithoutSchemaAsksForInitDb) {
  PostgresSink& sink = makeSink();
  try {
    sink.open("me", {&things_});
    FAIL() << "open must refuse an empty database";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("oura-collector init-db"), std::string::npos) << e.what();
  }
}

TEST_F(PostgresSinkTest, OpenWithAMissingTableOrColumnAsksForInitDb) {
  PostgresSink& init = makeSink({}, "pgtest-init");
  init.migrate(pgtest::migrations());
  PostgresSink& sink = makeSink();
  try {
    sink.open("me", {&things_});
    FAIL() << "open must refuse missing tables";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("table oura.things is missing"), std::string::npos) << m;
    EXPECT_NE(m.find("oura-collector init-db"), std::string::npos) << m;
  }
  db_->exec(pgtest::conventionDdl(things_) + "ALTER TABLE oura.things DROP COLUMN label;");
  try {
    sink.open("me", {&things_});
    FAIL() << "open must refuse a missing column";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("column oura.things.label is missing"), std::string::npos)
        << e.what();
  }
  db_->exec("ALTER TABLE oura.things ADD COLUMN label integer;");
  try {
    sink.open("me", {&things_});
    FAIL() << "open must refuse a column of another type";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("column oura.things.label is integer, expected text"),
              std::string::npos)
        << e.what();
  }
}

// The real migrations hold a table, with the right columns, for every stream of every built
// endpoint plugin.
TEST_F(PostgresSinkTest, OpenAcceptsEveryCollectionOfEveryBuiltEndpointPlugin) {
  oura::core::PluginLoader loader({pgtest::requireEnv("OURA_PLUGIN_DIR")});
  auto discovered = loader.discover();
  EXPECT_TRUE(discovered.errors.empty()) << discovered.errors.front();
  std::vector<std::shared_ptr<EndpointPlugin>> endpoints;
  std::vector<const CollectionSpec*> collections;
  for (const auto& plugin : discovered.plugins) {
    if (plugin.descriptor->kind != PluginKind::Endpoint) continue;
    PluginContext context{plugin.descriptor->name, Logger("oura.endpoint.test"), PluginConfig{}};
    std::map<std::string, ConfigValue> values;
    for (const ConfigKey& key : plugin.descriptor->config_schema()) {
      if (key.default_value) values[key.name] = *key.default_value;
    }
    context.config = PluginConfig(values);
    endpoints.push_back(loader.create<EndpointPlugin>(plugin, context));
    for (const CollectionSpec& spec : endpoints.back()->collections()) collections.push_back(&spec);
  }
  ASSERT_GE(collections.size(), 19u) << "every Oura collection comes from a built endpoint plugin";
  PostgresSink& init = makeSink({}, "pgtest-init");
  init.migrate(pgtest::migrations());
  PostgresSink& sink = makeSink();
  EXPECT_NO_THROW(sink.open("me", collections));
  // And one document per collection can be written (the primary keys match ON CONFLICT).
  for (const CollectionSpec* spec : collections) {
    SinkBatch b = batchOf(*spec, "me", {}, {});
    std::vector<Row> rows(1);
    for (const Column& c : spec->streams[0].columns) {
      switch (c.type) {
        case ColumnType::Text:
          rows[0].push_back(std::string("x"));
          break;
        case ColumnType::Integer:
          rows[0].push_back(std::int64_t{1});
          break;
        case ColumnType::Real:
          rows[0].push_back(1.0);
          break;
        case ColumnType::Boolean:
          rows[0].push_back(true);
          break;
        case ColumnType::Date:
          rows[0].push_back(std::string("2024-01-01"));
          break;
        case ColumnType::Timestamptz:
          rows[0].push_back(std::string("2024-01-01T00:00:00+00:00"));
          break;
        case ColumnType::Jsonb:
          rows[0].push_back(std::string("{}"));
          break;
      }
    }
    b.streams[0].rows = rows;
    SinkOutcome o = sink.write(b);
    EXPECT_EQ(o.status, SinkOutcome::Status::Done) << spec->name << ": " << o.message;
  }
}

// --- Upserts ---------------------------------------------------------------------------------

TEST_F(PostgresSinkTest, UpsertInsertsThenLeavesUnchangedRowsAndUpdatesOnlyChangedOnes) {
  PostgresSink& sink = readySink();
  std::vector<Row> rows{thing("a", "2024-01-01", 1), thing("b", "2024-01-02", 2),
                        Row{std::string("c"), std::string("2024-01-03"), std::monostate{},
                            std::monostate{}, std::monostate{}, std::monostate{}, std::monostate{},
                            std::string(R"({"id":"c","nested":{"k":[1,2.5,null]}})")}};
  expectDone(sink.write(batchOf(things_, "me", {rows})), 3, 0);
  expectDone(sink.write(batchOf(things_, "me", {rows})), 0, 0);
  const std::string xmin_b = db_->scalar("SELECT xmin::text FROM oura.things WHERE id = 'b'");
  rows[0][2] = std::int64_t{10};
  expectDone(sink.write(batchOf(things_, "me", {rows})), 0, 1);
  EXPECT_EQ(db_->scalar("SELECT xmin::text FROM oura.things WHERE id = 'b'"), xmin_b)
      << "an unchanged row is not touched";

  auto r = db_->query(
      "SELECT account, n, x, ok, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'), "
      "label, jsonb_typeof(raw), raw->>'id', day::text, deleted_at FROM oura.things ORDER BY id");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0][0], "me");
  EXPECT_EQ(r[0][1], "10");
  EXPECT_EQ(r[0][2], "1.5");
  EXPECT_EQ(r[0][3], "t");
  EXPECT_EQ(r[0][4], "2024-01-01 03:00:00.250") << "offset and fraction kept";
  EXPECT_EQ(r[0][6], "object") << "jsonb goes in as JSON, not as a string";
  EXPECT_EQ(r[0][7], "a");
  EXPECT_EQ(r[0][8], "2024-01-01");
  EXPECT_FALSE(r[0][9].has_value());
  for (int col : {1, 2, 3, 4, 5})
    EXPECT_FALSE(r[2][col].has_value()) << "NULL stays NULL, col " << col;
  EXPECT_EQ(db_->scalar("SELECT raw->'nested'->'k'->>1 FROM oura.things WHERE id = 'c'"), "2.5");
}

TEST_F(PostgresSinkTest, TheSameKeyTwiceInOneBatchKeepsTheLast) {
  PostgresSink& sink = readySink();
  std::vector<Row> rows{thing("a", "2024-01-01", 1), thing("b", "2024-01-01", 2),
                        thing("a", "2024-01-01", 3)};
  expectDone(sink.write(batchOf(things_, "me", {rows})), 2, 0);
  EXPECT_EQ(db_->scalar("SELECT n FROM oura.things WHERE id = 'a'"), "3");
  // Keys that are equal to PostgreSQL though written differently (one instant, two offsets).
  std::vector<Row> series{beat("2024-01-01T01:00:00+01:00", "awake", 60),
                          beat("2024-01-01T00:00:00+00:00", "awake", 61)};
  expectDone(sink.write(batchOf(beats_, "me", {series})), 1, 0);
  EXPECT_EQ(db_->scalar("SELECT bpm FROM oura.beats"), "61");
}

TEST_F(PostgresSinkTest, SamplesAreReplacedWhenADocumentComesAgainWithFewer) {
  PostgresSink& sink = readySink();
  std::vector<Row> docs{thing("a", "2024-01-01", 1), thing("b", "2024-01-01", 2)};
  std::vector<Row> samples{
      sample("a", "2024-01-01T00:00:00+00:00", 1.0), sample("a", "2024-01-01T00:05:00+00:00", 2.0),
      sample("a", "2024-01-01T00:10:00+00:00", 3.0), sample("b", "2024-01-01T00:00:00+00:00", 9.0)};
  expectDone(sink.write(batchOf(things_, "me", {docs, samples})), 6, 0);
  // Document a again, with two samples (one changed); document b not in this batch.
  std::vector<Row> fewer{sample("a", "2024-01-01T00:00:00+00:00", 1.0),
                         sample("a", "2024-01-01T00:05:00+00:00", 2.5)};
  expectDone(sink.write(batchOf(things_, "me", {{docs[0]}, fewer})), 0, 1);
  auto r =
      db_->query("SELECT things_id, value FROM oura.things_value ORDER BY things_id, timestamp");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0][1], "1");
  EXPECT_EQ(r[1][1], "2.5");
  EXPECT_EQ(r[2][0], "b") << "another document's samples stay";
  // A document sent with no samples at all loses them.
  expectDone(sink.write(batchOf(things_, "me", {{docs[1]}, {}})), 0, 0);
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.things_value WHERE things_id = 'b'"), "0");
}

TEST_F(PostgresSinkTest, NewRowsGoStraightInAndAnExistingKeyTurnsTheBatchIntoAnUpsert) {
  PostgresSink& sink = readySink();
  expectDone(sink.write(batchOf(things_, "me",
                                {{thing("a", "2024-01-01", 1), thing("b", "2024-01-02", 2)}})),
             2, 0);
  const std::string xmin_a = db_->scalar("SELECT xmin::text FROM oura.things WHERE id = 'a'");
  // a unchanged, b changed, c new: the COPY into the table meets a, the batch is upserted.
  expectDone(sink.write(batchOf(things_, "me",
                                {{thing("a", "2024-01-01", 1), thing("b", "2024-01-02", 20),
                                  thing("c", "2024-01-03", 3)}})),
             1, 1);
  EXPECT_EQ(db_->scalar("SELECT xmin::text FROM oura.things WHERE id = 'a'"), xmin_a)
      << "an unchanged row is not touched";
  // All new again (first upserted, then straight in), then a key again.
  expectDone(sink.write(batchOf(things_, "me", {{thing("d", "2024-01-04", 4)}})), 1, 0);
  expectDone(sink.write(batchOf(things_, "me", {{thing("e", "2024-01-05", 5)}})), 1, 0);
  expectDone(sink.write(batchOf(things_, "me",
                                {{thing("e", "2024-01-05", 50), thing("f", "2024-01-05", 6)}})),
             1, 1);
  EXPECT_EQ(db_->scalar("SELECT string_agg(id || '=' || n, ',' ORDER BY id) FROM oura.things"),
            "a=1,b=20,c=3,d=4,e=50,f=6");
  // The same keys for another account are new rows.
  expectDone(sink.write(batchOf(things_, "other", {{thing("a", "2024-01-01", 1)}})), 1, 0);
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.things"), "7");
}

TEST_F(PostgresSinkTest, SamplesAtOtherTimesReplaceTheStoredOnesOfTheirDocument) {
  PostgresSink& sink = readySink();
  std::vector<Row> docs{thing("a", "2024-01-01", 1)};
  expectDone(sink.write(batchOf(things_, "me",
                                {docs,
                                 {sample("a", "2024-01-01T00:00:00+00:00", 1.0),
                                  sample("a", "2024-01-01T00:05:00+00:00", 2.0)}})),
             3, 0);
  // Document a again, its samples all at new times: the old ones are stale.
  expectDone(sink.write(batchOf(things_, "me",
                                {docs,
                                 {sample("a", "2024-01-01T00:01:00+00:00", 3.0),
                                  sample("a", "2024-01-01T00:06:00+00:00", 4.0)}})),
             2, 0);
  EXPECT_EQ(db_->scalar("SELECT string_agg(value::text, ',' ORDER BY timestamp) FROM "
                        "oura.things_value"),
            "3,4");
  // Samples sent without their document: upserted (nothing judged stale).
  expectDone(sink.write(batchOf(things_, "me",
                                {{},
                                 {sample("a", "2024-01-01T00:01:00+00:00", 5.0),
                                  sample("a", "2024-01-01T00:09:00+00:00", 6.0)}})),
             1, 1);
  EXPECT_EQ(db_->scalar("SELECT string_agg(value::text, ',' ORDER BY timestamp) FROM "
                        "oura.things_value"),
            "5,4,6");
}

TEST_F(PostgresSinkTest, ValuesComeBackAsSentThroughTheCopy) {
  PostgresSink& sink = readySink();
  Row odd = thing("tab\there", "2024-01-01", -9007199254740993, "line\nbreak \\ back\rslash");
  odd[3] = 0.1 + 0.2;  // no shortest decimal form but its own
  odd[4] = false;
  odd[7] = std::string(R"({"id":"tab\there","s":"a\tb\\c","u":"\u00e9\u2603"})");
  Row nan = thing("nan", "2024-01-01", 0);
  nan[3] = std::numeric_limits<double>::quiet_NaN();
  expectDone(sink.write(batchOf(things_, "me", {{odd, nan}})), 2, 0);
  auto r = db_->query(
      "SELECT id, n, x = 0.1::float8 + 0.2::float8, ok, label, raw->>'s', raw->>'u', x IS NULL "
      "FROM oura.things ORDER BY id");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0][7], "t") << "a non-finite real is NULL";
  EXPECT_EQ(r[1][0], "tab\there");
  EXPECT_EQ(r[1][1], "-9007199254740993");
  EXPECT_EQ(r[1][2], "t") << "a real reads back exactly";
  EXPECT_EQ(r[1][3], "f");
  EXPECT_EQ(r[1][4], "line\nbreak \\ back\rslash");
  EXPECT_EQ(r[1][5], "a\tb\\c");
  EXPECT_EQ(r[1][6], "\u00e9\u2603");
  // The same rows again: nothing differs, nothing is written.
  expectDone(sink.write(batchOf(things_, "me", {{odd, nan}})), 0, 0);
}

TEST_F(PostgresSinkTest, WithoutTheTemporaryPrivilegeRowsGoAsJson) {
  const std::string writer = "oura_notemp_" + db_->name().substr(db_->name().size() - 8);
  readySink().close();
  db_->exec("CREATE ROLE " + writer + " LOGIN; REVOKE TEMPORARY ON DATABASE " + db_->name() +
            " FROM PUBLIC; GRANT USAGE ON SCHEMA oura TO " + writer +
            "; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA oura TO " + writer);
  auto drop_role = [&] {
    sinks_.clear();
    db_.reset();
    PGconn* admin = pgtest::connect(pgtest::requireEnv("PGDATABASE"));
    PQclear(PQexec(admin, ("DROP ROLE IF EXISTS " + writer).c_str()));
    PQfinish(admin);
  };
  try {
    pgtest::LogCapture logs("oura.sink.pgtest-notemp");
    PostgresSink& sink = makeSink({{"user", writer}}, "pgtest-notemp");
    sink.open("me", {&things_});
    std::vector<Row> docs{thing("a", "2024-01-01", 1), thing("b", "2024-01-02", 2)};
    expectDone(sink.write(batchOf(things_, "me", {docs, {sample("a", "2024-01-01T00:00Z", 1.0)}})),
               3, 0);
    expectDone(sink.write(batchOf(things_, "me", {docs, {}})), 0, 0);  // a's sample is stale
    docs[1][2] = std::int64_t{20};
    expectDone(sink.write(batchOf(things_, "me", {docs})), 0, 1);
    EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.things_value"), "0");
    EXPECT_NE(logs.all().find("may not create temporary tables"), std::string::npos) << logs.all();
    EXPECT_NE(logs.all().find("GRANT TEMPORARY ON DATABASE"), std::string::npos) << logs.all();
  } catch (...) {
    drop_role();
    throw;
  }
  drop_role();
}

// --- Deletions -------------------------------------------------------------------------------

TEST_F(PostgresSinkTest, ACompleteWindowMarksMissingDocumentsAndUnmarksReturningOnes) {
  PostgresSink& sink = readySink();
  std::vector<Row> rows{thing("a", "2024-01-01", 1), thing("b", "2024-01-02", 2),
                        thing("c", "2024-01-10", 3)};
  expectDone(sink.write(batchOf(things_, "me", {rows}, {"2024-01-01", "2024-01-10"})), 3, 0);
  expectDone(sink.write(batchOf(things_, "other", {{thing("b", "2024-01-02", 2)}})), 1, 0);

  // 2024-01-01..05 fetched completely: only a came back (in an earlier batch of the window).
  SinkBatch last = batchOf(things_, "me", {{}});
  last.window_complete = true;
  last.window_document_keys = keysOf(things_, {rows[0]});
  expectDone(sink.write(last), 0, 0);
  auto deleted = [&](const std::string& account, const std::string& id) {
    return db_->scalar(
               "SELECT deleted_at IS NOT NULL FROM oura.things WHERE account = $1 AND "
               "id = $2",
               {account, id}) == "t";
  };
  EXPECT_FALSE(deleted("me", "a"));
  EXPECT_TRUE(deleted("me", "b")) << "gone upstream: marked, not removed";
  EXPECT_FALSE(deleted("me", "c")) << "outside the window";
  EXPECT_FALSE(deleted("other", "b")) << "another account";
  const std::string when =
      db_->scalar("SELECT deleted_at FROM oura.things WHERE id = 'b' AND account = 'me'");

  // Marking again keeps the first deleted_at.
  expectDone(sink.write(last), 0, 0);
  EXPECT_EQ(db_->scalar("SELECT deleted_at FROM oura.things WHERE id = 'b' AND account = 'me'"),
            when);

  // b comes back.
  SinkBatch back = batchOf(things_, "me", {{rows[1]}});
  back.window_complete = true;
  back.window_document_keys = keysOf(things_, {rows[0], rows[1]});
  expectDone(sink.write(back), 0, 1);
  EXPECT_FALSE(deleted("me", "b"));
}

TEST_F(PostgresSinkTest, AnIncompleteWindowMarksNothing) {
  PostgresSink& sink = readySink();
  expectDone(sink.write(batchOf(things_, "me", {{thing("a", "2024-01-01", 1)}})), 1, 0);
  SinkBatch b = batchOf(things_, "me", {{}});
  b.window_complete = false;
  b.window_document_keys = {};
  expectDone(sink.write(b), 0, 0);
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.things WHERE deleted_at IS NOT NULL"), "0");
}

TEST_F(PostgresSinkTest, ATimestampWindowJudgesByTheDocumentsOwnDate) {
  PostgresSink& sink = readySink();
  // 23:30 on the 10th in New York is the 11th in UTC; the core keeps it in the window of the 10th.
  std::vector<Row> rows{beat("2024-01-10T23:30:00-05:00", "awake", 60),
                        beat("2024-01-11T12:00:00+00:00", "awake", 70),
                        beat("2024-01-05T12:00:00+00:00", "awake", 80)};
  expectDone(sink.write(batchOf(beats_, "me", {rows}, {"2024-01-01", "2024-01-20"})), 3, 0);
  SinkBatch b = batchOf(beats_, "me", {{}}, {"2024-01-11", "2024-01-20"});
  b.window_complete = true;
  b.window_document_keys = {};  // nothing came back for the 11th..20th
  expectDone(sink.write(b), 0, 0);
  auto r = db_->query("SELECT bpm, deleted_at IS NOT NULL FROM oura.beats ORDER BY bpm");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0][1], "f") << "the 10th by its own offset: not in the window";
  EXPECT_EQ(r[1][1], "t") << "the 11th: gone upstream";
  EXPECT_EQ(r[2][1], "f") << "the 5th: outside the window";
}

TEST_F(PostgresSinkTest, ACompleteSnapshotJudgesTheWholeCollectionOfTheAccount) {
  PostgresSink& sink = readySink();
  std::vector<Row> rows{Row{std::string("p1"), std::int64_t{30}, std::string("{}")},
                        Row{std::string("p2"), std::int64_t{31}, std::string("{}")}};
  expectDone(sink.write(batchOf(profile_, "me", {rows}, {})), 2, 0);
  SinkBatch b = batchOf(profile_, "me", {{rows[1]}}, {});
  b.window_complete = true;
  b.window_document_keys = keysOf(profile_, {rows[1]});
  expectDone(sink.write(b), 0, 0);
  EXPECT_EQ(db_->scalar("SELECT string_agg(id, ',' ORDER BY id) FROM oura.profile WHERE "
                        "deleted_at IS NOT NULL"),
            "p1");
}

// --- Sync state ------------------------------------------------------------------------------

TEST_F(PostgresSinkTest, SyncedThroughIsCommittedWithTheRows) {
  PostgresSink& sink = readySink();
  EXPECT_EQ(sink.syncedThrough("me", "things"), std::nullopt);
  SinkBatch b = batchOf(things_, "me", {{thing("a", "2024-01-01", 1)}});
  b.synced_through = "2024-01-05";
  expectDone(sink.write(b), 1, 0);
  EXPECT_EQ(sink.syncedThrough("me", "things"), "2024-01-05");
  EXPECT_EQ(sink.syncedThrough("me", "beats"), std::nullopt);
  b.synced_through = "2024-01-09";
  expectDone(sink.write(b), 0, 0);
  EXPECT_EQ(sink.syncedThrough("me", "things"), "2024-01-09");
  sink.close();
  PostgresSink& again = readySink({}, "pgtest-2");
  EXPECT_EQ(again.syncedThrough("me", "things"), "2024-01-09");
}

// --- Failures --------------------------------------------------------------------------------

TEST_F(PostgresSinkTest, AFailedBatchLeavesNothingWrittenAndNamesTheDocument) {
  PostgresSink& sink = readySink();
  std::vector<Row> rows;
  for (int i = 0; i < 40; ++i) rows.push_back(thing("doc" + std::to_string(i), "2024-01-01", i));
  rows[27][1] = std::string("2024-13-45");  // not a date
  SinkBatch b = batchOf(things_, "me", {rows, {sample("doc1", "2024-01-01T00:00:00Z", 1.0)}});
  b.synced_through = "2024-01-05";
  SinkOutcome o = sink.write(b);
  EXPECT_EQ(o.status, SinkOutcome::Status::Failed);
  EXPECT_NE(o.message.find("stream things"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("id=doc27"), std::string::npos) << o.message;
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.things"), "0");
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.things_value"), "0");
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.sync_state"), "0");

  // A jsonb value that is not JSON fails, naming the document and the column.
  std::vector<Row> bad{thing("j", "2024-01-01", 1)};
  bad[0][7] = std::string("{not json");
  o = sink.write(batchOf(things_, "me", {bad}));
  EXPECT_EQ(o.status, SinkOutcome::Status::Failed);
  EXPECT_NE(o.message.find("id=j"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("raw"), std::string::npos) << o.message;

  // A bad sample names its document too; the sink keeps working afterwards.
  o = sink.write(
      batchOf(things_, "me", {{thing("k", "2024-01-01", 1)}, {sample("k", "not a time", 1.0)}}));
  EXPECT_EQ(o.status, SinkOutcome::Status::Failed);
  EXPECT_NE(o.message.find("stream things_value"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("things_id=k"), std::string::npos) << o.message;
  expectDone(sink.write(batchOf(things_, "me", {{thing("k", "2024-01-01", 1)}})), 1, 0);
}

TEST_F(PostgresSinkTest, ADeadServerIsUnavailableNamingHostAndPortButNotThePassword) {
  const std::string password = "s3cret pass'word\"x";
  ::setenv("OURA_DB_PASSWORD", password.c_str(), 1);  // what the core would read it from
  const int port = pgtest::unusedPort();
  pgtest::LogCapture logs("oura.sink.pgtest");
  PostgresSink& sink = makeSink({{"host", std::string("127.0.0.1")},
                                 {"port", static_cast<std::int64_t>(port)},
                                 {"password", std::string(std::getenv("OURA_DB_PASSWORD"))},
                                 {"connect_timeout", std::int64_t{3}}});
  const std::string where = "127.0.0.1:" + std::to_string(port);
  try {
    sink.open("me", {&things_});
    FAIL() << "open must fail";
  } catch (const UnavailableError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(where), std::string::npos) << m;
    EXPECT_NE(m.find("is PostgreSQL running"), std::string::npos) << m;
    EXPECT_EQ(m.find("s3cret"), std::string::npos) << m;
  }
  EXPECT_THROW(sink.schemaVersion(), UnavailableError);
  EXPECT_THROW(sink.migrate(pgtest::migrations()), UnavailableError);
  EXPECT_THROW(sink.syncedThrough("me", "things"), UnavailableError);
  SinkOutcome o = sink.write(batchOf(things_, "me", {{thing("a", "2024-01-01", 1)}}));
  EXPECT_EQ(o.status, SinkOutcome::Status::RetryLater);
  EXPECT_NE(o.message.find(where), std::string::npos) << o.message;
  EXPECT_EQ(o.message.find("s3cret"), std::string::npos) << o.message;
  EXPECT_EQ(logs.all().find("s3cret"), std::string::npos) << logs.all();
  ::unsetenv("OURA_DB_PASSWORD");
}

TEST_F(PostgresSinkTest, ALostConnectionIsRetryLaterAndTheNextWriteReconnects) {
  PostgresSink& sink = readySink({{"application_name", std::string("oura-sink-terminate-test")}});
  expectDone(sink.write(batchOf(things_, "me", {{thing("a", "2024-01-01", 1)}})), 1, 0);
  const std::string pid = db_->scalar(
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'oura-sink-terminate-test'");
  EXPECT_EQ(db_->scalar("SELECT pg_terminate_backend($1::int)", {pid}), "t");
  // Wait until the server has ended that session.
  for (int i = 0;
       i < 100 &&
       db_->scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int", {pid}) != "0";
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  SinkBatch b = batchOf(things_, "me", {{thing("b", "2024-01-02", 2)}});
  b.synced_through = "2024-01-02";
  SinkOutcome o = sink.write(b);
  EXPECT_EQ(o.status, SinkOutcome::Status::RetryLater) << o.message;
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.things"), "1");
  expectDone(sink.write(b), 1, 0);
  EXPECT_EQ(sink.syncedThrough("me", "things"), "2024-01-02");
  EXPECT_NE(db_->scalar("SELECT pid FROM pg_stat_activity WHERE application_name = "
                        "'oura-sink-terminate-test'"),
            pid);
}

// --- Run lock --------------------------------------------------------------------------------

TEST_F(PostgresSinkTest, ASecondRunForTheSameAccountIsLockedOut) {
  PostgresSink& first = readySink({}, "pgtest-1", "alice");  // open takes alice's lock
  const std::string first_pid = db_->scalar(
      "SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND "
      "l.database = (SELECT oid FROM pg_database WHERE datname = current_database())");
  PostgresSink& second = makeSink({}, "pgtest-2");
  try {
    second.open("alice", {&things_});
    FAIL() << "the second run must be locked out";
  } catch (const RunLockedError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("account alice"), std::string::npos) << m;
    EXPECT_NE(m.find("pid " + first_pid), std::string::npos) << m;
  }
  EXPECT_THROW(second.syncedThrough("alice", "things"), RunLockedError);
  EXPECT_THROW(second.write(batchOf(things_, "alice", {{thing("a", "2024-01-01", 1)}})),
               RunLockedError);
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.things"), "0");
  EXPECT_THROW(second.purge("alice"), RunLockedError);
  // Another account is free.
  EXPECT_NO_THROW(second.open("bob", {&things_}));
  expectDone(second.write(batchOf(things_, "bob", {{thing("a", "2024-01-01", 1)}})), 1, 0);
  // The first run's own writes are fine; once it closes, the lock is free.
  expectDone(first.write(batchOf(things_, "alice", {{thing("a", "2024-01-01", 1)}})), 1, 0);
  first.close();
  EXPECT_NO_THROW(second.syncedThrough("alice", "things"));
}

TEST_F(PostgresSinkTest, LockFalseTakesNoRunLock) {
  PostgresSink& first = readySink({{"lock", false}}, "pgtest-1", "alice");
  PostgresSink& second = readySink({{"lock", false}}, "pgtest-2", "alice");
  EXPECT_NO_THROW(first.syncedThrough("alice", "things"));
  EXPECT_NO_THROW(second.syncedThrough("alice", "things"));
  // Only this test's database: other tests (and runs) may hold locks in theirs meanwhile.
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database())"),
            "0");
}

// --- Purge and read back ---------------------------------------------------------------------

TEST_F(PostgresSinkTest, PurgeRemovesOneAccountOnly) {
  PostgresSink& sink = readySink();
  for (const std::string account : {"me", "other"}) {
    SinkBatch b =
        batchOf(things_, account,
                {{thing("a", "2024-01-01", 1)}, {sample("a", "2024-01-01T00:00:00Z", 1.0)}});
    b.synced_through = "2024-01-05";
    expectDone(sink.write(b), 2, 0);
    expectDone(sink.write(batchOf(beats_, account, {{beat("2024-01-01T00:00:00Z", "awake", 60)}})),
               1, 0);
  }
  EXPECT_EQ(sink.purge("me"), 4u) << "things, things_value, beats and sync_state";
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.things WHERE account = 'me'"), "0");
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.sync_state WHERE account = 'me'"), "0");
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.things WHERE account = 'other'"), "1");
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.things_value WHERE account = 'other'"), "1");
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.beats WHERE account = 'other'"), "1");
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.sync_state WHERE account = 'other'"), "1");
  EXPECT_GT(std::stoi(db_->scalar("SELECT count(*) FROM oura.schema_migrations")), 0);
  EXPECT_EQ(sink.purge("me"), 0u);
}

TEST_F(PostgresSinkTest, ReadRawReturnsTheStoredDocumentsOldestFirstInChunks) {
  PostgresSink& sink = readySink();
  std::vector<Row> rows;
  for (int i = 0; i < 1234; ++i) {
    // ids in reverse of their days, so the order must come from the day column
    char day[16];
    std::snprintf(day, sizeof day, "2021-%02d-%02d", 1 + (i / 28) % 12, 1 + i % 28);
    rows.push_back(thing("id" + std::to_string(9999 - i), std::string(day), i));
  }
  rows[0][0] = std::string("gone");
  expectDone(sink.write(batchOf(things_, "me", {rows}, {"2021-01-01", "2021-12-28"})), rows.size(),
             0);
  expectDone(sink.write(batchOf(things_, "other", {{thing("x", "2021-01-01", 1)}})), 1, 0);
  db_->exec("UPDATE oura.things SET deleted_at = now() WHERE id = 'gone'");
  std::vector<std::string> raws;
  EXPECT_TRUE(sink.readRaw("me", things_, [&](const std::string& raw) { raws.push_back(raw); }));
  ASSERT_EQ(raws.size(), rows.size() - 1);
  std::string previous_day;
  for (const std::string& raw : raws) {
    const auto at = raw.find("\"day\": \"");
    ASSERT_NE(at, std::string::npos) << raw;
    const std::string day = raw.substr(at + 8, 10);
    EXPECT_LE(previous_day, day);
    previous_day = day;
    EXPECT_EQ(raw.find("gone"), std::string::npos);
  }
  EXPECT_EQ(db_->scalar("SELECT raw::text FROM oura.things WHERE account = 'me' AND deleted_at IS "
                        "NULL ORDER BY day, id LIMIT 1"),
            raws[0]);
  // A callback that throws ends the read cleanly; the sink stays usable.
  EXPECT_THROW(
      sink.readRaw("me", things_, [](const std::string&) { throw std::runtime_error("stop"); }),
      std::runtime_error);
  expectDone(sink.write(batchOf(things_, "me", {{thing("new", "2021-02-02", 1)}})), 1, 0);
  // Nothing stays open between chunks: the callback may write through the same sink (reprocess
  // maps and writes as it reads).
  std::size_t seen = 0;
  EXPECT_TRUE(sink.readRaw("me", things_, [&](const std::string&) {
    if (++seen % 600 == 0) {
      expectDone(sink.write(batchOf(things_, "other",
                                    {{thing("w" + std::to_string(seen), "2021-01-01", 1)}})),
                 1, 0);
    }
  }));
  EXPECT_EQ(seen, rows.size());  // the one written above ("new") is included
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.things WHERE account = 'other'"), "3");
  // A document without a day comes first (oldest unknown), and is not lost.
  Row undated = thing("undated", "2021-01-01", 5);
  undated[1] = std::monostate{};
  undated[7] = std::string(R"({"id":"undated"})");
  expectDone(sink.write(batchOf(things_, "me", {{undated}})), 1, 0);
  std::vector<std::string> again;
  EXPECT_TRUE(sink.readRaw("me", things_, [&](const std::string& raw) { again.push_back(raw); }));
  ASSERT_EQ(again.size(), rows.size() + 1);
  EXPECT_EQ(again.front(), R"({"id": "undated"})");
}

// --- Run log and status ----------------------------------------------------------------------

RunCollectionRecord runCollection(const std::string& collection, const std::string& outcome,
                                  const std::string& message = "", std::uint64_t requests = 3) {
  RunCollectionRecord c;
  c.collection = collection;
  c.endpoint = "test";
  c.first_day = "2024-01-01";
  c.last_day = "2024-01-05";
  c.requests = requests;
  c.retries = 1;
  c.pages = 2;
  c.documents = 5;
  c.rows = 9;
  c.inserted = 7;
  c.updated = 2;
  c.skipped = 1;
  c.warnings = 4;
  c.outcome = outcome;
  c.message = message;
  return c;
}

RunRecord runOf(const std::string& account, std::int64_t started_ms,
                std::vector<RunCollectionRecord> collections) {
  RunRecord run;
  run.account = account;
  run.command = "scrape";
  run.started_at_ms = started_ms;
  run.finished_at_ms = started_ms + 61234;
  run.program_version = "9.8.7";
  run.exit_code = 0;
  run.outcome = "ok";
  for (const auto& c : collections) {
    if (c.outcome != "ok") {
      run.exit_code = 1;
      run.outcome = "partial";
      run.error += (run.error.empty() ? "" : "\n") + c.collection + ": " + c.outcome;
    }
  }
  run.collections = std::move(collections);
  return run;
}

const CollectionStatus* find(const std::vector<CollectionStatus>& list, const std::string& account,
                             const std::string& collection) {
  for (const auto& s : list) {
    if (s.account == account && s.collection == collection) return &s;
  }
  return nullptr;
}

constexpr std::int64_t kT0 = 1712570401123;  // 2024-04-08T10:00:01.123Z

TEST_F(PostgresSinkTest, RecordRunWritesTheRunAndEveryCollectionInOneGo) {
  PostgresSink& sink = readySink();
  RunRecord run = runOf("me", kT0,
                        {runCollection("things", "ok"),
                         runCollection("beats", "failed", "GET /beats: 503 after 4 attempts", 4)});
  run.collections[1].first_day.clear();  // a snapshot-like entry: no window
  run.collections[1].last_day.clear();
  sink.recordRun(run);
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.runs"), "1");
  EXPECT_EQ(db_->scalar("SELECT account || ' ' || command || ' ' || exit_code || ' ' || outcome "
                        "|| ' ' || program_version || ' ' || error FROM oura.runs"),
            "me scrape 1 partial 9.8.7 beats: failed");
  EXPECT_EQ(db_->scalar("SELECT to_char(started_at AT TIME ZONE 'UTC', "
                        "'YYYY-MM-DD\"T\"HH24:MI:SS.MS') || ' ' || "
                        "to_char(finished_at AT TIME ZONE 'UTC', 'HH24:MI:SS.MS') FROM oura.runs"),
            "2024-04-08T10:00:01.123 10:01:02.357");
  EXPECT_EQ(db_->scalar("SELECT string_agg(concat_ws(' ', rc.collection, rc.endpoint, "
                        "rc.first_day, rc.last_day, rc.requests, rc.retries, rc.pages, "
                        "rc.documents, rc.\"rows\", rc.inserted, rc.updated, rc.skipped, "
                        "rc.warnings, rc.outcome, coalesce(rc.message, '-')), '; ' ORDER BY "
                        "rc.collection) FROM oura.run_collections rc JOIN oura.runs r ON r.id = "
                        "rc.run_id AND r.account = rc.account"),
            "beats test 4 1 2 5 9 7 2 1 4 failed GET /beats: 503 after 4 attempts; "
            "things test 2024-01-01 2024-01-05 3 1 2 5 9 7 2 1 4 ok -");
  // The same run again (a retry after a lost connection) is not recorded twice.
  sink.recordRun(run);
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.runs"), "1");
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.run_collections"), "2");
  // A run without collections (nothing selected) is still a run.
  sink.recordRun(runOf("me", kT0 + 3600000, {}));
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.runs WHERE error IS NULL"), "1");
}

TEST_F(PostgresSinkTest, StatusGivesSyncStateLastRunAndLastErrorPerCollection) {
  PostgresSink& sink = readySink();
  auto expectEmpty = [](const std::optional<std::vector<CollectionStatus>>& status) {
    ASSERT_TRUE(status.has_value()) << "the postgres sink keeps state";
    EXPECT_TRUE(status->empty());
  };
  expectEmpty(sink.status("me"));  // nothing recorded yet
  expectEmpty(sink.status(""));

  SinkBatch b = batchOf(things_, "me", {{thing("a", "2024-01-01", 1)}});
  b.synced_through = "2024-01-05";
  expectDone(sink.write(b), 1, 0);
  // Run 1: beats failed. Run 2: everything ok. Run 3 (another account): things failed.
  sink.recordRun(runOf("me", kT0, {runCollection("things", "ok"),
                                   runCollection("beats", "failed", "boom 1")}));
  sink.recordRun(runOf("me", kT0 + 3600000,
                       {runCollection("things", "ok"), runCollection("beats", "ok")}));
  sink.recordRun(runOf("other", kT0 + 7200000, {runCollection("things", "not_authorised",
                                                              "scope not granted")}));
  // A status never needs the run lock: `sink` holds it meanwhile, another instance reads.
  PostgresSink& other = makeSink({}, "pgtest-other");
  const auto mine = other.status("me");
  ASSERT_TRUE(mine);
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].collection, "beats") << "sorted by collection";
  const CollectionStatus* things = find(*mine, "me", "things");
  ASSERT_NE(things, nullptr);
  EXPECT_EQ(things->synced_through, "2024-01-05");
  EXPECT_TRUE(things->synced_at_ms.has_value());
  EXPECT_EQ(things->last_run_started_at_ms, kT0 + 3600000);
  EXPECT_EQ(things->last_run_finished_at_ms, kT0 + 3600000 + 61234);
  EXPECT_EQ(things->last_run_command, "scrape");
  EXPECT_EQ(things->last_run_outcome, "ok");
  EXPECT_EQ(things->last_run_inserted, 7u);
  EXPECT_EQ(things->last_run_updated, 2u);
  EXPECT_FALSE(things->last_error_at_ms.has_value()) << "things never failed for me";
  EXPECT_EQ(things->last_error, "");
  const CollectionStatus* beats = find(*mine, "me", "beats");
  ASSERT_NE(beats, nullptr);
  EXPECT_FALSE(beats->synced_through.has_value());
  EXPECT_EQ(beats->last_run_outcome, "ok") << "the latest run was ok";
  EXPECT_EQ(beats->last_error_at_ms, kT0 + 61234) << "the error stays visible after a good run";
  EXPECT_EQ(beats->last_error_outcome, "failed");
  EXPECT_EQ(beats->last_error, "boom 1");

  const auto all = other.status("");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[2].account, "other") << "sorted by account";
  const CollectionStatus* theirs = find(*all, "other", "things");
  ASSERT_NE(theirs, nullptr);
  EXPECT_EQ(theirs->last_error, "scope not granted");
  EXPECT_FALSE(theirs->synced_through.has_value());
  expectEmpty(other.status("nobody"));
}

TEST_F(PostgresSinkTest, DaySummariesJoinTheDailyTablesAndTheNightsMainSleep) {
  PostgresSink& sink = readySink();
  db_->exec(
      "INSERT INTO oura.daily_sleep (account, day, score) VALUES ('me', '2024-01-02', 80),"
      " ('me', '2024-01-03', 70), ('other', '2024-01-02', 10);"
      "INSERT INTO oura.daily_sleep (account, day, score, deleted_at) VALUES"
      " ('me', '2024-01-04', 99, now());"
      "INSERT INTO oura.daily_readiness (account, day, score, temperature_deviation,"
      " contributors_hrv_balance) VALUES ('me', '2024-01-02', 75, -0.25, 60);"
      "INSERT INTO oura.daily_spo2 (account, day, spo2_percentage_average) VALUES"
      " ('me', '2024-01-02', 0), ('me', '2024-01-03', 97.5);"
      "INSERT INTO oura.sleep (account, id, day, type, total_sleep_duration, lowest_heart_rate,"
      " raw, sleep_phase_5_min) VALUES"
      " ('me', 'main', '2024-01-02', 'long_sleep', 25200, 52,"
      "  '{\"bedtime_start\": \"2024-01-01T23:10:00+01:00\", \"bedtime_end\": \"2024-01-02T07:05:00+01:00\"}', '4221134'),"
      " ('me', 'nap', '2024-01-02', 'late_nap', 30000, 40, '{}', '22'),"
      " ('me', 'gone', '2024-01-03', 'long_sleep', 20000, 45, '{}', '11');"
      "UPDATE oura.sleep SET deleted_at = now() WHERE id = 'gone'");
  const auto days = makeSink({}, "pgtest-reader").daySummaries("me", "2024-01-01", "2024-01-05");
  ASSERT_TRUE(days.has_value()) << "the postgres sink can read back";
  // Days with any value only; the deleted score of 2024-01-04 makes no day.
  ASSERT_EQ(days->size(), 2u);
  const DaySummary& d2 = (*days)[0];
  EXPECT_EQ(d2.day, "2024-01-02");
  EXPECT_EQ(d2.sleep_score, 80);  // not the other account's 10
  EXPECT_EQ(d2.readiness_score, 75);
  EXPECT_EQ(d2.temperature_deviation, -0.25);
  EXPECT_EQ(d2.hrv_balance, 60);
  EXPECT_FALSE(d2.spo2.has_value()) << "Oura's 0 is no measurement";
  EXPECT_FALSE(d2.activity_score.has_value());
  // The main sleep (long_sleep), not the longer late nap.
  EXPECT_EQ(d2.total_sleep, 25200);
  EXPECT_EQ(d2.resting_heart_rate, 52);
  EXPECT_EQ(d2.bedtime_start, "2024-01-01T23:10:00+01:00");
  EXPECT_EQ(d2.bedtime_end, "2024-01-02T07:05:00+01:00");
  EXPECT_EQ(d2.sleep_phase_5_min, "4221134");
  const DaySummary& d3 = (*days)[1];
  EXPECT_EQ(d3.day, "2024-01-03");
  EXPECT_EQ(d3.spo2, 97.5);
  EXPECT_FALSE(d3.total_sleep.has_value()) << "the deleted main sleep is not counted";
  EXPECT_TRUE(makeSink({}, "pgtest-empty").daySummaries("nobody", "2024-01-01", "2024-01-05")->empty());
  (void)sink;
}

TEST_F(PostgresSinkTest, PurgeRemovesTheAccountsRunsAndLeavesOthers) {
  PostgresSink& sink = readySink();
  sink.recordRun(runOf("me", kT0, {runCollection("things", "ok"), runCollection("beats", "ok")}));
  sink.recordRun(runOf("other", kT0, {runCollection("things", "ok")}));
  EXPECT_EQ(sink.purge("me"), 3u) << "one run and its two collections";
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.runs WHERE account = 'me'"), "0");
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.run_collections WHERE account = 'me'"), "0");
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.run_collections WHERE account = 'other'"), "1");
  // Deleting a run by hand (pruning an old log) takes its collections along.
  db_->exec("DELETE FROM oura.runs WHERE account = 'other'");
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.run_collections"), "0");
}

TEST_F(PostgresSinkTest, RecordRunAndStatusWithoutTheRunLogAskForInitDb) {
  PostgresSink& sink = readySink();
  db_->exec("DROP TABLE oura.run_collections; DROP TABLE oura.runs");
  try {
    sink.recordRun(runOf("me", kT0, {runCollection("things", "ok")}));
    FAIL() << "recordRun must throw without oura.runs";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("init-db"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sink.status("me"), ConfigError);
  // The sink still writes batches.
  expectDone(sink.write(batchOf(things_, "me", {{thing("a", "2024-01-01", 1)}})), 1, 0);
}

TEST_F(PostgresSinkTest, RecordRunReconnectsAfterTheConnectionWasLost) {
  PostgresSink& sink = readySink({{"application_name", std::string("oura-sink-runlog-test")}});
  const std::string pid = db_->scalar(
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'oura-sink-runlog-test'");
  EXPECT_EQ(db_->scalar("SELECT pg_terminate_backend($1::int)", {pid}), "t");
  for (int i = 0;
       i < 100 &&
       db_->scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int", {pid}) != "0";
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sink.recordRun(runOf("me", kT0, {runCollection("things", "ok")}));
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.runs"), "1");
  EXPECT_EQ(db_->scalar("SELECT count(*) FROM oura.run_collections"), "1");
}

TEST_F(PostgresSinkTest, RecordRunAndStatusOnADeadServerAreUnavailable) {
  const int port = pgtest::unusedPort();
  PostgresSink& sink = makeSink({{"host", std::string("127.0.0.1")},
                                 {"port", static_cast<std::int64_t>(port)},
                                 {"connect_timeout", std::int64_t{3}}});
  EXPECT_THROW(sink.recordRun(runOf("me", kT0, {runCollection("things", "ok")})),
               UnavailableError);
  try {
    sink.status("me");
    FAIL() << "status must throw";
  } catch (const UnavailableError& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos)
        << e.what();
  }
}

// --- Roles -----------------------------------------------------------------------------------

// The README's least-privilege roles: an owner runs init-db, a writer scrapes, a reader reads.
TEST_F(PostgresSinkTest, TheReadmesLeastPrivilegeRolesSuffice) {
  const std::string suffix = db_->name().substr(db_->name().size() - 8);
  const std::string owner = "oura_owner_" + suffix, writer = "oura_writer_" + suffix,
                    reader = "oura_reader_" + suffix;
  db_->exec("CREATE ROLE " + owner + " LOGIN; CREATE ROLE " + writer + " LOGIN; CREATE ROLE " +
            reader + " LOGIN; GRANT CREATE ON DATABASE " + db_->name() + " TO " + owner);
  auto drop_roles = [&] {
    sinks_.clear();
    db_.reset();  // the database (and the grants in it) first
    PGconn* admin = pgtest::connect(pgtest::requireEnv("PGDATABASE"));
    PQclear(
        PQexec(admin, ("DROP ROLE IF EXISTS " + owner + ", " + writer + ", " + reader).c_str()));
    PQfinish(admin);
  };
  try {
    PostgresSink& init = makeSink({{"user", owner}}, "pgtest-owner");
    EXPECT_FALSE(init.migrate(pgtest::migrations()).empty());
    init.close();
    db_->exec("SET ROLE " + owner + "; " + pgtest::conventionDdl(things_) +
              pgtest::conventionDdl(beats_) + pgtest::conventionDdl(profile_) +
              "GRANT USAGE ON SCHEMA oura TO " + writer + ", " + reader +
              "; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA oura TO " + writer +
              "; GRANT SELECT ON ALL TABLES IN SCHEMA oura TO " + reader +
              "; ALTER DEFAULT PRIVILEGES FOR ROLE " + owner +
              " IN SCHEMA oura GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO " + writer +
              "; ALTER DEFAULT PRIVILEGES FOR ROLE " + owner +
              " IN SCHEMA oura GRANT SELECT ON TABLES TO " + reader + ";");

    PostgresSink& sink = makeSink({{"user", writer}}, "pgtest-writer");
    sink.open("me", {&things_, &beats_, &profile_});
    EXPECT_EQ(sink.schemaVersion(), pgtest::migrations().back().version);
    std::vector<Row> docs{thing("a", "2024-01-01", 1), thing("b", "2024-01-02", 2)};
    SinkBatch b = batchOf(things_, "me", {docs, {sample("a", "2024-01-01T00:00:00Z", 1.0)}});
    b.synced_through = "2024-01-05";
    expectDone(sink.write(b), 3, 0);
    SinkBatch again = batchOf(things_, "me", {{docs[0]}, {}});
    again.window_complete = true;
    again.window_document_keys = keysOf(things_, {docs[0]});
    expectDone(sink.write(again), 0, 0);  // a's sample deleted, b marked deleted
    EXPECT_EQ(sink.syncedThrough("me", "things"), "2024-01-05");
    EXPECT_TRUE(sink.readRaw("me", things_, [](const std::string&) {}));
    // The run log: the writer records runs, the reader (a dashboard) reads the status.
    sink.recordRun(runOf("me", kT0, {runCollection("things", "failed", "boom")}));
    PostgresSink& dashboard = makeSink({{"user", reader}}, "pgtest-reader");
    const auto status = dashboard.status("me");
    ASSERT_TRUE(status);
    // `report` reads as the reader too.
    EXPECT_TRUE(dashboard.daySummaries("me", "2024-01-01", "2024-01-05").has_value());
    const CollectionStatus* things = find(*status, "me", "things");
    ASSERT_NE(things, nullptr);
    EXPECT_EQ(things->synced_through, "2024-01-05");
    EXPECT_EQ(things->last_error, "boom");
    EXPECT_THROW(dashboard.recordRun(runOf("me", kT0 + 1, {})), Error)
        << "the reader cannot write the run log";
    EXPECT_EQ(sink.purge("me"), 5u) << "2 things rows, sync_state, the run and its collection";
    EXPECT_THROW(db_->exec("SET ROLE " + writer + "; CREATE TABLE oura.nope (a int)"),
                 std::runtime_error);
    std::vector<Migration> newer = pgtest::migrations();
    newer.push_back(
        Migration{newer.back().version + 1, "999_more.sql", "CREATE TABLE oura.more (a int);"});
    EXPECT_THROW(sink.migrate(newer), Error) << "the writer cannot change the schema";

    EXPECT_NO_THROW(db_->exec("SET ROLE " + reader + "; SELECT count(*) FROM oura.things"));
    EXPECT_THROW(db_->exec("SET ROLE " + reader +
                           "; INSERT INTO oura.sync_state VALUES ('x', 'y', '2024-01-01')"),
                 std::runtime_error);
    // A table a later migration adds is covered by the default privileges.
    db_->exec("SET ROLE " + owner + "; CREATE TABLE oura.later (account text)");
    EXPECT_NO_THROW(db_->exec("SET ROLE " + writer + "; INSERT INTO oura.later VALUES ('x')"));
    EXPECT_NO_THROW(db_->exec("SET ROLE " + reader + "; SELECT * FROM oura.later"));
  } catch (...) {
    drop_roles();
    throw;
  }
  drop_roles();
}

// --- Credentials -----------------------------------------------------------------------------

// libpq receives the password as a separate value (PQconnectdbParams): spaces, quotes and
// backslashes arrive intact. The fake server records what the client sent.
TEST_F(PostgresSinkTest, APasswordWithSpacesAndQuotesReachesTheServerIntact) {
  const std::string password = R"(it's a "pass" word\ with = signs)";
  pgtest::PasswordRecorder server;
  pgtest::LogCapture logs("oura.sink.pgtest");
  PostgresSink& sink = makeSink({{"host", std::string("127.0.0.1")},
                                 {"port", static_cast<std::int64_t>(server.port())},
                                 {"user", std::string("some user")},
                                 {"dbname", std::string("db name='x'")},
                                 {"password", password}});
  try {
    sink.open("me", {});
    FAIL() << "the fake server refuses every password";
  } catch (const UnavailableError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("password authentication failed"), std::string::npos) << m;
    EXPECT_NE(m.find("127.0.0.1:" + std::to_string(server.port())), std::string::npos) << m;
    EXPECT_EQ(m.find("pass\" word"), std::string::npos) << m;
  }
  ASSERT_FALSE(server.passwords().empty());
  EXPECT_EQ(server.passwords().front(), password);
  EXPECT_EQ(server.startup().at("user"), "some user");
  EXPECT_EQ(server.startup().at("database"), "db name='x'") << "dbname is never parsed as conninfo";
  EXPECT_EQ(server.startup().at("application_name"), "oura-collector");
  EXPECT_EQ(logs.all().find("pass\" word"), std::string::npos) << logs.all();
}

// The same over the real server's TCP listener, as a role whose password has spaces and quotes
// (the private test cluster trusts local connections, so this proves the connection works with
// such values; the fake server above proves the password arrives intact).
TEST_F(PostgresSinkTest, ARoleWithAnAwkwardPasswordConnectsOverTcp) {
  const std::string role = "oura_pw_" + db_->name().substr(db_->name().size() - 8);
  const std::string password = R"(a b 'c' "d" \e)";
  db_->exec("CREATE ROLE " + role + " LOGIN PASSWORD " + "'a b ''c'' \"d\" \\e'");
  PostgresSink& sink = makeSink({{"host", std::string("127.0.0.1")},
                                 {"user", role},
                                 {"password", password},
                                 {"sslmode", std::string("disable")}});
  EXPECT_EQ(sink.schemaVersion(), 0);
  sink.close();
  db_->exec("DROP ROLE " + role);
}

}  // namespace
