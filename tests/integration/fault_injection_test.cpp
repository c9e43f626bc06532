// The fault-injection suite (issue 6): the built program against the fake Oura server with its
// fault switches (tests/fakes/README.md) and a real PostgreSQL through the postgres sink.
//
// Every case ends in one shared assertion, expectInvariant(): the faulty run's exit code and
// --summary-json name what failed (the failed collection's outcome and message; the others ok),
// sync state is never ahead of the stored data, and after one clean run the database holds
// exactly the fake's documents for the window (by key and content), with no duplicates and
// nothing marked deleted.
//
// Most cases run three collections: A gets the fault on every request (it exhausts the retries,
// or is not retried at all), B gets a retryable fault at random (seeded: the same requests get
// the same faults every time) and must ride it out, C gets a retryable fault once in the middle
// of its page walk (or, for faults that are not retried, none) and must ride it out too; a
// collection reported ok must hold exactly the fake's documents already after the faulty run
// (no page lost, doubled or taken from a late answer on a reused connection). The databases live in
// the cluster the test command starts (PGHOST, PGPORT, PGUSER from .ci/test); the cases that stop
// or restart PostgreSQL start a cluster of their own (.ci/pg-cluster), so no other test is
// disturbed.
#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Array.h>
#include <Poco/LocalDateTime.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/String.h>
#include <Poco/Timespan.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fake_oura.hpp"
#include "test_support.hpp"

using oura::test::CommandResult;
using oura::test::envOr;
using oura::test::FakeOura;

namespace {

// retry.max_attempts of every manifest here: a fault on every request is asked this many times.
constexpr int kMaxAttempts = 4;
const std::vector<std::string> kEndpoints = {"daily", "sleep", "activity", "heart", "tags", "ring"};

std::string canonical(const Poco::Dynamic::Var& value) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(value, out);
  return out.str();
}

// Where psql and the sink connect: a socket folder (or host) and a port.
struct Pg {
  std::string host;
  std::string port;
};

Pg sharedCluster() {
  if (envOr("PGHOST", "").empty()) {
    throw std::runtime_error(
        "PGHOST is not set: these tests need a PostgreSQL server. RunResult them through .ci/test, "
        "or "
        "`.ci/pg-cluster start .run/pg && source .run/pg/env` and run ctest again");
  }
  return {envOr("PGHOST", ""), envOr("PGPORT", "5432")};
}

std::string psql(const Pg& pg, const std::string& db, const std::string& sql) {
  CommandResult r = oura::test::runCommand(
      "psql", {"-X", "-v", "ON_ERROR_STOP=1", "-At", "-h", pg.host, "-p", pg.port, "-U",
               envOr("PGUSER", "postgres"), "-d", db, "-c", sql});
  EXPECT_EQ(r.exit_code, 0) << sql << "\n" << r.err;
  return r.out;
}

// A fresh database, dropped when the test ends.
class Database {
 public:
  explicit Database(Pg pg) : pg_(std::move(pg)) {
    std::random_device rd;
    name_ = "oura_faults_" + std::to_string(rd()) + std::to_string(rd() % 1000);
    psql(pg_, "postgres", "CREATE DATABASE " + name_);
  }
  ~Database() { psql(pg_, "postgres", "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)"); }
  const std::string& name() const { return name_; }

 private:
  Pg pg_;
  std::string name_;
};

// A PostgreSQL cluster of the test's own (.ci/pg-cluster), stopped when the test ends.
class OwnCluster {
 public:
  OwnCluster() : script_(envOr("OURA_SOURCE_DIR", "") + "/.ci/pg-cluster") {
    // initdb runs as the postgres user when the tests run as root: it must reach the folder.
    const std::string parent = oura::test::makeTempDir();
    namespace fs = std::filesystem;
    fs::permissions(parent, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec);
    dir_ = parent + "/pg";
    CommandResult started = oura::test::runCommand(script_, {"start", dir_});
    if (started.exit_code != 0) throw std::runtime_error("pg-cluster start: " + started.err);
    CommandResult env = oura::test::runCommand(
        "bash", {"-c", "source " + dir_ + "/env && echo \"$PGHOST $PGPORT\""});
    std::istringstream where(env.out);
    where >> pg_.host >> pg_.port;
    if (pg_.port.empty()) throw std::runtime_error("pg-cluster env: " + env.err);
  }
  ~OwnCluster() { oura::test::runCommand(script_, {"stop", dir_}); }
  const Pg& pg() const { return pg_; }
  // Shell commands for a script: stop it; start it again on the same socket and port
  // (pg_ctl restart starts a stopped cluster with the options of its last start).
  std::string stopCommand() const { return "\"" + script_ + "\" stop " + dir_; }
  std::string startAgainCommand() const { return "\"" + script_ + "\" restart " + dir_; }

 private:
  std::string script_;
  std::string dir_;
  Pg pg_;
};

// One case: the fake, the database, the collections and the window every run asks for.
struct Case {
  Case(FakeOura& f, Pg where, std::string database, std::vector<std::string> names)
      : fake(f), pg(std::move(where)), db(std::move(database)), collections(std::move(names)) {}
  FakeOura& fake;
  Pg pg;
  std::string db;
  std::vector<std::string> collections;
  std::string since = "2024-03-01";
  std::string until = "2024-03-08";
  std::string api_extra;  // more [api] keys, e.g. "read_timeout = 1\n"
  std::string account = "faults";
};

std::string manifest(const Case& s) {
  std::string text = "[collector]\naccount = \"" + s.account + "\"\nplugin_dirs = [\"" +
                     envOr("OURA_PLUGIN_DIR", "") + "\"]\nsql_dir = \"" +
                     envOr("OURA_SOURCE_DIR", "") + "/sql\"\n[api]\nbase_url = \"" +
                     s.fake.baseUrl() + "\"\n" + s.api_extra +
                     "[retry]\nmax_attempts = " + std::to_string(kMaxAttempts) +
                     "\nbase_delay = 0.01\nmax_delay = 0.05\nmax_total = 30\n"
                     "[token_store]\nplugin = \"env\"\n[token_store.config]\nvariable = "
                     "\"OURA_FAULTS_TOKEN\"\n";
  for (const auto& endpoint : kEndpoints) text += "[[endpoints]]\nplugin = \"" + endpoint + "\"\n";
  text += "[[sinks]]\nplugin = \"postgres\"\nname = \"db\"\n[sinks.config]\nhost = \"" + s.pg.host +
          "\"\nport = " + s.pg.port + "\ndbname = \"" + s.db + "\"\nuser = \"" +
          envOr("PGUSER", "postgres") + "\"\n";
  return text;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

// One run of the program: its result and the summary it wrote (null when it wrote none).
struct RunResult {
  CommandResult result;
  Poco::JSON::Object::Ptr summary;
  int exitCode() const {
    // Through bash, a signal's death reads 128 + signal; runCommand says 256 + signal.
    return result.exit_code >= 256 ? result.exit_code - 128 : result.exit_code;
  }
};

// Runs `oura-collector --config M scrape --collections ... --since ... --until ...
// --summary-json F` under bash; `during` is shell run while it works, with its pid in $pid (its
// failure makes the script exit 99 after killing the run).
// `ranged` false: a plain (incremental) run, without --since/--until.
RunResult scrape(const Case& s, const std::string& during = "", bool ranged = true) {
  const std::string dir = oura::test::makeTempDir();
  const std::string config = oura::test::writeFile(dir, "manifest.toml", manifest(s));
  const std::string summary = dir + "/summary.json";
  const std::string command = "\"$OURA_BINARY\" --config " + config + " scrape --collections " +
                              joined(s.collections) +
                              (ranged ? " --since " + s.since + " --until " + s.until : "") +
                              " --summary-json " + summary;
  const std::string script = during.empty()
                                 ? "exec " + command
                                 : command + " & pid=$!; { " + during +
                                       "; } || { kill -KILL $pid; wait $pid; exit 99; }; wait $pid";
  RunResult run;
  run.result = oura::test::runCommand("bash", {"-c", script},
                                      {{"OURA_FAULTS_TOKEN", s.fake.token()},
                                       {"OURA_BINARY", envOr("OURA_BINARY", "oura-collector")}});
  std::ifstream in(summary);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    Poco::JSON::Parser parser;
    run.summary = parser.parse(text.str()).extract<Poco::JSON::Object::Ptr>();
  }
  EXPECT_NE(run.result.exit_code, 99) << "the disturbance itself failed: " << run.result.err;
  return run;
}

