// End to end into a real PostgreSQL: the built program, the fake Oura server and the postgres
// sink. A fresh database per test in the cluster the test command starts (PGHOST, PGPORT,
// PGUSER from .ci/test); without one these tests fail, they never skip.
#include "sync/days.hpp"
#include "fake_oura.hpp"
#include "test_support.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/String.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using oura::test::CommandResult;
using oura::test::envOr;
using oura::test::FakeOura;

namespace {

const std::vector<std::string> kEndpoints = {"daily", "sleep", "activity", "heart", "tags", "ring"};
const std::vector<std::string> kCollections = {
    "daily_activity", "daily_sleep", "daily_readiness", "daily_spo2", "daily_stress",
    "daily_resilience", "daily_cardiovascular_age", "sleep", "sleep_time", "workout", "session",
    "heartrate", "vO2_max", "tag", "enhanced_tag", "personal_info", "ring_configuration",
    "ring_battery_level", "rest_mode_period"};

std::string canonical(const Poco::Dynamic::Var& value) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(value, out);
  return out.str();
}

// psql -At against `db`; fails the test on an error.
std::string psql(const std::string& db, const std::string& sql) {
  CommandResult r = oura::test::runCommand(
      "psql", {"-X", "-v", "ON_ERROR_STOP=1", "-At", "-d", db, "-c", sql});
  EXPECT_EQ(r.exit_code, 0) << sql << "\n" << r.err;
  return r.out;
}

// A fresh database, dropped when the test ends.
class Database {
 public:
  Database() {
    if (envOr("PGHOST", "").empty()) {
      throw std::runtime_error(
          "PGHOST is not set: these tests need a PostgreSQL server. Run them through .ci/test, "
          "or `.ci/pg-cluster start .run/pg && source .run/pg/env` and run ctest again");
    }
    std::random_device rd;
    name_ = "oura_e2e_" + std::to_string(rd()) + std::to_string(rd() % 1000);
    psql("postgres", "CREATE DATABASE " + name_);
  }
  ~Database() { psql("postgres", "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)"); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

std::string manifest(const FakeOura& fake, const std::string& db, const std::string& account,
                     const std::string& sink_extra = "") {
  std::string text = "[collector]\naccount = \"" + account + "\"\nplugin_dirs = [\"" +
                     envOr("OURA_PLUGIN_DIR", "") + "\"]\nsql_dir = \"" +
                     envOr("OURA_SOURCE_DIR", "") + "/sql\"\n[api]\nbase_url = \"" +
                     fake.baseUrl() +
                     "\"\n[retry]\nbase_delay = 0.01\nmax_delay = 0.05\n"
                     "[token_store]\nplugin = \"env\"\n[token_store.config]\nvariable = "
                     "\"OURA_E2E_TOKEN\"\n";
  for (const auto& endpoint : kEndpoints) text += "[[endpoints]]\nplugin = \"" + endpoint + "\"\n";
  text += "[[sinks]]\nplugin = \"postgres\"\nname = \"db\"\n[sinks.config]\nhost = \"" +
          envOr("PGHOST", "") + "\"\nport = " + envOr("PGPORT", "5432") + "\ndbname = \"" + db +
          "\"\nuser = \"" + envOr("PGUSER", "postgres") + "\"\n" + sink_extra;
  return text;
}

CommandResult run(const std::string& manifest_text, std::vector<std::string> args,
                  const std::string& token, std::vector<std::string> prefix = {}) {
  const std::string dir = oura::test::makeTempDir();
  const std::string path = oura::test::writeFile(dir, "manifest.toml", manifest_text);
  std::vector<std::string> argv = {"--config", path};
  argv.insert(argv.end(), args.begin(), args.end());
  std::map<std::string, std::string> env = {{"OURA_E2E_TOKEN", token}};
  const std::string binary = envOr("OURA_BINARY", "oura-collector");
  if (prefix.empty()) return oura::test::runCommand(binary, argv, env);
  std::vector<std::string> all(prefix.begin() + 1, prefix.end());
  all.push_back(binary);
  all.insert(all.end(), argv.begin(), argv.end());
  return oura::test::runCommand(prefix[0], all, env);
}

// The present (not deleted) raw documents of a collection, canonical.
std::multiset<std::string> stored(const std::string& db, const std::string& collection,
                                  const std::string& account) {
  const std::string out =
      psql(db, "SELECT raw::text FROM oura." + Poco::toLower(collection) + " WHERE account = '" +
                   account + "' AND deleted_at IS NULL");
  std::multiset<std::string> docs;
  std::istringstream lines(out);
  Poco::JSON::Parser parser;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    parser.reset();
    docs.insert(canonical(parser.parse(line)));
  }
  return docs;
}

std::multiset<std::string> expected(FakeOura& fake, const std::string& collection,
                                    const std::string& first, const std::string& last) {
  // A full re-fetch keeps the whole history through today; snapshots ignore dates.
  auto docs = collection == "rest_mode_period" ? fake.documents(collection, "2015-01-01", "2100-01-01")
                                               : fake.documents(collection, first, last);
  std::multiset<std::string> out;
  for (std::size_t i = 0; i < docs->size(); ++i) out.insert(canonical(docs->get(static_cast<unsigned>(i))));
  return out;
}

void expectDatabaseEqualsFake(FakeOura& fake, const std::string& db, const std::string& account,
                              const std::string& first, const std::string& last,
                              const std::vector<std::string>& collections = kCollections) {
  for (const std::string& collection : collections) {
    SCOPED_TRACE(collection);
    const auto want = expected(fake, collection, first, last);
    const auto got = stored(db, collection, account);
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "stored documents differ from the fake's";
  }
}

long count(const std::string& db, const std::string& table, const std::string& where = "true") {
  return std::stol(psql(db, "SELECT count(*) FROM oura." + table + " WHERE " + where));
}

}  // namespace

