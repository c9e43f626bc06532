// The postgres sink's pure parts, without a server: configuration, connection parameters,
// redaction, the run-lock key, the SQL built from stream schemas, and rows as JSON.
#include "../statements.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cmath>
#include <limits>
#include <map>
#include <oura_sdk/errors.hpp>
#include <oura_sdk/schema.hpp>
#include <set>

#include "pg_connection.hpp"
#include "../postgres_sink.hpp"
#include "../row_json.hpp"

using namespace oura::sdk;
using namespace oura::plugins::postgres;

namespace {

StreamSchema doc() {
  return documentStream("daily_thing", "d",
                        {column("day", ColumnType::Date, Presence::Required, "day"),
                         column("score", ColumnType::Integer, Presence::Optional, "score"),
                         column("at", ColumnType::Timestamptz, Presence::Optional, "time")},
                        {"day"});
}

PluginConfig config(std::map<std::string, ConfigValue> overrides = {}) {
  std::map<std::string, ConfigValue> values;
  for (const ConfigKey& key : PostgresSink::configSchema()) {
    if (key.default_value) values[key.name] = *key.default_value;
  }
  for (auto& [k, v] : overrides) values[k] = v;
  return PluginConfig(values);
}

PostgresSink sinkWith(std::map<std::string, ConfigValue> overrides) {
  return PostgresSink(PluginContext{"t", Logger("oura.sink.t"), config(std::move(overrides))});
}

}  // namespace

TEST(PostgresConfig, DeclaresEveryKeyWithDefaultsAndEnvironmentOverrides) {
  std::map<std::string, ConfigKey> keys;
  for (const ConfigKey& k : PostgresSink::configSchema()) {
    EXPECT_FALSE(k.description.empty()) << k.name;
    keys[k.name] = k;
  }
  EXPECT_EQ(keys.at("host").env, "OURA_DB_HOST");
  EXPECT_EQ(keys.at("port").env, "OURA_DB_PORT");
  EXPECT_EQ(keys.at("dbname").env, "OURA_DB_NAME");
  EXPECT_EQ(keys.at("user").env, "OURA_DB_USER");
  EXPECT_EQ(keys.at("password").env, "OURA_DB_PASSWORD");
  EXPECT_EQ(keys.at("password").type, ConfigType::Secret);
  EXPECT_FALSE(keys.at("password").default_value);
  EXPECT_FALSE(keys.at("password").required);
  EXPECT_EQ(std::get<std::string>(*keys.at("host").default_value), "localhost");
  EXPECT_EQ(std::get<std::int64_t>(*keys.at("port").default_value), 5432);
  EXPECT_EQ(std::get<std::string>(*keys.at("dbname").default_value), "oura");
  EXPECT_EQ(std::get<std::string>(*keys.at("user").default_value), "oura");
  EXPECT_EQ(std::get<std::string>(*keys.at("sslmode").default_value), "prefer");
  EXPECT_FALSE(keys.at("sslrootcert").default_value);
  EXPECT_EQ(std::get<std::int64_t>(*keys.at("connect_timeout").default_value), 10);
  EXPECT_EQ(std::get<std::string>(*keys.at("application_name").default_value), "oura-collector");
  EXPECT_EQ(std::get<bool>(*keys.at("lock").default_value), true);
  EXPECT_EQ(keys.size(), 10u);
}

TEST(PostgresConfig, RejectsBadValuesWithoutConnecting) {
  EXPECT_THROW(sinkWith({{"sslmode", std::string("verify_full")}}), ConfigError);
  EXPECT_THROW(sinkWith({{"port", std::int64_t{0}}}), ConfigError);
  EXPECT_THROW(sinkWith({{"port", std::int64_t{70000}}}), ConfigError);
  EXPECT_THROW(sinkWith({{"host", std::string()}}), ConfigError);
  EXPECT_THROW(sinkWith({{"connect_timeout", std::int64_t{-1}}}), ConfigError);
  // Configuring never connects: an unreachable host is fine here.
  PostgresSink sink = sinkWith({{"host", std::string("/nonexistent/socket/dir")},
                                {"sslmode", std::string("verify-full")},
                                {"sslrootcert", std::string("/etc/ssl/ca.pem")},
                                {"password", std::string("pw")}});
  EXPECT_EQ(sink.settings().host, "/nonexistent/socket/dir");
  EXPECT_EQ(sink.settings().password, "pw");
  EXPECT_EQ(sink.settings().sslrootcert, "/etc/ssl/ca.pem");
}