std::string ownDayColumn(const std::string& collection) {
  if (collection == "heartrate" || collection == "ring_battery_level") {
    return "((\"timestamp\" AT TIME ZONE 'UTC')::date)";
  }
  if (collection == "enhanced_tag" || collection == "rest_mode_period") return "start_day";
  return "day";
}

// The present (not deleted) raw documents of a collection whose own day is in [first, last].
std::multiset<std::string> stored(const Case& s, const std::string& collection,
                                  const std::string& first, const std::string& last) {
  const std::string out =
      psql(s.pg, s.db,
           "SELECT raw::text FROM oura." + Poco::toLower(collection) + " WHERE account = '" +
               s.account + "' AND deleted_at IS NULL AND " + ownDayColumn(collection) +
               " BETWEEN '" + first + "' AND '" + last + "'");
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

std::multiset<std::string> expected(const Case& s, const std::string& collection,
                                    const std::string& first, const std::string& last) {
  auto docs = s.fake.documents(collection, first, last);
  std::multiset<std::string> out;
  for (std::size_t i = 0; i < docs->size(); ++i) {
    out.insert(canonical(docs->get(static_cast<unsigned>(i))));
  }
  return out;
}

long count(const Case& s, const std::string& table, const std::string& where) {
  return std::stol(psql(s.pg, s.db, "SELECT count(*) FROM oura." + table + " WHERE " + where));
}

// Sync state is never ahead of the data: for every collection with state, every document of the
// fake from the window's first day through the synced day is stored, and no state lies beyond
// the window asked for.
void expectSyncStateNotAhead(const Case& s) {
  std::istringstream synced(psql(s.pg, s.db,
                                 "SELECT collection || ' ' || synced_through FROM oura.sync_state "
                                 "WHERE account = '" +
                                     s.account + "' ORDER BY 1"));
  for (std::string line; std::getline(synced, line);) {
    std::istringstream cells(line);
    std::string collection, through;
    cells >> collection >> through;
    SCOPED_TRACE(collection + " synced through " + through);
    EXPECT_LE(through, s.until) << "sync state beyond the window asked for";
    if (through < s.since) continue;
    const auto want = expected(s, collection, s.since, through);
    const auto got = stored(s, collection, s.since, through);
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "sync state is ahead of the stored documents";
  }
}

// A collection a run reported "ok" has landed exactly the fake's documents for the window, even
// in the faulty run: faults it rode out (a late answer on a reused connection, a page asked
// twice) left nothing missing, doubled or from another page.
void expectLanded(const Case& s, const std::string& collection) {
  SCOPED_TRACE(collection + " reported ok");
  const auto want = expected(s, collection, s.since, s.until);
  const auto got = stored(s, collection, "0001-01-01", "9999-12-31");
  EXPECT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want) << "an ok collection's stored documents differ from the fake's";
}

// What the faulty run must have said.
struct Expected {
  int exit_code = 0;
  // collection -> outcome word of --summary-json (ok, failed, not_authorised, ...); collections
  // not named here must be "ok".
  std::map<std::string, std::string> outcomes;
  // collection -> words its message must hold (besides its name or URL, always required).
  std::map<std::string, std::vector<std::string>> messages;
  // collections that must have ridden out faults: outcome ok with retries > 0.
  std::set<std::string> retried;
  // The disturbance makes the outcome depend on timing (a database that went away): each
  // collection is ok, or failed with a message holding `failed_message`, and the exit code is
  // 0 or 1 accordingly.
  std::optional<std::string> ok_or_failed_message;
  // Killed by SIGKILL (or finished before the kill: then everything is ok): no summary is left
  // behind, not even a partial one.
  bool killed = false;
};

Poco::JSON::Object::Ptr summaryOf(const RunResult& run, const std::string& collection) {
  auto list = run.summary->getArray("collections");
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto c = list->getObject(static_cast<unsigned>(i));
    if (c->getValue<std::string>("collection") == collection) return c;
  }
  return nullptr;
}

std::string messageOf(const Poco::JSON::Object::Ptr& c) {
  return c->isNull("message") ? std::string() : c->getValue<std::string>("message");
}

// The faulty run's part of the invariant: exit code and summary, sync state not ahead.
void expectFaultyRun(const Case& s, const RunResult& run, const Expected& want) {
  SCOPED_TRACE("faulty run");
  const std::string& err = run.result.err;
  if (want.killed && run.exitCode() == 128 + 9) {
    EXPECT_TRUE(run.summary.isNull()) << "a killed run left a summary behind";
  } else if (want.killed) {
    EXPECT_EQ(run.exitCode(), 0) << "not killed, so it must have finished: " << err;
  } else if (!want.ok_or_failed_message) {
    EXPECT_EQ(run.exitCode(), want.exit_code) << err;
  }
  if (!run.summary.isNull()) {
    EXPECT_EQ(run.summary->getValue<int>("exit_code"), run.exitCode());
    bool any_failed = false;
    for (const std::string& collection : s.collections) {
      SCOPED_TRACE(collection);
      auto c = summaryOf(run, collection);
      ASSERT_FALSE(c.isNull()) << "the summary has no line for it: " << err;
      const std::string outcome = c->getValue<std::string>("outcome");
      const std::string message = messageOf(c);
      if (want.ok_or_failed_message) {
        if (outcome == "ok") {
          expectLanded(s, collection);
          continue;
        }
        any_failed = true;
        EXPECT_EQ(outcome, "failed") << message;
        EXPECT_NE(message.find(*want.ok_or_failed_message), std::string::npos) << message;
        EXPECT_NE(message.find(collection), std::string::npos)
            << "the message names the collection: " << message;
        EXPECT_NE(message.find("run again"), std::string::npos)
            << "the failure line says what to do: " << message;
        continue;
      }
      const auto named = want.outcomes.find(collection);
      const std::string want_outcome = want.killed                    ? "ok"
                                       : named == want.outcomes.end() ? "ok"
                                                                      : named->second;
      EXPECT_EQ(outcome, want_outcome) << message << "\n" << err;
      if (outcome == "ok") {
        EXPECT_TRUE(message.empty()) << message;
        expectLanded(s, collection);
      } else {
        EXPECT_TRUE(message.find(collection) != std::string::npos ||
                    message.find("/v2/usercollection/" + collection) != std::string::npos)
            << "the message names the collection or its URL: " << message;
        EXPECT_NE(err.find(message), std::string::npos)
            << "stderr carries the same message: " << err;
        if (want_outcome == "failed") {
          EXPECT_NE(message.find("run again"), std::string::npos)
              << "the failure line says what to do: " << message;
        }
      }
      if (auto words = want.messages.find(collection); words != want.messages.end()) {
        for (const std::string& word : words->second) {
          EXPECT_NE(message.find(word), std::string::npos) << "'" << word << "' in: " << message;
        }
      }
      if (want.retried.count(collection)) {
        EXPECT_GT(c->getValue<long>("retries"), 0) << "the fault was meant to be ridden out";
      }
    }
    if (want.ok_or_failed_message) {
      EXPECT_EQ(run.exitCode(), any_failed ? 1 : 0) << err;
    }
  } else {
    EXPECT_TRUE(want.killed) << "the run wrote no summary: " << err;
  }
  expectSyncStateNotAhead(s);
}

