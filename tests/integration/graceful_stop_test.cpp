// Graceful stop against the real PostgreSQL: SIGTERM (and SIGINT) in the middle of a backfill
// starts nothing new, drops the window in flight, keeps every committed window with its sync
// state, exits 75 with a summary that says "interrupted"; the next run resumes and lands exactly
// the fake's documents. Needs PGHOST/PGPORT/PGUSER (.ci/test starts a cluster); never skips.
#include "fake_oura.hpp"
#include "test_support.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/String.h>
#include <gtest/gtest.h>

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
const std::string kFirst = "2024-01-01";
const std::string kLast = "2024-06-30";

std::string canonical(const Poco::Dynamic::Var& value) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(value, out);
  return out.str();
}

std::string psql(const std::string& db, const std::string& sql) {
  CommandResult r = oura::test::runCommand(
      "psql", {"-X", "-v", "ON_ERROR_STOP=1", "-At", "-d", db, "-c", sql});
  EXPECT_EQ(r.exit_code, 0) << sql << "\n" << r.err;
  return r.out;
}

class Database {
 public:
  Database() {
    if (envOr("PGHOST", "").empty()) {
      throw std::runtime_error(
          "PGHOST is not set: these tests need a PostgreSQL server. Run them through .ci/test, "
          "or `.ci/pg-cluster start .run/pg && source .run/pg/env` and run ctest again");
    }
    std::random_device rd;
    name_ = "oura_stop_" + std::to_string(rd()) + std::to_string(rd() % 1000);
    psql("postgres", "CREATE DATABASE " + name_);
  }
  ~Database() { psql("postgres", "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)"); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

std::string manifest(const FakeOura& fake, const std::string& db) {
  std::string text = "[collector]\naccount = \"e2e\"\nplugin_dirs = [\"" +
                     envOr("OURA_PLUGIN_DIR", "") + "\"]\nsql_dir = \"" +
                     envOr("OURA_SOURCE_DIR", "") + "/sql\"\n[api]\nbase_url = \"" +
                     fake.baseUrl() +
                     "\"\n[retry]\nbase_delay = 0.01\nmax_delay = 0.05\n"
                     "[token_store]\nplugin = \"env\"\n[token_store.config]\nvariable = "
                     "\"OURA_E2E_TOKEN\"\n";
  for (const auto& endpoint : kEndpoints) text += "[[endpoints]]\nplugin = \"" + endpoint + "\"\n";
  return text + "[[sinks]]\nplugin = \"postgres\"\nname = \"db\"\n[sinks.config]\nhost = \"" +
         envOr("PGHOST", "") + "\"\nport = " + envOr("PGPORT", "5432") + "\ndbname = \"" + db +
         "\"\nuser = \"" + envOr("PGUSER", "postgres") + "\"\n";
}

struct Files {
  std::string dir = oura::test::makeTempDir();
  std::string manifest;
  std::string summary = dir + "/summary.json";
};

CommandResult collector(const Files& files, const std::vector<std::string>& args,
                        const std::string& token) {
  std::vector<std::string> argv = {"--config", files.manifest};
  argv.insert(argv.end(), args.begin(), args.end());
  return oura::test::runCommand(envOr("OURA_BINARY", "oura-collector"), argv,
                                {{"OURA_E2E_TOKEN", token}});
}

// Starts the scrape in the background, waits until the fake has answered `after_requests`
// API requests, sends `signal` to the program and waits for it (a `timeout` guards a hang).
CommandResult scrapeAndSignal(const Files& files, const FakeOura& fake, const std::string& signal,
                              int after_requests) {
  const std::string script =
      "timeout -s KILL 120 \"$OURA_BINARY\" --config \"$MANIFEST\" scrape --since " + kFirst +
      " --until " + kLast +
      " --summary-json \"$SUMMARY\" & pid=$!\n"
      "for i in $(seq 600); do\n"
      "  n=$(curl -s \"$FAKE/_fake/stats\" | python3 -c 'import json,sys; "
      "print(json.load(sys.stdin)[\"total\"])')\n"
      "  [ \"$n\" -ge " +
      std::to_string(after_requests) +
      " ] && break\n"
      "  sleep 0.05\n"
      "done\n"
      "kill -" +
      signal +
      " $pid\n"
      "echo \"answered when signalled: $(curl -s \"$FAKE/_fake/stats\" | python3 -c "
      "'import json,sys; print(json.load(sys.stdin)[\"total\"])')\"\n"
      "wait $pid\n";
  return oura::test::runCommand(
      "bash", {"-c", script},
      {{"OURA_E2E_TOKEN", fake.token()},
       {"OURA_BINARY", envOr("OURA_BINARY", "oura-collector")},
       {"MANIFEST", files.manifest},
       {"SUMMARY", files.summary},
       {"FAKE", fake.baseUrl()}});
}

std::multiset<std::string> rawDocuments(const std::string& db, const std::string& sql) {
  std::multiset<std::string> docs;
  std::istringstream lines(psql(db, sql));
  Poco::JSON::Parser parser;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    parser.reset();
    docs.insert(canonical(parser.parse(line)));
  }
  return docs;
}

std::multiset<std::string> fakeDocuments(FakeOura& fake, const std::string& collection,
                                         const std::string& first, const std::string& last) {
  auto docs = collection == "rest_mode_period"
                  ? fake.documents(collection, "2015-01-01", "2100-01-01")
                  : fake.documents(collection, first, last);
  std::multiset<std::string> out;
  for (std::size_t i = 0; i < docs->size(); ++i) {
    out.insert(canonical(docs->get(static_cast<unsigned>(i))));
  }
  return out;
}

// For every day-windowed collection with sync state: every document of the fake from the first
// day through the synced day is stored (sync state never ahead of the data). Returns how many
// collections had state.
int expectSyncStateCoveredByData(FakeOura& fake, const std::string& db) {
  std::istringstream synced(
      psql(db, "SELECT collection || ' ' || synced_through FROM oura.sync_state ORDER BY 1"));
  int with_state = 0;
  for (std::string line; std::getline(synced, line);) {
    std::istringstream cells(line);
    std::string collection, through;
    cells >> collection >> through;
    if (collection.empty()) continue;
    ++with_state;
    if (collection == "rest_mode_period" || collection == "heartrate" ||
        collection == "ring_battery_level") {
      continue;  // a full re-fetch, and series kept by their timestamp's date
    }
    SCOPED_TRACE(collection + " synced through " + through);
    const std::string day_column = collection == "enhanced_tag" ? "start_day" : "day";
    const auto want = fakeDocuments(fake, collection, kFirst, through);
    const auto got = rawDocuments(db, "SELECT raw::text FROM oura." + Poco::toLower(collection) +
                                          " WHERE account = 'e2e' AND deleted_at IS NULL AND " +
                                          day_column + " <= '" + through + "'");
    EXPECT_TRUE(got == want) << got.size() << " stored, " << want.size() << " expected";
  }
  return with_state;
}

Poco::JSON::Object::Ptr readJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return Poco::JSON::Parser().parse(text.str()).extract<Poco::JSON::Object::Ptr>();
}