TEST(PostgresConnection, ParametersCarryEveryValueVerbatim) {
  ConnectionSettings s;
  s.host = "/run/postgresql";
  s.port = 5433;
  s.dbname = "my db";
  s.user = "o'brien";
  s.password = R"(p a 's' "w" \ =)";
  s.sslmode = "verify-full";
  s.sslrootcert = "/etc/ssl/my ca.pem";
  const auto params = connectionParameters(s);
  std::map<std::string, std::string> m(params.begin(), params.end());
  EXPECT_EQ(m.at("host"), "/run/postgresql");
  EXPECT_EQ(m.at("port"), "5433");
  EXPECT_EQ(m.at("dbname"), "my db");
  EXPECT_EQ(m.at("user"), "o'brien");
  EXPECT_EQ(m.at("password"), *s.password);
  EXPECT_EQ(m.at("sslmode"), "verify-full");
  EXPECT_EQ(m.at("sslrootcert"), "/etc/ssl/my ca.pem");
  EXPECT_EQ(m.at("connect_timeout"), "10");
  EXPECT_EQ(m.at("application_name"), "oura-collector");
  EXPECT_EQ(m.at("client_encoding"), "UTF8");
  // Every keyword is one libpq knows.
  PQconninfoOption* defaults = PQconndefaults();
  std::set<std::string> known;
  for (PQconninfoOption* o = defaults; o && o->keyword; ++o) known.insert(o->keyword);
  PQconninfoFree(defaults);
  for (const auto& [k, v] : params) EXPECT_TRUE(known.count(k)) << k;
  s.password.reset();
  s.sslrootcert.reset();
  std::map<std::string, std::string> without;
  for (const auto& [k, v] : connectionParameters(s)) without[k] = v;
  EXPECT_FALSE(without.count("password"));
  EXPECT_FALSE(without.count("sslrootcert"));
  EXPECT_EQ(endpointName(s), "/run/postgresql:5433");
}

TEST(PostgresConnection, RedactorHidesTheSecretEverywhere) {
  Redactor r(std::string("hunter 2"));
  EXPECT_EQ(r("x hunter 2 y hunter 2"), "x *** y ***");
  EXPECT_EQ(Redactor()("hunter 2"), "hunter 2");
  EXPECT_EQ(Redactor(std::string())("abc"), "abc");
}

TEST(PostgresConnection, ErrorsThatAreWorthRetrying) {
  EXPECT_TRUE(PgError("x", "", true).transient());
  EXPECT_TRUE(PgError("x", "08006", false).transient());
  EXPECT_TRUE(PgError("x", "40001", false).transient());
  EXPECT_TRUE(PgError("x", "40P01", false).transient());
  EXPECT_TRUE(PgError("x", "57P01", false).transient());
  EXPECT_TRUE(PgError("x", "53300", false).transient());
  EXPECT_FALSE(PgError("x", "22007", false).transient());
  EXPECT_FALSE(PgError("x", "23505", false).transient());
  EXPECT_FALSE(PgError("x", "42P01", false).transient());
}

TEST(PostgresRunLock, KeyIsStableFnv1a64) {
  // FNV-1a 64 of "oura-collector:default" (independently computed).
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : std::string("oura-collector:default")) {
    h ^= c;
    h *= 1099511628211ull;
  }
  EXPECT_EQ(runLockKey("default"), static_cast<std::int64_t>(h));
  EXPECT_NE(runLockKey("alice"), runLockKey("bob"));
  EXPECT_EQ(runLockKey("alice"), runLockKey("alice"));
}