// The clean run's part: exit 0, every collection ok, the database equals the fake.
void expectRepairedByCleanRun(const Case& s) {
  SCOPED_TRACE("clean run");
  s.fake.reset();  // every fault off
  const RunResult clean = scrape(s);
  ASSERT_EQ(clean.exitCode(), 0) << clean.result.err;
  ASSERT_FALSE(clean.summary.isNull());
  for (const std::string& collection : s.collections) {
    SCOPED_TRACE(collection);
    auto c = summaryOf(clean, collection);
    ASSERT_FALSE(c.isNull());
    EXPECT_EQ(c->getValue<std::string>("outcome"), "ok") << messageOf(c);
    // Exactly the fake's documents, by key and content, none twice, none missing, nothing
    // outside the window, nothing marked deleted (the fake's documents did not change).
    const auto want = expected(s, collection, s.since, s.until);
    const auto got = stored(s, collection, "0001-01-01", "9999-12-31");
    EXPECT_FALSE(want.empty());
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "stored documents differ from the fake's";
    EXPECT_EQ(count(s, Poco::toLower(collection), "account = '" + s.account + "'"),
              static_cast<long>(want.size()))
        << "rows beyond the fake's documents (deleted or duplicated)";
    EXPECT_EQ(psql(s.pg, s.db,
                   "SELECT synced_through FROM oura.sync_state WHERE account = '" + s.account +
                       "' AND collection = '" + collection + "'"),
              s.until + "\n");
  }
  expectSyncStateNotAhead(s);
}

// The invariant every case ends with.
void expectInvariant(const Case& s, const RunResult& faulty, const Expected& want) {
  expectFaultyRun(s, faulty, want);
  expectRepairedByCleanRun(s);
}