TEST(PostgresEndToEnd, InitDbThenBackfillLandsExactlyTheFakesDocumentsAndARerunChangesNothing) {
  Database db;
  FakeOura fake({"--first-day", "2024-03-01", "--last-day", "2024-04-30", "--page-size", "9"});
  const std::string m = manifest(fake, db.name(), "e2e");
  CommandResult init = run(m, {"init-db"}, fake.token());
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_NE(init.out.find("applied 001_init.sql"), std::string::npos) << init.out;
  CommandResult again = run(m, {"init-db"}, fake.token());
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("up to date"), std::string::npos) << again.out;

  CommandResult first = run(m, {"scrape", "--since", "2024-03-20", "--until", "2024-04-05"},
                            fake.token());
  ASSERT_EQ(first.exit_code, 0) << first.err;
  expectDatabaseEqualsFake(fake, db.name(), "e2e", "2024-03-20", "2024-04-05");
  // Sample rows: one per item of the stored documents' series.
  EXPECT_EQ(count(db.name(), "daily_activity_met"), 17 * 1440);
  EXPECT_GT(count(db.name(), "sleep_heart_rate"), 0);
  EXPECT_EQ(psql(db.name(), "SELECT synced_through FROM oura.sync_state WHERE account = 'e2e' "
                            "AND collection = 'daily_sleep'"),
            "2024-04-05\n");

  const std::string before = psql(db.name(), "SELECT md5(string_agg(raw::text, ',' ORDER BY day)) "
                                              "FROM oura.daily_sleep");
  const long rows_before = count(db.name(), "heartrate");
  // --summary: the table in a pipe too (docs/operations.md "Output").
  CommandResult second = run(m, {"scrape", "--summary", "--since", "2024-03-20", "--until",
                                 "2024-04-05"},
                             fake.token());
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(psql(db.name(), "SELECT md5(string_agg(raw::text, ',' ORDER BY day)) FROM "
                            "oura.daily_sleep"),
            before);
  EXPECT_EQ(count(db.name(), "heartrate"), rows_before);
  // The summary's inserted and updated columns are all zero the second time.
  std::istringstream table(second.err);
  std::size_t rows_checked = 0;
  for (std::string line; std::getline(table, line);) {
    std::istringstream cells(line);
    std::string name;
    long requests, retries, docs, rows, inserted, updated;
    if (!(cells >> name >> requests >> retries >> docs >> rows >> inserted >> updated)) continue;
    EXPECT_EQ(inserted, 0) << line;
    EXPECT_EQ(updated, 0) << line;
    ++rows_checked;
  }
  EXPECT_EQ(rows_checked, kCollections.size()) << second.err;
}