TEST(PostgresStatements, UpsertOfADocumentStream) {
  const StreamSchema s = doc();
  EXPECT_EQ(upsertSql(s, true),
            "WITH upserted AS (INSERT INTO oura.\"daily_thing\" AS t (\"account\", \"day\", "
            "\"score\", \"at\", \"raw\") SELECT $2::text, r.\"day\", r.\"score\", r.\"at\", "
            "r.\"raw\" FROM jsonb_to_recordset($1::jsonb) AS r(\"day\" date, \"score\" bigint, "
            "\"at\" timestamptz, \"raw\" jsonb) ON CONFLICT (\"account\", \"day\") DO UPDATE SET "
            "\"score\" = EXCLUDED.\"score\", \"at\" = EXCLUDED.\"at\", \"raw\" = EXCLUDED.\"raw\", "
            "\"deleted_at\" = NULL WHERE (t.\"score\", t.\"at\", t.\"raw\", t.\"deleted_at\") IS "
            "DISTINCT FROM (EXCLUDED.\"score\", EXCLUDED.\"at\", EXCLUDED.\"raw\", "
            "NULL::timestamptz) RETURNING (t.xmax = 0) AS inserted) SELECT count(*) FILTER (WHERE "
            "inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted");
}

TEST(PostgresStatements, SampleStreamsUpsertWithoutDeletedAtAndReplaceStaleSamples) {
  const StreamSchema parent = doc();
  const StreamSchema child =
      sampleStream(parent, "daily_thing_met", "met", ColumnType::Real, "MET");
  const std::string up = upsertSql(child, false);
  EXPECT_EQ(up.find("deleted_at"), std::string::npos) << up;
  EXPECT_NE(up.find("ON CONFLICT (\"account\", \"daily_thing_day\", \"timestamp\") DO UPDATE SET "
                    "\"value\" = EXCLUDED.\"value\" WHERE (t.\"value\") IS DISTINCT FROM "
                    "(EXCLUDED.\"value\")"),
            std::string::npos)
      << up;
  EXPECT_EQ(
      deleteStaleChildrenSql(child, parent),
      "DELETE FROM oura.\"daily_thing_met\" AS c USING jsonb_to_recordset($1::jsonb) AS "
      "p(\"daily_thing_day\" date) WHERE c.\"account\" = $2::text AND c.\"daily_thing_day\" = "
      "p.\"daily_thing_day\" AND (c.\"daily_thing_day\", c.\"timestamp\") NOT IN (SELECT "
      "k.\"daily_thing_day\", k.\"timestamp\" FROM jsonb_to_recordset($3::jsonb) AS "
      "k(\"daily_thing_day\" date, \"timestamp\" timestamptz))");
  StreamSchema bad = child;
  bad.primary_key = {"daily_thing_day"};
  EXPECT_THROW(parentKeyColumns(bad, parent), std::invalid_argument);
}

TEST(PostgresStatements, DeletionWindowsByDayFieldType) {
  CollectionSpec daily =
      collectionSpec("daily_thing", "X", "daily", SyncStrategy::DateWindow, "day");
  daily.streams.push_back(doc());
  const std::string by_date = *markDeletedSql(daily, true);
  EXPECT_NE(by_date.find("t.\"day\" BETWEEN $3::date AND $4::date"), std::string::npos) << by_date;
  const std::string whole = *markDeletedSql(daily, false);
  EXPECT_EQ(whole.find("$3"), std::string::npos) << whole;
  EXPECT_NE(whole.find("t.\"account\" = $1::text AND t.\"deleted_at\" IS NULL AND (t.\"day\") "
                       "NOT IN (SELECT k.\"day\" FROM jsonb_to_recordset($2::jsonb) AS "
                       "k(\"day\" date)) RETURNING 1"),
            std::string::npos)
      << whole;

  CollectionSpec series =
      collectionSpec("hr", "X", "heartrate", SyncStrategy::DateTimeWindow, "at");
  series.streams.push_back(doc());
  const std::string by_ts = *markDeletedSql(series, true);
  EXPECT_NE(by_ts.find("left(t.\"raw\" ->> 'at', 10) BETWEEN to_char($3::date, 'YYYY-MM-DD')"),
            std::string::npos)
      << by_ts;
  EXPECT_NE(by_ts.find("t.\"at\" >= (($3::date - 1)::timestamp AT TIME ZONE 'UTC')"),
            std::string::npos)
      << by_ts;
  series.streams[0].columns.pop_back();  // no raw column: the UTC date
  EXPECT_NE(markDeletedSql(series, true)->find("(t.\"at\" AT TIME ZONE 'UTC')::date BETWEEN"),
            std::string::npos);

  CollectionSpec odd = collectionSpec("odd", "X", "daily", SyncStrategy::DateWindow, "score");
  odd.streams.push_back(doc());
  EXPECT_FALSE(markDeletedSql(odd, true)) << "an integer day_field: nothing is marked";
  odd.day_field = "no_such_column";
  EXPECT_FALSE(markDeletedSql(odd, true));
}