void initDb(const Case& s) {
  const std::string dir = oura::test::makeTempDir();
  const std::string config = oura::test::writeFile(dir, "manifest.toml", manifest(s));
  CommandResult r = oura::test::runCommand(envOr("OURA_BINARY", "oura-collector"),
                                           {"--config", config, "init-db"},
                                           {{"OURA_FAULTS_TOKEN", s.fake.token()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

int requestsTo(FakeOura& fake, const std::string& collection) {
  auto per_route = fake.stats()->getObject("arrivals_per_route");
  const std::string path = "/v2/usercollection/" + collection;
  return per_route->has(path) ? per_route->getValue<int>(path) : 0;
}

int servedWith(FakeOura& fake, const std::string& collection, int status) {
  auto all = fake.stats()->getObject("status_per_route");
  const std::string path = "/v2/usercollection/" + collection;
  if (!all->has(path)) return 0;
  auto by_status = all->getObject(path);
  const std::string key = std::to_string(status);
  return by_status->has(key) ? by_status->getValue<int>(key) : 0;
}

// The three collections of a fault case: A (the fault on every request), B (a retryable fault
// at random), C (a retryable fault once, mid-walk; else none): a day-windowed daily collection,
// one with several documents a day and samples, and a time series.
const std::string kA = "daily_sleep";
const std::string kB = "sleep";
const std::string kC = "heartrate";

std::vector<std::string> fakeArgs() {
  return {"--first-day", "2024-02-20", "--last-day",         "2024-03-20",
          "--page-size", "3",          "--series-page-size", "500"};
}

// A fault on every request of A and, when `b_kind` is given, the same fault with probability
// 0.3 (seeded) on B; `extra` adds fields to both (retry_after, delay_ms).
void armFaults(FakeOura& fake, const std::string& kind, const std::string& extra, bool on_b) {
  fake.post("/_fake/faults",
            R"({"collection": ")" + kA + R"(", "kind": )" + kind + R"(, "every": 1)" + extra + "}");
  if (on_b) {
    fake.post("/_fake/faults", R"({"collection": ")" + kB + R"(", "kind": )" + kind +
                                   R"(, "probability": 0.3, "seed": "faults")" + extra + "}");
  }
}

// A retryable fault: A exhausts its attempts and fails naming the fault, B and C ride it out;
// exit 1.
void retryableCase(const std::string& kind, const std::string& extra,
                   const std::vector<std::string>& words, const std::string& api_extra = "") {
  Database db(sharedCluster());
  FakeOura fake(fakeArgs());
  Case s{fake, sharedCluster(), db.name(), {kA, kB, kC}};
  s.api_extra = api_extra;
  initDb(s);
  armFaults(fake, kind, extra, true);
  // C once in the middle of its page walk: a request with a cursor, on a kept-alive connection.
  fake.post("/_fake/faults", R"({"collection": ")" + kC + R"(", "kind": )" + kind +
                                 R"(, "count": 1, "after": 2)" + extra + "}");
  const RunResult faulty = scrape(s);
  EXPECT_EQ(requestsTo(fake, kA), kMaxAttempts) << "A is asked max_attempts times, then given up";
  if (std::isdigit(static_cast<unsigned char>(kind[0]))) {
    EXPECT_EQ(servedWith(fake, kA, std::stoi(kind)), kMaxAttempts);
  } else if (kind == R"("reset")") {
    EXPECT_EQ(servedWith(fake, kA, 0), kMaxAttempts) << "every answer to A was a reset";
  }
  Expected want;
  want.exit_code = 1;
  want.outcomes[kA] = "failed";
  want.messages[kA] = words;
  want.retried = {kB, kC};
  expectInvariant(s, faulty, want);
}

// A fault that is not retried: A is asked once and skipped (or failed), the rest land.
void notRetriedCase(const std::string& kind, int exit_code, const std::string& outcome,
                    const std::vector<std::string>& words, int requests_to_a = 1) {
  Database db(sharedCluster());
  FakeOura fake(fakeArgs());
  Case s{fake, sharedCluster(), db.name(), {kA, kB, kC}};
  initDb(s);
  armFaults(fake, kind, "", false);
  const RunResult faulty = scrape(s);
  EXPECT_EQ(requestsTo(fake, kA), requests_to_a) << "no retry for this fault";
  Expected want;
  want.exit_code = exit_code;
  want.outcomes[kA] = outcome;
  want.messages[kA] = words;
  expectInvariant(s, faulty, want);
}

std::string httpDateIn(int seconds) {
  Poco::DateTime at;
  at += Poco::Timespan(seconds, 0);
  return Poco::DateTimeFormatter::format(at, Poco::DateTimeFormat::HTTP_FORMAT);
}

}  // namespace

TEST(FaultInjection, Http500WithAnHtmlBodyIsRetriedThenReported) {
  retryableCase("500", "", {"500"});
}

TEST(FaultInjection, Http502IsRetriedThenReported) { retryableCase("502", "", {"502"}); }

TEST(FaultInjection, Http503IsRetriedThenReported) { retryableCase("503", "", {"503"}); }

TEST(FaultInjection, Http429WithRetryAfterInSecondsIsWaitedOutThenReported) {
  retryableCase("429", R"(, "retry_after": "1")", {"429"});
}

TEST(FaultInjection, Http429WithRetryAfterAsAnHttpDateIsWaitedOutThenReported) {
  retryableCase("429", R"(, "retry_after": ")" + httpDateIn(1) + R"(")", {"429"});
}

TEST(FaultInjection, Http429WithoutRetryAfterIsBackedOffThenReported) {
  retryableCase("429", "", {"429"});
}

TEST(FaultInjection, AConnectionResetBeforeTheResponseIsRetriedThenReported) {
  retryableCase(R"("reset")", "", {});
}

TEST(FaultInjection, ABodyCutShortIsRetriedThenReported) {
  retryableCase(R"("truncated")", "", {});
}

TEST(FaultInjection, AGzippedBodyCutShortIsRetriedThenReported) {
  retryableCase(R"("truncated")", R"(, "gzip": true)", {});
}

TEST(FaultInjection, MalformedJsonIsRetriedThenReported) {
  retryableCase(R"("not_json")", "", {"JSON"});
}

TEST(FaultInjection, AResponseSlowerThanTheReadTimeoutIsRetriedThenReported) {
  retryableCase(R"("delay")", R"(, "delay_ms": 2500)", {}, "read_timeout = 1\n");
}

TEST(FaultInjection, Http426SkipsTheCollectionAsUpgradeRequired) {
  notRetriedCase("426", 0, "upgrade_required", {"426", "update the Oura app"});
}

TEST(FaultInjection, Http403SkipsTheCollectionAsNotAuthorised) {
  notRetriedCase("403", 0, "not_authorised", {"403"});
}

TEST(FaultInjection, Http401ForOneCollectionSkipsOnlyThatOne) {
  notRetriedCase("401", 0, "not_authorised", {"401"});
}

TEST(FaultInjection, ARepeatedNextTokenStopsTheCollectionWithAnError) {
  // The first page passes (no cursor), the second repeats its token: two requests, no retry.
  notRetriedCase(R"("repeat_token")", 1, "failed", {"next_token"}, 2);
}

// A fault that starts in the middle of a backfill: the windows that landed keep their rows and
// their sync state (exactly through the last landed window, never beyond), the failed window's
// earlier batches are kept without state, and nothing is marked deleted.
TEST(FaultInjection, AFaultInTheMiddleOfABackfillKeepsTheWindowsThatLanded) {
  Database db(sharedCluster());
  FakeOura fake({"--first-day", "2023-12-01", "--last-day", "2024-04-30", "--page-size", "3",
                 "--series-page-size", "1000"});
  Case s{fake, sharedCluster(), db.name(), {"heartrate", "daily_activity", "daily_sleep"}};
  s.since = "2024-01-01";
  s.until = "2024-03-31";
  // One request in flight: the windows run one after another, so which of them landed before the
  // fault is known (with several in flight, any prefix may have; scheduler_test covers that).
  s.api_extra = "[rate_limit]\nconcurrency = 1\n";
  initDb(s);
  // heartrate: 30-day windows of ~10 pages each, so request 15 is inside the second window;
  // daily_activity: one window of ~31 pages (5,000-row batches of its MET samples along the way).
  fake.post("/_fake/faults", R"([{"collection": "heartrate", "kind": 503, "every": 1, "after": 14},
                                 {"collection": "daily_activity", "kind": 502, "every": 1, "after": 12}])");
  const RunResult faulty = scrape(s);
  EXPECT_EQ(psql(s.pg, s.db,
                 "SELECT synced_through FROM oura.sync_state WHERE collection = "
                 "'heartrate'"),
            "2024-01-30\n")
      << "the first 30-day window landed with its state, the second did not";
  EXPECT_EQ(psql(s.pg, s.db,
                 "SELECT count(*) FROM oura.sync_state WHERE collection = "
                 "'daily_activity'"),
            "0\n");
  EXPECT_GT(count(s, "daily_activity", "true"), 0) << "batches before the fault were written";
  EXPECT_EQ(count(s, "daily_activity", "deleted_at IS NOT NULL") +
                count(s, "heartrate", "deleted_at IS NOT NULL"),
            0)
      << "a failed fetch marks nothing deleted";
  Expected want;
  want.exit_code = 1;
  want.outcomes = {{"heartrate", "failed"}, {"daily_activity", "failed"}};
  want.messages = {{"heartrate", {"503", "gave up after"}}, {"daily_activity", {"502"}}};
  expectInvariant(s, faulty, want);
}

// Issue 10 item 2, UTC-filtered window edges: /sleep (bedtime_start) and /workout
// (start_datetime) filter on the UTC date with an exclusive end while a document's `day` is
// local. The fake (--edge-offsets) adds documents at 00:05 and 23:50 local time on every day, at
// -06:00, -10:00, +09:00 and +14:00 one day after another (2023-01-22 + 362 days is a -06:00
// day, 2024-03-01 a +09:00 one, 2024-03-03..06 are -06:00, -10:00, +09:00, +14:00). Every
// document of the days asked for must land: across the chunk boundary of a backfill of more
// than a year, and at the last day of a --since/--until window at each offset.
void utcEdgeCase(const std::string& collection) {
  Database db(sharedCluster());
  FakeOura fake({"--first-day", "2023-01-01", "--last-day", "2024-03-20", "--page-size", "100",
                 "--edge-offsets=-06:00,-10:00,+09:00,+14:00"});
  Case s{fake, sharedCluster(), db.name(), {collection}};
  initDb(s);
  {
    SCOPED_TRACE("a backfill of 405 days: two windows");
    s.since = "2023-01-22";
    s.until = "2024-03-01";
    const RunResult run = scrape(s);
    ASSERT_EQ(run.exitCode(), 0) << run.result.err;
    const auto want = expected(s, collection, s.since, s.until);
    const auto got = stored(s, collection, s.since, s.until);
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "a document at the edge of a window was lost";
    EXPECT_EQ(stored(s, collection, "0001-01-01", "9999-12-31").size(), want.size())
        << "nothing outside the days asked for";
  }
  for (const std::string until : {"2024-03-03", "2024-03-04", "2024-03-05", "2024-03-06"}) {
    SCOPED_TRACE("--until " + until);
    s.until = until;
    s.since = "2024-03-0" + std::to_string(until.back() - '0' - 1);
    const RunResult run = scrape(s);
    ASSERT_EQ(run.exitCode(), 0) << run.result.err;
    const auto want = expected(s, collection, s.since, s.until);
    EXPECT_FALSE(want.empty());
    const auto got = stored(s, collection, s.since, s.until);
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "a document of the first or last day was lost";
  }
}

TEST(UtcFilteredEdges, SleepOnBedtimeStartLosesNoDocumentAtAWindowEdge) { utcEdgeCase("sleep"); }

TEST(UtcFilteredEdges, WorkoutOnStartDatetimeLosesNoDocumentAtAWindowEdge) {
  utcEdgeCase("workout");
}

TEST(UtcFilteredEdges, SessionLosesNoDocumentAtAWindowEdge) { utcEdgeCase("session"); }

// Issue 10 item 3: a first backfill that failed is remembered until it has landed. The failed
// `scrape --since` leaves daily_sleep without sync state; `status` shows it behind with the days
// still missing; the next plain `scrape` (collector.days 7) fetches the whole range first, then
// forgets it.
std::string dayBefore(int days) {
  Poco::LocalDateTime day;
  day -= Poco::Timespan(days, 0, 0, 0, 0);
  return Poco::DateTimeFormatter::format(day, "%Y-%m-%d");
}

CommandResult statusOf(const Case& s) {
  const std::string dir = oura::test::makeTempDir();
  const std::string config = oura::test::writeFile(dir, "manifest.toml", manifest(s));
  return oura::test::runCommand(envOr("OURA_BINARY", "oura-collector"),
                                {"--config", config, "status"},
                                {{"OURA_FAULTS_TOKEN", s.fake.token()}});
}

TEST(InterruptedBackfill, AFailedFirstBackfillIsFinishedByTheNextPlainRun) {
  Database db(sharedCluster());
  FakeOura fake({"--first-day", dayBefore(200), "--last-day", dayBefore(0), "--page-size", "10"});
  Case s{fake, sharedCluster(), db.name(), {"daily_sleep", "workout"}};
  s.since = dayBefore(100);
  s.until = dayBefore(0);
  initDb(s);
  fake.post("/_fake/faults", R"({"collection": "daily_sleep", "kind": 503, "every": 1})");
  const RunResult failed = scrape(s);
  ASSERT_EQ(failed.exitCode(), 1) << failed.result.err;
  EXPECT_EQ(count(s, "daily_sleep", "true"), 0);
  EXPECT_EQ(psql(s.pg, s.db,
                 "SELECT first_day || '..' || last_day FROM oura.backfill_pending WHERE "
                 "collection = 'daily_sleep'"),
            s.since + ".." + s.until + "\n");
  EXPECT_EQ(psql(s.pg, s.db, "SELECT count(*) FROM oura.backfill_pending WHERE collection = "
                             "'workout'"),
            "0\n")
      << "a backfill that landed is forgotten in the transaction of its last window";
  // status exits 1 while an enabled collection is behind (the hole): a probe sees it.
  const CommandResult status = statusOf(s);
  EXPECT_EQ(status.exit_code, 1) << status.err;
  EXPECT_NE(status.out.find("daily_sleep: " + s.since + ".." + s.until), std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find("hole"), std::string::npos) << status.out;

  fake.reset();
  const RunResult plain = scrape(s, "", false);
  ASSERT_EQ(plain.exitCode(), 0) << plain.result.err;
  const auto want = expected(s, "daily_sleep", s.since, s.until);
  EXPECT_GT(want.size(), 50u);
  const auto got = stored(s, "daily_sleep", s.since, s.until);
  EXPECT_EQ(got.size(), want.size()) << "the days of the failed backfill were fetched";
  EXPECT_TRUE(got == want);
  EXPECT_EQ(psql(s.pg, s.db, "SELECT count(*) FROM oura.backfill_pending"), "0\n");
  const CommandResult after = statusOf(s);
  EXPECT_EQ(after.out.find("hole"), std::string::npos) << after.out;
}

// Issue 10 item 1: the live server gates daily_resilience on `stress` and vO2_max on
// `heart_health` (the fake's --scope-gating), answering 401 like an expired token. With the
// OpenAPI export's scopes granted, those two are not authorised (asked once, never "every
// collection synced"), daily_spo2 is collected (`spo2Daily` = `spo2`), and `status` says which
// collections need which scope.
TEST(FaultInjection, CollectionsGatedOnAScopeNotGrantedAreNotAuthorisedAndNamed) {
  Database db(sharedCluster());
  std::vector<std::string> args = fakeArgs();
  for (const char* a : {"--scope-gating", "--granted-scopes",
                        "email personal daily heartrate workout tag session spo2Daily"}) {
    args.emplace_back(a);
  }
  FakeOura fake(args);
  Case s{fake, sharedCluster(), db.name(), {"daily_sleep", "daily_resilience", "vO2_max", "daily_spo2"}};
  initDb(s);
  const RunResult run = scrape(s);
  Expected want;
  want.exit_code = 0;
  want.outcomes = {{"daily_resilience", "not_authorised"}, {"vO2_max", "not_authorised"}};
  want.messages = {{"daily_resilience", {"401", "grant the 'stress' scope", "auth login"}},
                   {"vO2_max", {"401", "grant the 'heart_health' scope"}}};
  expectFaultyRun(s, run, want);
  EXPECT_EQ(requestsTo(fake, "daily_resilience"), 1) << "no retry, no refresh";
  EXPECT_EQ(requestsTo(fake, "vO2_max"), 1);
  EXPECT_EQ(run.result.err.find("every collection synced"), std::string::npos) << run.result.err;
  EXPECT_NE(run.result.err.find("synced 2 of 4 collections; 2 not authorised (daily_resilience, "
                                "vO2_max): grant scope stress, heart_health"),
            std::string::npos)
      << run.result.err;
  // status exits 1: enabled collections that never synced (not authorised) are a problem to see.
  const CommandResult status = statusOf(s);
  EXPECT_EQ(status.exit_code, 1) << status.err;
  EXPECT_NE(status.out.find("not authorised in their last run: daily_resilience (scope stress), "
                            "vO2_max (scope heart_health)"),
            std::string::npos)
      << status.out;
}

// The database restarts while a backfill writes: the batch in flight is retried after the
// restart and the run lands everything.
TEST(FaultInjection, PostgresRestartedMidRun) {
  OwnCluster cluster;
  psql(cluster.pg(), "postgres", "CREATE DATABASE restart_faults");
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-06-30", "--latency-ms", "60",
                 "--page-size", "5"});
  Case s{fake,
         cluster.pg(),
         "restart_faults",
         {"daily_sleep", "sleep", "heartrate", "daily_activity"}};
  s.since = "2024-01-01";
  s.until = "2024-04-30";
  initDb(s);
  const RunResult faulty = scrape(s, "sleep 2; " + cluster.startAgainCommand());
  EXPECT_NE(faulty.result.err.find("asked to retry"), std::string::npos)
      << "the restart was meant to hit a batch: " << faulty.result.err;
  Expected want;
  want.exit_code = 0;
  expectInvariant(s, faulty, want);
}