TEST(PostgresEndToEnd, ChangedDocumentsUpdateTheirRowsAndVanishedOnesAreMarkedDeleted) {
  Database db;
  FakeOura old_fake({"--first-day", "2024-01-01", "--last-day", "2024-01-31", "--seed", "1"});
  ASSERT_EQ(run(manifest(old_fake, db.name(), "e2e"), {"init-db"}, old_fake.token()).exit_code, 0);
  CommandResult first = run(manifest(old_fake, db.name(), "e2e"),
                            {"scrape", "--since", "2024-01-10", "--until", "2024-01-20"},
                            old_fake.token());
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const long workouts = count(db.name(), "workout");
  ASSERT_GT(workouts, 0);

  // The same account's data, changed upstream: other values, other ids.
  FakeOura new_fake({"--first-day", "2024-01-01", "--last-day", "2024-01-31", "--seed", "2"});
  CommandResult second = run(manifest(new_fake, db.name(), "e2e"),
                             {"scrape", "--since", "2024-01-10", "--until", "2024-01-20"},
                             new_fake.token());
  ASSERT_EQ(second.exit_code, 0) << second.err;
  expectDatabaseEqualsFake(new_fake, db.name(), "e2e", "2024-01-10", "2024-01-20");
  // Day-keyed rows were updated in place; id-keyed rows of the old seed are marked, not removed.
  EXPECT_EQ(count(db.name(), "daily_sleep", "day BETWEEN '2024-01-10' AND '2024-01-20'"), 11);
  EXPECT_EQ(count(db.name(), "workout", "deleted_at IS NOT NULL"), workouts);
  // Samples of a re-fetched document are replaced: no orphan samples of deleted sleeps remain
  // for present parents, and every present parent's samples are the new ones.
  EXPECT_EQ(count(db.name(), "daily_activity_met"), 11 * 1440);
}

TEST(PostgresEndToEnd, AnIncrementalRunFetchesOnlyTheOverlapAndTheNewDays) {
  Database db;
  const long today = oura::core::today();
  const std::string first_day = oura::core::formatDay(today - 40);
  const std::string last_day = oura::core::formatDay(today);
  FakeOura fake({"--first-day", first_day, "--last-day", last_day});
  const std::string m = manifest(fake, db.name(), "e2e");
  ASSERT_EQ(run(m, {"init-db"}, fake.token()).exit_code, 0);
  CommandResult backfill =
      run(m, {"scrape", "--collections", "daily_sleep,heartrate", "--since",
              oura::core::formatDay(today - 30), "--until", oura::core::formatDay(today - 5)},
          fake.token());
  ASSERT_EQ(backfill.exit_code, 0) << backfill.err;
  fake.reset();
  CommandResult incremental = run(m, {"scrape", "--collections", "daily_sleep,heartrate"},
                                  fake.token());
  ASSERT_EQ(incremental.exit_code, 0) << incremental.err;
  // synced through today-5, overlap 2: days today-7 .. today (date windows asked one day wider).
  const auto log = fake.stats()->getArray("log");
  std::map<std::string, int> first_pages;  // path -> requests without a cursor
  for (std::size_t i = 0; i < log->size(); ++i) {
    auto entry = log->getObject(static_cast<unsigned>(i));
    auto query = entry->getObject("query");
    if (query->has("next_token") && !query->getValue<std::string>("next_token").empty()) continue;
    ++first_pages[entry->getValue<std::string>("path")];
    if (entry->getValue<std::string>("path") == "/v2/usercollection/daily_sleep") {
      EXPECT_EQ(query->getValue<std::string>("start_date"), oura::core::formatDay(today - 8));
      // The exclusive end reaches two days past the last day (window_plan.hpp dateQuery: a
      // document of local day D may start on UTC day D+1).
      EXPECT_EQ(query->getValue<std::string>("end_date"), oura::core::formatDay(today + 2));
    } else {
      // A datetime window asks exactly its days (no widening): from the first day's start.
      EXPECT_EQ(query->getValue<std::string>("start_datetime").substr(0, 10),
                oura::core::formatDay(today - 7));
    }
  }
  EXPECT_EQ(first_pages, (std::map<std::string, int>{{"/v2/usercollection/daily_sleep", 1},
                                                      {"/v2/usercollection/heartrate", 1}}))
      << "one window per collection: the overlap and the new days";
  expectDatabaseEqualsFake(fake, db.name(), "e2e", oura::core::formatDay(today - 30),
                           oura::core::formatDay(today), {"daily_sleep", "heartrate"});
}