TEST(PostgresStatements, IdentifiersAreQuoted) {
  EXPECT_EQ(quoteIdent("plain"), "\"plain\"");
  EXPECT_EQ(quoteIdent("we\"ird"), "\"we\"\"ird\"");
}

TEST(PostgresRows, JsonKeepsTypesAndEmbedsJsonb) {
  const StreamSchema s =
      documentStream("t", "d",
                     {column("a", ColumnType::Text, Presence::Optional, ""),
                      column("b", ColumnType::Integer, Presence::Optional, ""),
                      column("c", ColumnType::Real, Presence::Optional, ""),
                      column("d", ColumnType::Boolean, Presence::Optional, ""),
                      column("e", ColumnType::Date, Presence::Optional, ""),
                      column("f", ColumnType::Timestamptz, Presence::Optional, "")},
                     {"a"});
  std::vector<Row> rows{
      Row{std::string("x \"q\" \\ \n"), std::int64_t{9007199254740993}, 0.1, false,
          std::string("2024-01-01"), std::string("2024-01-01T00:00:00.5+01:00"),
          std::string(R"({"k":[1,null,"s"]})")},
      Row{std::monostate{}, std::monostate{}, std::numeric_limits<double>::quiet_NaN(),
          std::monostate{}, std::monostate{}, std::monostate{}, std::string("\"just a string\"")}};
  const std::string json = rowsJson(s, rows, {0, 1});
  Poco::JSON::Parser parser;
  auto array = parser.parse(json).extract<Poco::JSON::Array::Ptr>();
  ASSERT_EQ(array->size(), 2u);
  auto first = array->getObject(0);
  EXPECT_EQ(first->getValue<std::string>("a"), "x \"q\" \\ \n");
  EXPECT_EQ(first->getValue<Poco::Int64>("b"), 9007199254740993);
  EXPECT_DOUBLE_EQ(first->getValue<double>("c"), 0.1);
  EXPECT_FALSE(first->getValue<bool>("d"));
  EXPECT_EQ(first->getValue<std::string>("f"), "2024-01-01T00:00:00.5+01:00");
  ASSERT_TRUE(first->getObject("raw"));
  EXPECT_EQ(first->getObject("raw")->getArray("k")->size(), 3u);
  auto second = array->getObject(1);
  for (const char* k : {"a", "b", "c", "d", "e", "f"}) EXPECT_TRUE(second->isNull(k)) << k;
  EXPECT_EQ(second->getValue<std::string>("raw"), "just a string");
  // Not JSON in a jsonb column: the row is named.
  rows[1][6] = std::string("{oops");
  try {
    rowsJson(s, rows, {0, 1});
    FAIL();
  } catch (const BadRow& e) {
    EXPECT_EQ(e.row(), 1u);
  }
  rows[1][6] = std::string("1, 2");  // two values are not one JSON value
  EXPECT_THROW(rowsJson(s, rows, {1}), BadRow);
  rows[1][6] = std::string(" 42 ");
  EXPECT_NO_THROW(rowsJson(s, rows, {1}));
  rows[1].pop_back();
  EXPECT_THROW(rowsJson(s, rows, {1}), BadRow);
}

TEST(PostgresRows, CopyTextEscapesEveryValueAndKeepsTypes) {
  const StreamSchema s =
      documentStream("t", "d",
                     {column("a", ColumnType::Text, Presence::Optional, ""),
                      column("b", ColumnType::Integer, Presence::Optional, ""),
                      column("c", ColumnType::Real, Presence::Optional, ""),
                      column("d", ColumnType::Boolean, Presence::Optional, ""),
                      column("e", ColumnType::Date, Presence::Optional, ""),
                      column("f", ColumnType::Timestamptz, Presence::Optional, "")},
                     {"a"});
  std::vector<Row> rows{
      Row{std::string("x\t\"q\" \\ \n\r\\."), std::int64_t{-9007199254740993}, 0.1 + 0.2, false,
          std::string("2024-01-01"), std::string("2024-01-01T00:00:00.5+01:00"),
          std::string(R"({"k":"a\tb"})")},
      Row{std::monostate{}, std::monostate{}, std::numeric_limits<double>::infinity(), true,
          std::monostate{}, std::monostate{}, std::string("\"just a string\"")}};
  EXPECT_EQ(rowsCopyText(s, rows, {0, 1}, "me\tyou"),
            "me\\tyou\tx\\t\"q\" \\\\ \\n\\r\\\\.\t-9007199254740993\t0.30000000000000004\tfalse\t"
            "2024-01-01\t2024-01-01T00:00:00.5+01:00\t{\"k\":\"a\\\\tb\"}\n"
            "me\\tyou\t\\N\t\\N\t\\N\ttrue\t\\N\t\\N\t\"just a string\"\n");
  EXPECT_EQ(rowsCopyText(s, rows, {}, "me"), "");
  rows[1].pop_back();
  try {
    rowsCopyText(s, rows, {0, 1}, "me");
    FAIL();
  } catch (const BadRow& e) {
    EXPECT_EQ(e.row(), 1u);
  }
}