// PostgreSQL goes away for 20 s while a backfill writes: the sink's batch retry rides it out or
// the collections it hit fail, naming PostgreSQL; either way nothing is lost or ahead.
TEST(FaultInjection, PostgresUnreachableFor20SecondsMidRun) {
  OwnCluster cluster;
  psql(cluster.pg(), "postgres", "CREATE DATABASE down_faults");
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-06-30", "--latency-ms", "60",
                 "--page-size", "5"});
  Case s{
      fake, cluster.pg(), "down_faults", {"daily_sleep", "sleep", "heartrate", "daily_activity"}};
  s.since = "2024-01-01";
  s.until = "2024-04-30";
  initDb(s);
  const RunResult faulty = scrape(
      s, "sleep 1.5; " + cluster.stopCommand() + "; sleep 20; " + cluster.startAgainCommand());
  Expected want;
  want.ok_or_failed_message = "PostgreSQL";
  expectInvariant(s, faulty, want);
  // The outage hit the run: something waited for or lost the database.
  EXPECT_NE(faulty.result.err.find("PostgreSQL"), std::string::npos) << faulty.result.err;
}

// SIGKILL at random points of a backfill (seeded), ten times in a row, then one clean run.
TEST(FaultInjection, SigkillAtRandomPointsOfABackfillTenTimesThenOneCleanRun) {
  Database db(sharedCluster());
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-06-30", "--latency-ms", "30",
                 "--page-size", "5"});
  Case s{fake,
         sharedCluster(),
         db.name(),
         {"daily_sleep", "sleep", "heartrate", "daily_activity", "workout"}};
  s.since = "2024-01-01";
  s.until = "2024-04-30";
  initDb(s);
  std::mt19937 random(20240601);
  std::uniform_int_distribution<int> after_ms(200, 3500);
  int killed = 0;
  for (int i = 0; i < 10; ++i) {
    const int ms = after_ms(random);
    SCOPED_TRACE("kill " + std::to_string(i) + " after " + std::to_string(ms) + " ms");
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.3f", ms / 1000.0);
    const RunResult run =
        scrape(s, std::string("sleep ") + seconds + "; kill -KILL $pid 2>/dev/null || true");
    killed += run.exitCode() == 128 + 9;
    Expected want;
    want.killed = true;
    expectFaultyRun(s, run, want);
  }
  EXPECT_GE(killed, 5) << "most runs were meant to be killed half-way";
  expectRepairedByCleanRun(s);
}