void stopMidBackfillThenResume(const std::string& signal) {
  Database db;
  FakeOura fake({"--first-day", "2023-06-01", "--last-day", "2024-12-31", "--latency-ms", "20",
                 "--page-size", "10"});
  Files files;
  files.manifest = oura::test::writeFile(files.dir, "manifest.toml", manifest(fake, db.name()));
  ASSERT_EQ(collector(files, {"init-db"}, fake.token()).exit_code, 0);
  // About 400 requests in all; the signal comes after 120 of them.
  const CommandResult stopped = scrapeAndSignal(files, fake, signal, 120);
  ASSERT_EQ(stopped.exit_code, 75) << "the run was meant to be stopped half-way by SIG" << signal
                                    << ":\n" << stopped.err;
  EXPECT_NE(stopped.err.find("exit 75: interrupted; safe to run again"), std::string::npos)
      << stopped.err;
  const int requests_when_stopped = fake.stats()->getValue<int>("total");
  // Nothing new started after the signal: what the fake answered after it had been sent (read
  // just after `kill`) is at most the requests in flight then (rate_limit.concurrency, 4).
  const std::string marker = "answered when signalled: ";
  const std::size_t at = stopped.out.find(marker);
  ASSERT_NE(at, std::string::npos) << stopped.out;
  const int answered_at_signal = std::stoi(stopped.out.substr(at + marker.size()));
  EXPECT_LE(requests_when_stopped - answered_at_signal, 4)
      << answered_at_signal << " answered when the signal had been sent, " << requests_when_stopped
      << " in the end";

  // The summary names what was interrupted and what landed.
  const Poco::JSON::Object::Ptr summary = readJson(files.summary);
  EXPECT_EQ(summary->getValue<int>("exit_code"), 75);
  EXPECT_EQ(summary->getValue<std::string>("outcome"), "interrupted");
  const Poco::JSON::Array::Ptr per_collection = summary->getArray("collections");
  int interrupted = 0, ok = 0;
  for (std::size_t i = 0; i < per_collection->size(); ++i) {
    const Poco::JSON::Object::Ptr c = per_collection->getObject(static_cast<unsigned>(i));
    const std::string outcome = c->getValue<std::string>("outcome");
    interrupted += outcome == "interrupted";
    ok += outcome == "ok";
    EXPECT_TRUE(outcome == "interrupted" || outcome == "ok")
        << c->getValue<std::string>("collection") << ": " << outcome;
  }
  EXPECT_GT(interrupted, 0);
  EXPECT_EQ(interrupted + ok, static_cast<int>(kCollections.size()));

  // The sync state it committed is covered by the stored documents.
  const int with_state = expectSyncStateCoveredByData(fake, db.name());
  EXPECT_GT(with_state, 0) << "windows that landed before the signal keep their sync state";
  EXPECT_LT(with_state, static_cast<int>(kCollections.size()) - 2)
      << "the signal came too late to interrupt anything";

  // The next run resumes (from the sync state) and lands exactly the fake's documents.
  const CommandResult resumed =
      collector(files, {"scrape", "--since", kFirst, "--until", kLast}, fake.token());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  for (const std::string& collection : kCollections) {
    SCOPED_TRACE(collection);
    const auto want = fakeDocuments(fake, collection, kFirst, kLast);
    const auto got = rawDocuments(db.name(), "SELECT raw::text FROM oura." +
                                                 Poco::toLower(collection) +
                                                 " WHERE account = 'e2e' AND deleted_at IS NULL");
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "stored documents differ from the fake's";
  }
  EXPECT_EQ(psql(db.name(), "SELECT count(*) FROM oura.daily_sleep WHERE deleted_at IS NOT NULL"),
            "0\n");
}

TEST(GracefulStop, SigtermMidBackfillExits75KeepsWhatLandedAndTheNextRunCompletes) {
  stopMidBackfillThenResume("TERM");
}

TEST(GracefulStop, SigintMidBackfillExits75KeepsWhatLandedAndTheNextRunCompletes) {
  stopMidBackfillThenResume("INT");
}

}  // namespace