TEST(PostgresStatements, StagingTablesAndTheirStatements) {
  const StreamSchema parent = doc();
  const StreamSchema child =
      sampleStream(parent, "daily_thing_met", "met", ColumnType::Real, "MET");
  EXPECT_EQ(stagingTableName(parent), "pg_temp.\"oura_stage_daily_thing\"");
  StreamSchema longer = parent;
  longer.name = std::string(60, 'x');
  const std::string hashed = stagingTableName(longer);
  EXPECT_EQ(hashed.rfind("pg_temp.\"oura_stage_", 0), 0u) << hashed;
  EXPECT_LE(hashed.size(), std::string("pg_temp.\"\"").size() + 63) << hashed;
  longer.name = std::string(59, 'x') + "y";
  EXPECT_NE(stagingTableName(longer), hashed);

  EXPECT_EQ(createStagingSql(parent),
            "CREATE TEMP TABLE IF NOT EXISTS pg_temp.\"oura_stage_daily_thing\" (\"account\" text, "
            "\"day\" date, \"score\" bigint, \"at\" timestamptz, \"raw\" jsonb) ON COMMIT DELETE "
            "ROWS");
  EXPECT_EQ(copyToStagingSql(parent),
            "COPY pg_temp.\"oura_stage_daily_thing\" (\"account\", \"day\", \"score\", \"at\", "
            "\"raw\") FROM STDIN");
  EXPECT_EQ(copyToTableSql(parent),
            "COPY oura.\"daily_thing\" (\"account\", \"day\", \"score\", \"at\", \"raw\") FROM "
            "STDIN");
  // The same upsert as from the bound JSON array, reading the staging table.
  const std::string from_json = upsertSql(parent, true);
  const std::string from_stage = upsertFromStagingSql(parent, true);
  EXPECT_NE(from_stage.find("SELECT r.\"account\", r.\"day\", r.\"score\", r.\"at\", r.\"raw\" "
                            "FROM pg_temp.\"oura_stage_daily_thing\" AS r ON CONFLICT"),
            std::string::npos)
      << from_stage;
  EXPECT_EQ(from_stage.substr(from_stage.find(" ON CONFLICT")),
            from_json.substr(from_json.find(" ON CONFLICT")));
  EXPECT_EQ(from_stage.find('$'), std::string::npos) << from_stage;
  EXPECT_EQ(
      deleteStaleChildrenFromStagingSql(child, parent),
      "DELETE FROM oura.\"daily_thing_met\" AS c USING jsonb_to_recordset($1::jsonb) AS "
      "p(\"daily_thing_day\" date) WHERE c.\"account\" = $2::text AND c.\"daily_thing_day\" = "
      "p.\"daily_thing_day\" AND (c.\"daily_thing_day\", c.\"timestamp\") NOT IN (SELECT "
      "k.\"daily_thing_day\", k.\"timestamp\" FROM pg_temp.\"oura_stage_daily_thing_met\" AS "
      "k)");
  EXPECT_EQ(storedChildrenExistSql(child, parent),
            "SELECT EXISTS (SELECT 1 FROM oura.\"daily_thing_met\" AS c JOIN "
            "jsonb_to_recordset($1::jsonb) AS p(\"daily_thing_day\" date) ON "
            "c.\"daily_thing_day\" = p.\"daily_thing_day\" WHERE c.\"account\" = $2::text)");
}