// Poison documents (issue 10 item 4): bad documents beside good ones on one page. Each kind that
// cannot be stored (a lone surrogate, raw invalid UTF-8, a 3 MB id, an element that is not an
// object) is quarantined in oura.rejected_documents with its reason and the bytes as sent; a NUL
// (\u0000) is stored as U+FFFD and counted; numbers beyond double/int64 in unknown fields land in
// raw as sent. The rest of the window lands, the sync state advances, the run exits 0; the next
// run keeps one row per rejected document; `reprocess --rejected` lands what maps now. Before,
// the page was "not JSON" (retried, then the collection failed, in every later run too) or the
// whole window failed in PostgreSQL.
TEST(FaultInjection, PoisonDocumentsAreQuarantinedAndTheRestOfTheWindowLands) {
  Database db(sharedCluster());
  FakeOura fake(fakeArgs());
  const std::string collection = "sleep";  // keyed by id
  Case s{fake, sharedCluster(), db.name(), {collection}};
  initDb(s);
  const std::string long_id(3 * 1024 * 1024, 'x');
  const std::string huge = R"({"id":"poison-huge","day":"2024-03-05","unknown_a":1e400,)"
                           R"("unknown_b":123456789012345678901234567890})";
  // The fault's JSON: `body` is the raw text of the elements (escaped once more for the fault).
  const std::string elements =
      R"({\"id\":\"poison-surrogate\",\"day\":\"2024-03-02\",\"note\":\"\\ud800\"},)"
      R"({\"id\":\"poison-utf8\",\"day\":\"2024-03-02\",\"note\":\"\udcff\udcfe\"},)"
      R"({\"id\":\"poison-nul\",\"day\":\"2024-03-03\",\"movement_30_sec\":\"a\\u0000b\\u0000\"},)"
      R"({\"id\":\")" + long_id + R"(\",\"day\":\"2024-03-04\"},)"
      R"(\"not an object\",)" +
      Poco::replace(huge, std::string("\""), std::string("\\\""));
  fake.post("/_fake/faults", R"({"collection": ")" + collection +
                                 R"(", "kind": "poison", "count": 1, "body": ")" + elements +
                                 R"("})");
  const RunResult run = scrape(s);
  ASSERT_EQ(run.exitCode(), 0) << run.result.err;
  ASSERT_FALSE(run.summary.isNull());
  auto c = summaryOf(run, collection);
  ASSERT_FALSE(c.isNull());
  EXPECT_EQ(c->getValue<std::string>("outcome"), "ok");
  EXPECT_EQ(c->getValue<int>("rejected"), 4) << run.result.err;
  EXPECT_EQ(c->getValue<int>("replaced"), 2);
  EXPECT_EQ(run.summary->getObject("totals")->getValue<int>("rejected"), 4);
  // The fake's documents all landed, plus the two poison documents that could.
  // (stored() would parse raw with Poco, which cannot read the 1e400 kept in poison-huge.)
  const auto want = expected(s, collection, s.since, s.until);
  std::multiset<std::string> got;
  std::istringstream lines(psql(s.pg, s.db, "SELECT raw::text FROM oura.sleep WHERE id NOT LIKE "
                                            "'poison-%' AND deleted_at IS NULL"));
  Poco::JSON::Parser parser;
  for (std::string line; std::getline(lines, line);) {
    parser.reset();
    got.insert(canonical(parser.parse(line)));
  }
  EXPECT_FALSE(want.empty());
  EXPECT_TRUE(got == want) << "the fake's documents landed beside the poison";
  EXPECT_EQ(count(s, "sleep", "id IN ('poison-nul', 'poison-huge')"), 2);
  EXPECT_EQ(psql(s.pg, s.db, "SELECT synced_through FROM oura.sync_state WHERE collection = '" +
                                 collection + "'"),
            s.until + "\n");
  // NUL as U+FFFD, in the column and in raw.
  EXPECT_EQ(psql(s.pg, s.db,
                 "SELECT movement_30_sec = E'a\\uFFFDb\\uFFFD', raw->>'movement_30_sec' = movement_30_sec "
                 "FROM oura.sleep WHERE id = 'poison-nul'"),
            "t|t\n");
  // Numbers beyond double/int64 as the server wrote them.
  const std::string raw_huge =
      psql(s.pg, s.db, "SELECT raw::text FROM oura.sleep WHERE id = 'poison-huge'");
  EXPECT_NE(raw_huge.find("123456789012345678901234567890"), std::string::npos) << raw_huge;
  EXPECT_NE(raw_huge.find("1e400") == std::string::npos
                ? raw_huge.find("1" + std::string(400, '0'))
                : raw_huge.find("1e400"),
            std::string::npos)
      << raw_huge;
  // The quarantine: reason, key and the bytes as sent.
  EXPECT_EQ(psql(s.pg, s.db,
                 "SELECT coalesce(document_key, '-') || ' | ' || times || ' | ' || "
                 "(reason LIKE '%not valid JSON%' OR reason LIKE '%not a JSON object%' OR "
                 "reason LIKE '%can be indexed%') FROM oura.rejected_documents "
                 "ORDER BY length(raw)"),
            "- | 1 | true\n- | 1 | true\n- | 1 | true\n" + long_id.substr(0, 100) +
                "... | 1 | true\n");
  EXPECT_EQ(psql(s.pg, s.db,
                 "SELECT encode(raw, 'escape') FROM oura.rejected_documents WHERE raw_md5 = "
                 "md5(convert_to('{\"id\":\"poison-surrogate\",\"day\":\"2024-03-02\",\"note\":"
                 "\"\\ud800\"}', 'UTF8'))"),
            "{\"id\":\"poison-surrogate\",\"day\":\"2024-03-02\",\"note\":\"\\\\ud800\"}\n");
  EXPECT_EQ(count(s, "rejected_documents", "position('\\xfffe'::bytea in raw) > 0"), 1)
      << "the invalid UTF-8 is kept byte for byte";
  // The server's bytes never reach the log unescaped.
  EXPECT_EQ(run.result.err.find('\xff'), std::string::npos);
  // Again: the same documents rejected again stay one row each.
  fake.post("/_fake/faults", R"({"collection": ")" + collection +
                                 R"(", "kind": "poison", "count": 1, "body": ")" + elements +
                                 R"("})");
  const RunResult again = scrape(s);
  EXPECT_EQ(again.exitCode(), 0) << again.result.err;
  EXPECT_EQ(count(s, "rejected_documents", "times = 2"), 4);
  // After an "upgrade": a quarantined document that maps now lands and leaves the quarantine.
  psql(s.pg, s.db,
       "INSERT INTO oura.rejected_documents (account, collection, reason, raw) VALUES ('" +
           s.account + "', '" + collection +
           "', 'an older program could not', convert_to('{\"id\":\"fixed-now\",\"day\":"
           "\"2024-03-06\"}', 'UTF8'))");
  const std::string dir = oura::test::makeTempDir();
  const std::string config = oura::test::writeFile(dir, "manifest.toml", manifest(s));
  const CommandResult reprocess = oura::test::runCommand(
      envOr("OURA_BINARY", "oura-collector"),
      {"--config", config, "reprocess", "--rejected", "--collections", collection},
      {{"OURA_FAULTS_TOKEN", s.fake.token()}});
  EXPECT_EQ(reprocess.exit_code, 0) << reprocess.err;
  EXPECT_EQ(count(s, "sleep", "id = 'fixed-now'"), 1) << reprocess.err;
  EXPECT_EQ(count(s, "rejected_documents", "true"), 4) << "the others still do not map";
  // status names the quarantine.
  const CommandResult status = oura::test::runCommand(
      envOr("OURA_BINARY", "oura-collector"), {"--config", config, "status"},
      {{"OURA_FAULTS_TOKEN", s.fake.token()}});
  // Exit 1: the manifest's other enabled collections were never synced (status's staleness
  // check); a quarantine is not a problem of its own: the collection is not listed as one.
  EXPECT_EQ(status.exit_code, 1) << status.out << status.err;
  EXPECT_NE(status.out.find(collection + ": 4 rejected document(s)"), std::string::npos)
      << status.out;
  EXPECT_EQ(status.out.find(", " + collection + ": "), std::string::npos) << status.out;
}