TEST(PostgresEndToEnd, AKilledBackfillIsFinishedByTheNextRun) {
  Database db;
  FakeOura fake({"--first-day", "2023-01-01", "--last-day", "2024-12-31", "--latency-ms", "30",
                 "--page-size", "20"});
  const std::string m = manifest(fake, db.name(), "e2e");
  ASSERT_EQ(run(m, {"init-db"}, fake.token()).exit_code, 0);
  const std::vector<std::string> window = {"scrape", "--since", "2024-01-01", "--until",
                                           "2024-06-30"};
  CommandResult killed = run(m, window, fake.token(), {"timeout", "-s", "KILL", "3"});
  EXPECT_EQ(killed.exit_code, 256 + 9) << "the run was meant to be killed half-way: "
                                       << killed.err;
  // Sync state is never ahead of the data: for every day-windowed collection with state, every
  // document of the fake up to the synced day is stored.
  std::istringstream synced(psql(db.name(), "SELECT collection || ' ' || synced_through FROM "
                                            "oura.sync_state ORDER BY 1"));
  for (std::string line; std::getline(synced, line);) {
    std::istringstream cells(line);
    std::string collection, through;
    cells >> collection >> through;
    if (collection == "rest_mode_period" || collection == "heartrate" ||
        collection == "ring_battery_level") {
      continue;  // a full re-fetch, and series kept by their timestamp's date, judged elsewhere
    }
    SCOPED_TRACE(collection + " synced through " + through);
    const auto want = expected(fake, collection, "2024-01-01", through);
    const std::string day_column = collection == "enhanced_tag" ? "start_day" : "day";
    std::multiset<std::string> got;
    std::istringstream rows(psql(db.name(), "SELECT raw::text FROM oura." + Poco::toLower(collection) +
                                                " WHERE account = 'e2e' AND " + day_column +
                                                " <= '" + through + "'"));
    Poco::JSON::Parser parser;
    for (std::string raw; std::getline(rows, raw);) {
      if (raw.empty()) continue;
      parser.reset();
      got.insert(canonical(parser.parse(raw)));
    }
    EXPECT_TRUE(got == want) << got.size() << " stored, " << want.size() << " expected";
  }
  CommandResult finish = run(m, window, fake.token());
  ASSERT_EQ(finish.exit_code, 0) << finish.err;
  expectDatabaseEqualsFake(fake, db.name(), "e2e", "2024-01-01", "2024-06-30");
  EXPECT_EQ(count(db.name(), "daily_sleep", "deleted_at IS NOT NULL"), 0);
}