TEST(PostgresRows, LastRowPerKeyComparesTimestampsByInstant) {
  const StreamSchema s =
      documentStream("hr", "d",
                     {column("timestamp", ColumnType::Timestamptz, Presence::Required, ""),
                      column("source", ColumnType::Text, Presence::Required, "")},
                     {"timestamp", "source"});
  std::vector<Row> rows{
      Row{std::string("2024-01-01T01:00:00+01:00"), std::string("awake"), std::string("1")},
      Row{std::string("2024-01-01T00:00:00+00:00"), std::string("rest"), std::string("2")},
      Row{std::string("2024-01-01T00:00:00.000Z"), std::string("awake"), std::string("3")},
      Row{std::string("garbage"), std::string("awake"), std::string("4")},
      Row{std::string("garbage2"), std::string("awake"), std::string("5")}};
  EXPECT_EQ(lastRowPerKey(s, rows), (std::vector<std::size_t>{1, 2, 3, 4}));
  auto same = [&](const std::string& a, const std::string& b) {
    std::vector<Row> two{Row{a, std::string("awake"), std::string("1")},
                         Row{b, std::string("awake"), std::string("2")}};
    return lastRowPerKey(s, two).size() == 1;
  };
  EXPECT_TRUE(same("2024-02-29T23:30:00.5-01:00", "2024-03-01T00:30:00.500000Z"));
  EXPECT_TRUE(same("1969-12-31T23:59:59.999999+00:00", "1970-01-01T01:59:59.999999+02:00"));
  EXPECT_TRUE(same("2000-01-01T00:00:00+14:00", "1999-12-31T10:00:00Z"));
  EXPECT_FALSE(same("2024-01-01T00:00:00.000001Z", "2024-01-01T00:00:00Z"));
  EXPECT_FALSE(same("2024-01-01T00:00:00Z", "2024-01-01T00:00:00+00:01"));
  // Other forms and impossible dates compare as text.
  EXPECT_FALSE(same("2023-02-29T00:00:00Z", "2023-03-01T00:00:00Z"));
  EXPECT_FALSE(same("2024-01-01 00:00:00Z", "2024-01-01T00:00:00Z"));
  EXPECT_FALSE(same("2024-01-01T00:00:00.1234567Z", "2024-01-01T00:00:00.123456Z"));
  EXPECT_FALSE(same("2024-01-01T00:00:00+0000", "2024-01-01T00:00:00Z"));
  EXPECT_TRUE(same("2024-01-01T00:00:00", "2024-01-01T00:00:00")) << "no offset: as text";
  EXPECT_EQ(describeKey(s, rows[0]), "timestamp=2024-01-01T01:00:00+01:00, source=awake");
  EXPECT_EQ(describeKey(s, rows[0], 1), "timestamp=2024-01-01T01:00:00+01:00");
}

TEST(PostgresStatements, ReadRawPagesByDayThenKey) {
  CollectionSpec sleep = collectionSpec("sleep", "X", "daily", SyncStrategy::DateWindow, "day");
  sleep.streams.push_back(documentStream("sleep", "d",
                                         {column("id", ColumnType::Text, Presence::Required, ""),
                                          column("day", ColumnType::Date, Presence::Optional, "")},
                                         {"id"}));
  const ReadRawSql sql = readRawSql(sleep, 500);
  EXPECT_EQ(sql.key_columns, 2u);
  EXPECT_EQ(sql.next,
            "SELECT t.\"raw\"::text, (coalesce(t.\"day\", '-infinity'::date))::text, "
            "(t.\"id\")::text FROM oura.\"sleep\" AS t WHERE t.\"account\" = $1::text AND "
            "t.\"deleted_at\" IS NULL AND (coalesce(t.\"day\", '-infinity'::date), t.\"id\") > "
            "($2::date, $3::text) ORDER BY coalesce(t.\"day\", '-infinity'::date), t.\"id\" LIMIT "
            "500");
  // A day that is the key (once-a-day collections): by the key alone, the index's order.
  CollectionSpec daily =
      collectionSpec("daily_thing", "X", "daily", SyncStrategy::DateWindow, "day");
  daily.streams.push_back(doc());
  EXPECT_EQ(readRawSql(daily, 10).key_columns, 1u);
  daily.streams[0].columns.pop_back();
  EXPECT_THROW(readRawSql(daily, 10), std::invalid_argument);
}