// --- hostile servers (issue 10 item 5) -------------------------------------------------------

namespace {

// The high-water mark of the program's resident memory (VmHWM, kB) over a run, sampled from
// /proc while it works (the last sample is taken just before it exits).
std::string sampleHighWaterMark(const std::string& file) {
  return "while grep -q VmHWM /proc/$pid/status 2>/dev/null; do grep VmHWM /proc/$pid/status "
         ">> " + file + " 2>/dev/null; sleep 0.02; done; true";
}

long highWaterMarkKb(const std::string& file) {
  std::ifstream in(file);
  long most = 0;
  for (std::string label, unit; in >> label;) {
    long kb = 0;
    in >> kb >> unit;
    most = std::max(most, kb);
  }
  return most;
}

// A body built to exhaust the client on every request of A: refused at the cap that names
// `setting`, not retried (it will not shrink), memory stays bounded, the rest lands; exit 1.
void oversizedBodyCase(const std::string& fault, const std::string& api_extra,
                       const std::string& setting, long max_rss_kb) {
  Database db(sharedCluster());
  FakeOura fake(fakeArgs());
  Case s{fake, sharedCluster(), db.name(), {kA, kB, kC}};
  s.api_extra = api_extra;
  initDb(s);
  fake.post("/_fake/faults", R"({"collection": ")" + kA + R"(", "every": 1, )" + fault + "}");
  const std::string rss = oura::test::makeTempDir() + "/rss";
  const RunResult faulty = scrape(s, sampleHighWaterMark(rss));
  EXPECT_EQ(requestsTo(fake, kA), 1) << "a body over a cap is not asked for again";
  const long hwm = highWaterMarkKb(rss);
  EXPECT_GT(hwm, 0) << "no memory sample was taken";
  EXPECT_LT(hwm, max_rss_kb) << "resident memory grew with the hostile body";
  Expected want;
  want.exit_code = 1;
  want.outcomes[kA] = "failed";
  want.messages[kA] = {setting};
  expectInvariant(s, faulty, want);
}

}  // namespace

TEST(FaultInjection, ADrippingBodyIsCutOffAtTheResponseDeadlineThenReported) {
  // One byte every 0.2 s never trips the read timeout; the whole-response deadline does.
  retryableCase(R"("drip")", "", {"no complete response within 1 s", "api.response_timeout"},
                "response_timeout = 1\n");
}

TEST(FaultInjection, AnEndlessChunkedBodyIsCappedNotRetried) {
  oversizedBodyCase(R"("kind": "endless")", "max_response_bytes = 4194304\n",
                    "api.max_response_bytes", 150 * 1024);
}

TEST(FaultInjection, AGzipBombIsCappedWhileInflating) {
  oversizedBodyCase(R"("kind": "gzip_bomb", "size": 268435456)", "max_decoded_bytes = 4194304\n",
                    "api.max_decoded_bytes", 150 * 1024);
}

TEST(FaultInjection, AHugeJsonStringIsRefusedBeforeParsing) {
  // 48 MB in one string, within the page caps: the string cap refuses it before the parser
  // builds it (a 200 MB string took 1.67 GB).
  oversizedBodyCase(R"("kind": "huge_string", "size": 48000000)",
                    "max_response_bytes = 67108864\nmax_decoded_bytes = 67108864\n"
                    "max_string_bytes = 1048576\n",
                    "api.max_string_bytes", 250 * 1024);
}

TEST(FaultInjection, SigtermDuringABlockedReceiveEndsTheRunWithin10Seconds) {
  Database db(sharedCluster());
  FakeOura fake(fakeArgs());
  Case s{fake, sharedCluster(), db.name(), {kA, kB, kC}};
  initDb(s);
  // A drips its body for far longer than the test: the program sits in recv().
  fake.post("/_fake/faults", R"({"collection": ")" + kA + R"(", "kind": "drip", "every": 1})");
  // Liveness bound, not a timing assertion: gone 10 s after SIGTERM, else the script fails (99).
  const RunResult faulty = scrape(
      s, "sleep 2; kill -TERM $pid; for i in $(seq 1 100); do grep -q VmHWM /proc/$pid/status "
         "2>/dev/null || break; sleep 0.1; done; ! grep -q VmHWM /proc/$pid/status 2>/dev/null");
  EXPECT_EQ(faulty.exitCode(), 75) << faulty.result.err;
  ASSERT_FALSE(faulty.summary.isNull()) << faulty.result.err;
  auto a = summaryOf(faulty, kA);
  ASSERT_FALSE(a.isNull());
  EXPECT_EQ(a->getValue<std::string>("outcome"), "interrupted") << messageOf(a);
  expectSyncStateNotAhead(s);
  expectRepairedByCleanRun(s);
}

// --- shutdown while the database makes the program wait (issue 10 item 10) -------------------