TEST(PostgresEndToEnd, ADatabaseThatIsDownIsReportedBeforeAnyRequest) {
  FakeOura fake;
  std::string m = manifest(fake, "nowhere", "e2e");
  // A port nothing listens on, over TCP.
  const std::string host_line = "host = \"" + envOr("PGHOST", "") + "\"";
  m.replace(m.find(host_line), host_line.size(), "host = \"127.0.0.1\"");
  const std::string port_line = "port = " + envOr("PGPORT", "5432");
  m.replace(m.find(port_line), port_line.size(), "port = 9");
  CommandResult r = run(m, {"scrape", "--days", "2"}, fake.token());
  EXPECT_EQ(r.exit_code, 69) << r.err;
  EXPECT_NE(r.err.find("127.0.0.1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("9"), std::string::npos) << r.err;
  EXPECT_EQ(fake.stats()->getValue<int>("total"), 0) << "nothing fetched from Oura";
}

TEST(PostgresEndToEnd, ASchemaThatIsBehindRefusesToScrape) {
  Database db;
  FakeOura fake;
  CommandResult r = run(manifest(fake, db.name(), "e2e"), {"scrape", "--days", "2"}, fake.token());
  EXPECT_EQ(r.exit_code, 78) << r.err;
  EXPECT_NE(r.err.find("init-db"), std::string::npos) << r.err;
  EXPECT_EQ(fake.stats()->getValue<int>("total"), 0);
}

TEST(PostgresEndToEnd, TwoAccountsShareADatabaseAndPurgeRemovesOnlyOne) {
  Database db;
  FakeOura alice({"--first-day", "2024-01-01", "--last-day", "2024-01-31", "--seed", "1"});
  FakeOura bob({"--first-day", "2024-01-01", "--last-day", "2024-01-31", "--seed", "2"});
  ASSERT_EQ(run(manifest(alice, db.name(), "alice"), {"init-db"}, alice.token()).exit_code, 0);
  for (auto* fake : {&alice, &bob}) {
    const std::string account = fake == &alice ? "alice" : "bob";
    CommandResult r = run(manifest(*fake, db.name(), account),
                          {"scrape", "--since", "2024-01-05", "--until", "2024-01-12"},
                          fake->token());
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  expectDatabaseEqualsFake(alice, db.name(), "alice", "2024-01-05", "2024-01-12");
  expectDatabaseEqualsFake(bob, db.name(), "bob", "2024-01-05", "2024-01-12");

  CommandResult refused = run(manifest(alice, db.name(), "alice"), {"purge", "--account", "alice"},
                              alice.token());
  EXPECT_EQ(refused.exit_code, 64) << refused.err;
  CommandResult purge = run(manifest(alice, db.name(), "alice"),
                            {"purge", "--account", "alice", "--yes"}, alice.token());
  ASSERT_EQ(purge.exit_code, 0) << purge.err;
  EXPECT_EQ(count(db.name(), "daily_sleep", "account = 'alice'"), 0);
  EXPECT_EQ(count(db.name(), "sync_state", "account = 'alice'"), 0);
  expectDatabaseEqualsFake(bob, db.name(), "bob", "2024-01-05", "2024-01-12");
}

TEST(PostgresEndToEnd, ReprocessRemapsStoredDocumentsWithoutFetching) {
  Database db;
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-01-31"});
  const std::string m = manifest(fake, db.name(), "e2e");
  ASSERT_EQ(run(m, {"init-db"}, fake.token()).exit_code, 0);
  ASSERT_EQ(run(m, {"scrape", "--since", "2024-01-05", "--until", "2024-01-12"}, fake.token())
                .exit_code,
            0);
  // An older program stored fewer columns: blank a typed column and drop the samples.
  psql(db.name(), "UPDATE oura.daily_sleep SET score = NULL; DELETE FROM oura.sleep_hrv");
  fake.reset();
  CommandResult r = run(m, {"reprocess", "--collections", "daily_sleep,sleep"}, fake.token());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(fake.stats()->getValue<int>("total"), 0) << "reprocess fetches nothing";
  EXPECT_EQ(count(db.name(), "daily_sleep", "score IS NULL AND (raw->>'score') IS NOT NULL"), 0);
  EXPECT_GT(count(db.name(), "sleep_hrv"), 0);
}

// The database restarts while a backfill writes: the batch in flight is retried after the
// restart (the sink answers RetryLater and reconnects) and the run still lands everything.
// The test starts its own cluster, so restarting it disturbs no other test.
TEST(PostgresEndToEnd, ADatabaseRestartMidRunIsRiddenOut) {
  const std::string source = envOr("OURA_SOURCE_DIR", "");
  // initdb runs as the postgres user when the tests run as root: it must reach the folder.
  const std::string parent = oura::test::makeTempDir();
  std::filesystem::permissions(parent, std::filesystem::perms::owner_all |
                                           std::filesystem::perms::group_read |
                                           std::filesystem::perms::group_exec |
                                           std::filesystem::perms::others_read |
                                           std::filesystem::perms::others_exec);
  const std::string cluster = parent + "/pg";
  CommandResult started = oura::test::runCommand(source + "/.ci/pg-cluster", {"start", cluster});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  struct Stop {
    std::string script, dir;
    ~Stop() { oura::test::runCommand(script, {"stop", dir}); }
  } stop{source + "/.ci/pg-cluster", cluster};
  // The cluster's own socket folder and port (from the env file it wrote).
  CommandResult env = oura::test::runCommand(
      "bash", {"-c", "source " + cluster + "/env && echo \"$PGHOST $PGPORT\""});
  std::istringstream where(env.out);
  std::string host, port;
  where >> host >> port;
  ASSERT_FALSE(port.empty()) << env.err;
  CommandResult created = oura::test::runCommand(
      "psql", {"-X", "-h", host, "-p", port, "-U", "postgres", "-d", "postgres", "-c",
               "CREATE DATABASE restart_e2e"});
  ASSERT_EQ(created.exit_code, 0) << created.err;

  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-12-31", "--latency-ms", "20",
                 "--page-size", "10"});
  std::string m = manifest(fake, "restart_e2e", "e2e");
  const std::string host_line = "host = \"" + envOr("PGHOST", "") + "\"";
  m.replace(m.find(host_line), host_line.size(), "host = \"" + host + "\"");
  const std::string port_line = "port = " + envOr("PGPORT", "5432");
  m.replace(m.find(port_line), port_line.size(), "port = " + port);
  ASSERT_EQ(run(m, {"init-db"}, fake.token()).exit_code, 0);

  const std::string dir = oura::test::makeTempDir();
  const std::string manifest_path = oura::test::writeFile(dir, "manifest.toml", m);
  const std::string script =
      "\"$OURA_BINARY\" --config " + manifest_path +
      " scrape --since 2024-01-01 --until 2024-04-30 & pid=$!; sleep 2; \"" + source +
      "/.ci/pg-cluster\" restart " + cluster + " || exit 99; wait $pid";
  CommandResult r = oura::test::runCommand(
      "bash", {"-c", script},
      {{"OURA_E2E_TOKEN", fake.token()}, {"OURA_BINARY", envOr("OURA_BINARY", "oura-collector")}});
  ASSERT_NE(r.exit_code, 99) << "the restart itself failed: " << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("asked to retry"), std::string::npos)
      << "the restart was meant to hit a batch: " << r.err;
  for (const std::string collection : {"daily_sleep", "sleep", "heartrate"}) {
    SCOPED_TRACE(collection);
    CommandResult rows = oura::test::runCommand(
        "psql", {"-X", "-At", "-h", host, "-p", port, "-U", "postgres", "-d", "restart_e2e", "-c",
                 "SELECT count(*) FROM oura." + collection + " WHERE deleted_at IS NULL"});
    EXPECT_EQ(std::stoul(rows.out), fake.documents(collection, "2024-01-01", "2024-04-30")->size());
  }
}