TEST(FaultInjection, SigtermWhileInitDbWaitsOnATableLockExits75AndAppliesNothing) {
  namespace fs = std::filesystem;
  Database db(sharedCluster());
  FakeOura fake(fakeArgs());
  Case s{fake, sharedCluster(), db.name(), {kA}};
  initDb(s);
  // The program's migrations and one more that needs daily_sleep's table lock.
  const std::string sql = oura::test::makeTempDir();
  int next = 1;
  for (const auto& entry : fs::directory_iterator(envOr("OURA_SOURCE_DIR", "") + "/sql")) {
    fs::copy_file(entry.path(), fs::path(sql) / entry.path().filename());
    ++next;
  }
  char name[32];
  std::snprintf(name, sizeof name, "%03d_lock_probe.sql", next);
  oura::test::writeFile(sql, name, "ALTER TABLE oura.daily_sleep ADD COLUMN lock_probe integer;\n");
  std::string text = manifest(s);
  const std::string from = "sql_dir = \"" + envOr("OURA_SOURCE_DIR", "") + "/sql\"";
  text.replace(text.find(from), from.size(), "sql_dir = \"" + sql + "\"");
  const std::string config = oura::test::writeFile(oura::test::makeTempDir(), "m.toml", text);
  // Another session holds the table for 60 s; init-db queues behind it and gets SIGTERM.
  // Liveness bound, not a timing assertion: gone 10 s after SIGTERM, else exit 99.
  const std::string script =
      "psql -X -q -h '" + s.pg.host + "' -p " + s.pg.port + " -U " + envOr("PGUSER", "postgres") +
      " -d " + s.db +
      " -c 'BEGIN; LOCK TABLE oura.daily_sleep IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); "
      "COMMIT' >/dev/null 2>&1 & holder=$!; sleep 1; \"$OURA_BINARY\" --config " + config +
      " init-db & pid=$!; sleep 2; kill -TERM $pid; for i in $(seq 1 100); do "
      "kill -0 $pid 2>/dev/null && ! grep -q '^State:.*Z' /proc/$pid/status || break; sleep 0.1; "
      "done; if grep -q VmHWM /proc/$pid/status 2>/dev/null; then kill -KILL $pid $holder; wait; "
      "exit 99; fi; wait $pid; code=$?; kill $holder; wait $holder; exit $code";
  CommandResult r = oura::test::runCommand(
      "bash", {"-c", script},
      {{"OURA_FAULTS_TOKEN", fake.token()}, {"OURA_BINARY", envOr("OURA_BINARY", "oura-collector")}});
  EXPECT_EQ(r.exit_code, 75) << r.out << r.err;
  EXPECT_NE(r.err.find("init-db interrupted"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("run init-db again"), std::string::npos) << r.err;
  // Nothing of the cancelled migration: no record, no column.
  EXPECT_EQ(psql(s.pg, s.db, "SELECT count(*) FROM oura.schema_migrations WHERE version = " +
                                 std::to_string(next)),
            "0\n");
  EXPECT_EQ(psql(s.pg, s.db,
                 "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'oura' "
                 "AND table_name = 'daily_sleep' AND column_name = 'lock_probe'"),
            "0\n");
}

TEST(FaultInjection, AHugeNextTokenIsShortenedInMessagesAndTheRunLog) {
  Database db(sharedCluster());
  FakeOura fake(fakeArgs());
  Case s{fake, sharedCluster(), db.name(), {kA, kB, kC}};
  initDb(s);
  // A's first page hands out a 2 MB next_token (a 10 MB one trips api.max_string_bytes first):
  // the request that carries it fails (the server refuses such a request line), and every
  // message naming its URL must stay short.
  fake.post("/_fake/faults",
            R"({"collection": ")" + kA + R"(", "kind": "huge_token", "size": 2000000})");
  const RunResult faulty = scrape(s);
  EXPECT_EQ(faulty.exitCode(), 1) << faulty.result.err.substr(0, 2000);
  EXPECT_LT(faulty.result.err.size(), 200000u) << "stderr carries the token";
  ASSERT_FALSE(faulty.summary.isNull());
  const std::string message = messageOf(summaryOf(faulty, kA));
  EXPECT_NE(message.find("characters in all)"), std::string::npos) << message.substr(0, 2000);
  EXPECT_LT(message.size(), 5000u);
  EXPECT_LE(std::stol(psql(s.pg, s.db, "SELECT coalesce(max(length(error)), 0) FROM oura.runs")),
            5000);
  expectRepairedByCleanRun(s);
}

// --- a damaged schema (issue 10 item 9) -------------------------------------------------------

namespace {

CommandResult runInitDb(const Case& s, const std::string& command = "init-db") {
  const std::string config =
      oura::test::writeFile(oura::test::makeTempDir(), "manifest.toml", manifest(s));
  return oura::test::runCommand(envOr("OURA_BINARY", "oura-collector"),
                                {"--config", config, command},
                                {{"OURA_FAULTS_TOKEN", s.fake.token()}});
}

}  // namespace

TEST(FaultInjection, InitDbReCreatesADroppedTableWithoutTouchingData) {
  Database db(sharedCluster());
  FakeOura fake(fakeArgs());
  Case s{fake, sharedCluster(), db.name(), {kA, kB}};
  initDb(s);
  ASSERT_EQ(scrape(s).exitCode(), 0);
  const long sleep_rows = count(s, kB, "true");
  ASSERT_GT(sleep_rows, 0);
  psql(s.pg, s.db, "DROP TABLE oura." + kA);
  CommandResult r = runInitDb(s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("missing: table oura." + kA), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("re-created"), std::string::npos) << r.err;
  EXPECT_EQ(count(s, kB, "true"), sleep_rows) << "init-db touched stored rows";
  EXPECT_EQ(count(s, kA, "true"), 0);  // back, empty: the next scrape fills it
  // A second init-db finds nothing to repair.
  r = runInitDb(s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("missing"), std::string::npos) << r.err;
  s.fake.reset();
  psql(s.pg, s.db, "DELETE FROM oura.sync_state");
  const RunResult again = scrape(s);
  EXPECT_EQ(again.exitCode(), 0) << again.result.err;
  expectLanded(s, kA);
}

TEST(FaultInjection, InitDbNamesAColumnThatDiffersFromTheMigrations) {
  Database db(sharedCluster());
  FakeOura fake(fakeArgs());
  Case s{fake, sharedCluster(), db.name(), {kA}};
  initDb(s);
  psql(s.pg, s.db, "ALTER TABLE oura." + kA + " ALTER COLUMN day TYPE text");
  CommandResult r = runInitDb(s);
  EXPECT_EQ(r.exit_code, 78) << r.out << r.err;
  EXPECT_NE(r.err.find("different: column oura." + kA + ".day (is text NOT NULL, the migrations "
                       "make date NOT NULL)"),
            std::string::npos)
      << r.err;
}

TEST(FaultInjection, ASchemaNewerThanTheProgramIsReportedAlikeByInitDbAndCheckConfig) {
  Database db(sharedCluster());
  FakeOura fake(fakeArgs());
  Case s{fake, sharedCluster(), db.name(), {kA}};
  initDb(s);
  psql(s.pg, s.db, "INSERT INTO oura.schema_migrations (version, name) VALUES (99, '099_future.sql')");
  const CommandResult init = runInitDb(s);
  const CommandResult check = runInitDb(s, "check-config");
  EXPECT_EQ(init.exit_code, 78) << init.out << init.err;
  EXPECT_EQ(check.exit_code, 78) << check.out << check.err;
  const std::string words = "SCHEMA AHEAD (migration 99, this program knows ";
  EXPECT_NE((init.out + init.err).find(words), std::string::npos) << init.out << init.err;
  EXPECT_NE((check.out + check.err).find(words), std::string::npos) << check.out << check.err;
}