// --- Run log and status ------------------------------------------------------------------------

namespace {

// One line of `status` output: the row of `collection` under `account ...` (or "").
std::string statusLine(const std::string& out, const std::string& collection) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream cells(line);
    std::string first;
    if (cells >> first && first == collection) return line;
  }
  return "";
}

Poco::JSON::Object::Ptr readJson(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return Poco::JSON::Parser().parse(text.str()).extract<Poco::JSON::Object::Ptr>();
}

}  // namespace

// After a scrape, oura.runs holds one row with the run's outcome and exit code, and
// oura.run_collections equals the run summary, collection by collection, with the requests the
// fake counted. A run where one collection fails records that failure; `status` shows it as the
// collection's last error while the others show their synced day; purge removes the runs.
TEST(PostgresEndToEnd, TheRunLogRecordsEachRunAndStatusShowsItFromTheDatabase) {
  Database db;
  FakeOura fake({"--first-day", "2024-03-01", "--last-day", "2024-04-30", "--page-size", "9"});
  const std::string m = manifest(fake, db.name(), "e2e");
  ASSERT_EQ(run(m, {"init-db"}, fake.token()).exit_code, 0);

  CommandResult help = run(m, {"--help"}, "");
  EXPECT_NE(help.out.find("status [--account ID]"), std::string::npos) << help.out;

  // An empty database: every enabled collection, never synced.
  CommandResult empty = run(m, {"status"}, "");
  ASSERT_EQ(empty.exit_code, 1) << "never synced is stale\n" << empty.err;
  EXPECT_NE(empty.out.find("account e2e"), std::string::npos) << empty.out;
  for (const std::string& collection : kCollections) {
    EXPECT_NE(statusLine(empty.out, collection).find("never"), std::string::npos)
        << collection << "\n" << empty.out;
  }
  EXPECT_EQ(fake.stats()->getValue<int>("total"), 0) << "status sends nothing to Oura";

  const std::string dir = oura::test::makeTempDir();
  const std::string summary_path = dir + "/summary.json";
  CommandResult first = run(m, {"scrape", "--since", "2024-03-20", "--until", "2024-04-05",
                                "--summary-json", summary_path},
                            fake.token());
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(psql(db.name(), "SELECT count(*) || ' ' || min(account) || ' ' || min(command) || ' ' "
                            "|| min(exit_code) || ' ' || min(outcome) || ' ' || "
                            "bool_and(error IS NULL) || ' ' || bool_and(finished_at >= "
                            "started_at) FROM oura.runs"),
            "1 e2e scrape 0 ok true true\n");
  // run_collections = the summary; requests = what the fake received per route.
  const auto summary = readJson(summary_path);
  const auto per_route = fake.stats()->getObject("per_route");
  const auto list = summary->getArray("collections");
  ASSERT_EQ(list->size(), kCollections.size());
  EXPECT_EQ(count(db.name(), "run_collections"), static_cast<long>(kCollections.size()));
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto c = list->getObject(static_cast<unsigned>(i));
    const std::string collection = c->getValue<std::string>("collection");
    SCOPED_TRACE(collection);
    auto text = [&](const char* key) {
      return c->get(key).isEmpty() ? std::string("-") : c->get(key).convert<std::string>();
    };
    std::string want = text("endpoint") + " " + text("first_day") + " " + text("last_day");
    for (const char* key : {"requests", "retries", "pages", "documents", "rows", "inserted",
                            "updated", "skipped", "warnings", "outcome", "message"}) {
      want += " " + text(key);
    }
    EXPECT_EQ(psql(db.name(), "SELECT concat_ws(' ', endpoint, coalesce(first_day::text, '-'), "
                              "coalesce(last_day::text, '-'), requests, retries, pages, "
                              "documents, \"rows\", inserted, updated, skipped, warnings, "
                              "outcome, coalesce(message, '-')) FROM oura.run_collections WHERE "
                              "collection = '" + collection + "'"),
              want + "\n");
    const std::string path = "/v2/usercollection/" + collection;
    const int fetched = per_route->has(path) ? per_route->getValue<int>(path) : 0;
    EXPECT_EQ(c->getValue<int>("requests"), fetched);
    EXPECT_GT(fetched, 0);
  }

  // One collection fails for good (400 is not retried); the rest land.
  fake.reset();
  fake.post("/_fake/faults", R"({"collection":"daily_sleep","kind":400,"count":100})");
  CommandResult partial = run(m, {"scrape", "--since", "2024-03-20", "--until", "2024-04-05"},
                              fake.token());
  ASSERT_EQ(partial.exit_code, 1) << partial.err;
  EXPECT_EQ(psql(db.name(), "SELECT exit_code || ' ' || outcome FROM oura.runs ORDER BY id DESC "
                            "LIMIT 1"),
            "1 partial\n");
  EXPECT_EQ(psql(db.name(), "SELECT error LIKE 'daily_sleep: failed: %' FROM oura.runs ORDER BY "
                            "id DESC LIMIT 1"),
            "t\n");
  const std::string message = psql(
      db.name(), "SELECT message FROM oura.run_collections WHERE collection = 'daily_sleep' AND "
                 "outcome = 'failed'");
  EXPECT_NE(message.find("400"), std::string::npos) << message;
  EXPECT_EQ(psql(db.name(), "SELECT count(*) FROM oura.run_collections WHERE run_id = (SELECT "
                            "max(id) FROM oura.runs) AND outcome = 'ok'"),
            std::to_string(kCollections.size() - 1) + "\n");

  fake.reset();
  CommandResult status = run(m, {"status"}, "");
  ASSERT_EQ(status.exit_code, 1) << "daily_sleep's last run failed\n" << status.err;
  EXPECT_NE(status.out.find("daily_sleep: FAILED"), std::string::npos) << status.out;
  EXPECT_EQ(fake.stats()->getValue<int>("total"), 0) << "status sends nothing to Oura";
  const std::string sleep_line = statusLine(status.out, "daily_sleep");
  EXPECT_NE(sleep_line.find("failed"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("last errors:"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("- daily_sleep, "), std::string::npos) << status.out;
  EXPECT_NE(status.out.find(message.substr(0, std::min<std::size_t>(60, message.size() - 1))),
            std::string::npos)
      << status.out;
  // The others: their synced day and an ok last run, no error. daily_sleep keeps the day its
  // first run synced.
  for (const std::string collection : {"daily_readiness", "daily_activity", "sleep", "workout"}) {
    const std::string line = statusLine(status.out, collection);
    EXPECT_NE(line.find("2024-04-05"), std::string::npos) << collection << "\n" << status.out;
    EXPECT_NE(line.find(" ok "), std::string::npos) << collection << "\n" << status.out;
    EXPECT_EQ(line.find("failed"), std::string::npos) << collection << "\n" << status.out;
  }
  EXPECT_NE(sleep_line.find("2024-04-05"), std::string::npos) << status.out;
  // --account of another account: nothing recorded for it.
  CommandResult nobody = run(m, {"status", "--account", "nobody"}, "");
  ASSERT_EQ(nobody.exit_code, 1) << "never synced is stale\n" << nobody.err;
  EXPECT_NE(statusLine(nobody.out, "daily_sleep").find("never"), std::string::npos) << nobody.out;

  CommandResult purge = run(m, {"purge", "--account", "e2e", "--yes"}, "");
  ASSERT_EQ(purge.exit_code, 0) << purge.err;
  EXPECT_EQ(count(db.name(), "runs"), 0);
  EXPECT_EQ(count(db.name(), "run_collections"), 0);
}

// SIGTERM mid-run: the run stops (exit 75) and is recorded as interrupted.
TEST(PostgresEndToEnd, AnInterruptedRunIsRecordedToo) {
  Database db;
  FakeOura fake({"--first-day", "2023-01-01", "--last-day", "2024-12-31", "--latency-ms", "30",
                 "--page-size", "20"});
  const std::string m = manifest(fake, db.name(), "e2e");
  ASSERT_EQ(run(m, {"init-db"}, fake.token()).exit_code, 0);
  CommandResult stopped =
      run(m, {"scrape", "--since", "2024-01-01", "--until", "2024-06-30"}, fake.token(),
          {"timeout", "--preserve-status", "-s", "TERM", "3"});
  ASSERT_EQ(stopped.exit_code, 75) << "the run was meant to be stopped half-way: " << stopped.err;
  EXPECT_EQ(psql(db.name(), "SELECT count(*) || ' ' || min(exit_code) || ' ' || min(outcome) FROM "
                            "oura.runs"),
            "1 75 interrupted\n");
  EXPECT_GT(count(db.name(), "run_collections", "outcome = 'interrupted'"), 0);
  EXPECT_EQ(count(db.name(), "run_collections"), static_cast<long>(kCollections.size()));
}

TEST(PostgresEndToEnd, StatusNeedsTheDatabaseAndACurrentSchema) {
  FakeOura fake;
  {
    std::string m = manifest(fake, "nowhere", "e2e");
    const std::string host_line = "host = \"" + envOr("PGHOST", "") + "\"";
    m.replace(m.find(host_line), host_line.size(), "host = \"127.0.0.1\"");
    const std::string port_line = "port = " + envOr("PGPORT", "5432");
    m.replace(m.find(port_line), port_line.size(), "port = 9");
    CommandResult down = run(m, {"status"}, "");
    EXPECT_EQ(down.exit_code, 69) << down.err;
    EXPECT_NE(down.err.find("127.0.0.1:9"), std::string::npos) << down.err;
  }
  Database db;
  CommandResult behind = run(manifest(fake, db.name(), "e2e"), {"status"}, "");
  EXPECT_EQ(behind.exit_code, 78) << behind.err;
  EXPECT_NE(behind.err.find("init-db"), std::string::npos) << behind.err;
  EXPECT_EQ(fake.stats()->getValue<int>("total"), 0);
}
