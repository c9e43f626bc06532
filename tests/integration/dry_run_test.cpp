// End to end: the built oura-collector program against the fake Oura server, dry run to stdout.
// The JSON Lines rows must carry exactly the fake's documents for the requested window.
#include "sync/days.hpp"
#include "fake_oura.hpp"
#include "test_support.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/String.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

using oura::test::CommandResult;
using oura::test::FakeOura;

namespace {

const std::vector<std::string> kDaily = {"daily_activity", "daily_sleep", "daily_readiness",
                                         "daily_spo2", "daily_stress", "daily_resilience",
                                         "daily_cardiovascular_age"};

// Every endpoint plugin and the collections it serves (README "Collections").
const std::vector<std::string> kEndpoints = {"daily", "sleep", "activity", "heart", "tags", "ring"};
const std::vector<std::string> kAllCollections = {
    "daily_activity", "daily_sleep", "daily_readiness", "daily_spo2", "daily_stress",
    "daily_resilience", "daily_cardiovascular_age", "sleep", "sleep_time", "workout", "session",
    "heartrate", "vO2_max", "tag", "enhanced_tag", "personal_info", "ring_configuration",
    "ring_battery_level", "rest_mode_period"};
// Embedded time series: child stream -> (collection, SampleModel field).
const std::map<std::string, std::pair<std::string, std::string>> kSampleStreams = {
    {"daily_activity_met", {"daily_activity", "met"}},
    {"sleep_heart_rate", {"sleep", "heart_rate"}},
    {"sleep_hrv", {"sleep", "hrv"}},
    {"session_heart_rate", {"session", "heart_rate"}},
    {"session_heart_rate_variability", {"session", "heart_rate_variability"}},
    {"session_motion_count", {"session", "motion_count"}}};

std::string manifest(const FakeOura& fake, const std::string& extra = "",
                     const std::vector<std::string>& endpoints = {"daily"}) {
  std::string text = "[collector]\naccount = \"e2e\"\nplugin_dirs = [\"" +
                     oura::test::envOr("OURA_PLUGIN_DIR", "") + "\"]\n" + extra +
                     "\n[api]\nbase_url = \"" + fake.baseUrl() +
                     "\"\n[retry]\nbase_delay = 0.01\nmax_delay = 0.05\n"
                     "[token_store]\nplugin = \"env\"\n[token_store.config]\nvariable = "
                     "\"OURA_E2E_TOKEN\"\n";
  for (const auto& endpoint : endpoints) text += "[[endpoints]]\nplugin = \"" + endpoint + "\"\n";
  return text + "[[sinks]]\nplugin = \"stdout\"\n";
}

struct ScrapeRun {
  CommandResult result;
  // stream -> rows
  std::map<std::string, std::vector<Poco::JSON::Object::Ptr>> rows;
};

ScrapeRun scrape(const std::vector<std::string>& args,
           const std::string& manifest_text, const std::string& token) {
  std::string dir = oura::test::makeTempDir();
  std::string path = oura::test::writeFile(dir, "manifest.toml", manifest_text);
  std::vector<std::string> argv = {"--config", path, "scrape"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::map<std::string, std::string> env = {{"OURA_E2E_TOKEN", token}};
  ScrapeRun run{oura::test::runCommand(oura::test::envOr("OURA_BINARY", "oura-collector"), argv, env), {}};
  std::istringstream lines(run.result.out);
  Poco::JSON::Parser parser;
  for (std::string line; std::getline(lines, line);) {
    parser.reset();
    auto row = parser.parse(line).extract<Poco::JSON::Object::Ptr>();
    run.rows[row->getValue<std::string>("stream")].push_back(row);
  }
  return run;
}

std::string canonical(const Poco::Dynamic::Var& value) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(value, out);
  return out.str();
}

}  // namespace

TEST(DryRun, RowsEqualTheFakesDocumentsForTheWindowAcrossADstChange) {
  FakeOura fake({"--first-day", "2024-03-01", "--last-day", "2024-04-30", "--page-size", "5"});
  ScrapeRun run = scrape({"--dry-run", "--since", "2024-03-25", "--until", "2024-04-03"},
                   manifest(fake), fake.token());
  ASSERT_EQ(run.result.exit_code, 0) << run.result.err;

  for (const std::string& collection : kDaily) {
    SCOPED_TRACE(collection);
    Poco::JSON::Array::Ptr expected = fake.documents(collection, "2024-03-25", "2024-04-03");
    std::map<std::string, std::string> want;  // day -> canonical document
    for (std::size_t i = 0; i < expected->size(); ++i) {
      auto doc = expected->getObject(static_cast<unsigned>(i));
      want[doc->getValue<std::string>("day")] = canonical(doc);
    }
    std::map<std::string, std::string> got;
    for (const auto& row : run.rows[collection]) {
      EXPECT_EQ(row->getValue<std::string>("account"), "e2e");
      const std::string day = row->getValue<std::string>("day");
      EXPECT_TRUE(got.emplace(day, canonical(row->get("raw"))).second) << "duplicate day " << day;
      // Typed columns carry the document's own values.
      auto raw = row->getObject("raw");
      if (raw->has("score") && !raw->isNull("score")) {
        EXPECT_EQ(row->getValue<Poco::Int64>("score"), raw->getValue<Poco::Int64>("score"));
      }
      if (raw->has("id")) {
        EXPECT_EQ(row->getValue<std::string>("id"), raw->getValue<std::string>("id"));
      }
    }
    EXPECT_EQ(got, want);
    EXPECT_FALSE(want.empty() && collection != "daily_cardiovascular_age" &&
                 collection != "daily_spo2" && collection != "daily_resilience");
  }

  // Embedded time series: one met row per item, timestamps keep the document's own offset.
  std::size_t met_items = 0;
  std::set<std::string> offsets;
  Poco::JSON::Array::Ptr activity = fake.documents("daily_activity", "2024-03-25", "2024-04-03");
  for (std::size_t i = 0; i < activity->size(); ++i) {
    auto met = activity->getObject(static_cast<unsigned>(i))->getObject("met");
    met_items += met->getArray("items")->size();
  }
  EXPECT_EQ(run.rows["daily_activity_met"].size(), met_items);
  for (const auto& row : run.rows["daily_activity_met"]) {
    const std::string ts = row->getValue<std::string>("timestamp");
    offsets.insert(ts.substr(ts.size() - 6));
  }
  EXPECT_EQ(offsets, (std::set<std::string>{"+01:00", "+02:00"}));
  EXPECT_NE(run.result.err.find("daily_readiness"), std::string::npos) << run.result.err;
}

TEST(DryRun, AMissingTokenExitsLoginNeededBeforeAnyRequest) {
  FakeOura fake;
  ScrapeRun run = scrape({"--dry-run", "--days", "2"}, manifest(fake), "");
  EXPECT_EQ(run.result.exit_code, 77) << run.result.err;
  EXPECT_NE(run.result.err.find("OURA_E2E_TOKEN"), std::string::npos) << run.result.err;
  EXPECT_EQ(fake.stats()->getValue<int>("total"), 0);
}

TEST(DryRun, AWrongTokenEverywhereIsLoginNeeded) {
  FakeOura fake;
  ScrapeRun run = scrape({"--dry-run", "--days", "2"}, manifest(fake), "not-the-token");
  EXPECT_EQ(run.result.exit_code, 77) << run.result.err;
  EXPECT_EQ(run.result.err.find("not-the-token"), std::string::npos) << "token leaked";
  EXPECT_EQ(run.result.out.find("not-the-token"), std::string::npos) << "token leaked";
}

TEST(DryRun, APageThatIsNotJsonFailsOnlyThatCollection) {
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-01-31"});
  fake.post("/_fake/faults", R"({"collection":"daily_sleep","kind":"not_json","count":10})");
  ScrapeRun run = scrape({"--dry-run", "--since", "2024-01-10", "--until", "2024-01-12"},
                   manifest(fake), fake.token());
  EXPECT_EQ(run.result.exit_code, 1) << run.result.err;
  EXPECT_NE(run.result.err.find("/v2/usercollection/daily_sleep"), std::string::npos)
      << run.result.err;
  EXPECT_TRUE(run.rows["daily_sleep"].empty());
  EXPECT_EQ(run.rows["daily_readiness"].size(), 3u);
  EXPECT_EQ(run.result.err.find(fake.token()), std::string::npos) << "token leaked";
}

TEST(DryRun, APageWithoutDataFailsOnlyThatCollection) {
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-01-31"});
  fake.post("/_fake/faults", R"({"collection":"daily_readiness","kind":"no_data","count":10})");
  ScrapeRun run = scrape({"--dry-run", "--since", "2024-01-10", "--until", "2024-01-12",
                          "--collections", "daily_readiness,daily_sleep"},
                   manifest(fake), fake.token());
  EXPECT_EQ(run.result.exit_code, 1) << run.result.err;
  EXPECT_NE(run.result.err.find("data"), std::string::npos) << run.result.err;
  EXPECT_EQ(run.rows["daily_sleep"].size(), 3u);
  EXPECT_TRUE(run.rows["daily_activity"].empty()) << "--collections not honoured";
}

TEST(DryRun, OneCollectionNotAuthorisedIsAWarningNotAFailure) {
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-01-31"});
  fake.post("/_fake/faults", R"({"collection":"daily_stress","kind":401,"count":10})");
  ScrapeRun run = scrape({"--dry-run", "--since", "2024-01-10", "--until", "2024-01-12"},
                   manifest(fake), fake.token());
  EXPECT_EQ(run.result.exit_code, 0) << run.result.err;
  EXPECT_NE(run.result.err.find("not authorised"), std::string::npos) << run.result.err;
  EXPECT_EQ(run.rows["daily_sleep"].size(), 3u);
}

TEST(DryRun, AnUpgradeRequiredSaysToUpdateTheApp) {
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-01-31"});
  fake.post("/_fake/faults", R"({"collection":"daily_sleep","kind":426,"count":10})");
  ScrapeRun run = scrape({"--dry-run", "--since", "2024-01-10", "--until", "2024-01-12"},
                   manifest(fake), fake.token());
  EXPECT_EQ(run.result.exit_code, 0) << run.result.err;
  EXPECT_NE(run.result.err.find("update the Oura app"), std::string::npos) << run.result.err;
}

TEST(DryRun, ABrokenManifestIsAConfigurationErrorWithItsLocationAndFetchesNothing) {
  FakeOura fake;
  ScrapeRun run = scrape({"--dry-run"}, manifest(fake, "colour = \"blue\""), fake.token());
  EXPECT_EQ(run.result.exit_code, 78) << run.result.err;
  EXPECT_NE(run.result.err.find("manifest.toml:4:1"), std::string::npos) << run.result.err;
  EXPECT_NE(run.result.err.find("colour"), std::string::npos) << run.result.err;
  EXPECT_EQ(fake.stats()->getValue<int>("total"), 0);
}

// --summary-json: the table's data as JSON, for a partial run and for one that never started.
TEST(DryRun, SummaryJsonCarriesThePerCollectionOutcomesAndTheExitCode) {
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-01-31"});
  fake.post("/_fake/faults", R"({"collection":"daily_sleep","kind":"not_json","count":10})");
  const std::string dir = oura::test::makeTempDir();
  const std::string summary_path = dir + "/summary.json";
  ScrapeRun run = scrape({"--dry-run", "--since", "2024-01-10", "--until", "2024-01-12",
                          "--collections", "daily_sleep,daily_readiness", "--summary-json",
                          summary_path},
                         manifest(fake), fake.token());
  ASSERT_EQ(run.result.exit_code, 1) << run.result.err;
  std::ifstream in(summary_path);
  ASSERT_TRUE(in) << "no summary written";
  Poco::JSON::Object::Ptr summary =
      Poco::JSON::Parser().parse(in).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(summary->getValue<std::string>("command"), "scrape");
  EXPECT_EQ(summary->getValue<int>("exit_code"), 1);
  EXPECT_EQ(summary->getValue<std::string>("outcome"), "partial");
  EXPECT_TRUE(summary->isNull("error"));
  Poco::JSON::Array::Ptr collections = summary->getArray("collections");
  ASSERT_EQ(collections->size(), 2u);
  std::map<std::string, Poco::JSON::Object::Ptr> by_name;
  for (std::size_t i = 0; i < collections->size(); ++i) {
    auto c = collections->getObject(static_cast<unsigned>(i));
    by_name[c->getValue<std::string>("collection")] = c;
  }
  ASSERT_TRUE(by_name.count("daily_sleep") && by_name.count("daily_readiness"));
  EXPECT_EQ(by_name["daily_sleep"]->getValue<std::string>("outcome"), "failed");
  EXPECT_NE(by_name["daily_sleep"]->getValue<std::string>("message").find("not JSON"),
            std::string::npos);
  EXPECT_EQ(by_name["daily_readiness"]->getValue<std::string>("outcome"), "ok");
  EXPECT_EQ(by_name["daily_readiness"]->getValue<int>("documents"), 3);
  EXPECT_EQ(by_name["daily_readiness"]->getValue<std::string>("first_day"), "2024-01-10");
  // Requests in the summary are the requests the fake saw.
  const int requests = by_name["daily_sleep"]->getValue<int>("requests") +
                       by_name["daily_readiness"]->getValue<int>("requests");
  EXPECT_EQ(summary->getObject("totals")->getValue<int>("requests"), requests);
  EXPECT_EQ(fake.stats()->getValue<int>("total"), requests);
  EXPECT_EQ(by_name["daily_sleep"]->getValue<int>("retries"),
            by_name["daily_sleep"]->getValue<int>("requests") - 1);
  EXPECT_FALSE(std::filesystem::exists(summary_path + ".tmp")) << "temporary file left";

  // A summary that could not be written is found out before the run, not after it.
  ScrapeRun nowhere = scrape({"--dry-run", "--summary-json", dir + "/missing/summary.json"},
                             manifest(fake), fake.token());
  EXPECT_EQ(nowhere.result.exit_code, 64) << nowhere.result.err;
  EXPECT_NE(nowhere.result.err.find("folder must exist"), std::string::npos) << nowhere.result.err;
  EXPECT_TRUE(nowhere.rows.empty());

  // A run that stops before any collection: the summary says why, with the exit code.
  ScrapeRun broken = scrape({"--dry-run", "--summary-json", summary_path},
                            manifest(fake, "colour = \"blue\""), fake.token());
  ASSERT_EQ(broken.result.exit_code, 78) << broken.result.err;
  std::ifstream again(summary_path);
  Poco::JSON::Object::Ptr failed =
      Poco::JSON::Parser().parse(again).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(failed->getValue<int>("exit_code"), 78);
  EXPECT_EQ(failed->getValue<std::string>("outcome"), "config");
  EXPECT_NE(failed->getValue<std::string>("error").find("colour"), std::string::npos);
  EXPECT_EQ(failed->getArray("collections")->size(), 0u);
}

// Progress: off a terminal, one debug log line per finished window, numbered against the plan.
TEST(DryRun, ProgressLogsOneLinePerFinishedWindowAgainstThePlan) {
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-03-31"});
  // heartrate: 70 days in 30-day windows = 3 windows; daily_sleep: one window. The windows
  // land in any order; the count follows the order they finish in.
  ScrapeRun run = scrape({"--log-level", "debug", "--dry-run", "--since", "2024-01-01", "--until", "2024-03-10",
                          "--collections", "heartrate,daily_sleep"},
                         manifest(fake, "", {"daily", "heart"}), fake.token());
  ASSERT_EQ(run.result.exit_code, 0) << run.result.err;
  for (const char* line : {"[1/4 windows] done: ", "[2/4 windows] done: ", "[3/4 windows] done: ",
                           "[4/4 windows] done: ", "heartrate 2024-01-01..2024-01-30",
                           "heartrate 2024-01-31..2024-02-29", "heartrate 2024-03-01..2024-03-10",
                           "daily_sleep 2024-01-01..2024-03-10"}) {
    EXPECT_NE(run.result.err.find(line), std::string::npos) << line << "\n" << run.result.err;
  }
  EXPECT_EQ(run.result.err.find("[5/"), std::string::npos) << run.result.err;
  EXPECT_EQ(run.result.err.find("\033[K"), std::string::npos) << "redraws off a terminal";
}

// Progress on a terminal: a status line redrawn in place (the program under a pseudo-terminal,
// its rows sent elsewhere), with an estimate of the time left; no per-window log lines.
TEST(DryRun, ProgressOnATerminalRedrawsOneStatusLine) {
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-03-31"});
  const std::string dir = oura::test::makeTempDir();
  const std::string path = oura::test::writeFile(dir, "manifest.toml",
                                                 manifest(fake, "", {"heart"}));
  const std::string command = "exec \"$0\" --config \"$1\" scrape --dry-run --since 2024-01-01 "
                              "--until 2024-03-31 --collections heartrate >/dev/null";
  const CommandResult result = oura::test::runCommand(
      "python3",
      {"-c", "import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)", "sh", "-c", command,
       oura::test::envOr("OURA_BINARY", "oura-collector"), path},
      // pty.spawn's terminal reports no size: the line is cut to $COLUMNS (80 without it).
      {{"OURA_E2E_TOKEN", fake.token()}, {"TERM", "xterm"}, {"COLUMNS", "200"}});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  // 91 days: windows of 30, 30, 30 and 1 day, finishing in any order.
  EXPECT_NE(result.out.find("\r\033[K[1/4 windows] done: heartrate 2024-"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("left"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("[4/4 windows]"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("oura.progress"), std::string::npos) << "log lines on a terminal";
}

TEST(DryRun, UsageErrorsExit64) {
  FakeOura fake;
  ScrapeRun unknown = scrape({"--dry-run", "--collections", "daily_nope"}, manifest(fake),
                       fake.token());
  EXPECT_EQ(unknown.result.exit_code, 64) << unknown.result.err;
  EXPECT_NE(unknown.result.err.find("daily_nope"), std::string::npos);
  ScrapeRun bad_date = scrape({"--dry-run", "--since", "2024-13-01"}, manifest(fake), fake.token());
  EXPECT_EQ(bad_date.result.exit_code, 64) << bad_date.result.err;
  ScrapeRun bad_option = scrape({"--frobnicate"}, manifest(fake), fake.token());
  EXPECT_EQ(bad_option.result.exit_code, 64) << bad_option.result.err;
  ScrapeRun no_names = scrape({"--dry-run", "--collections", ""}, manifest(fake), fake.token());
  EXPECT_EQ(no_names.result.exit_code, 64) << no_names.result.err;
  ScrapeRun too_early = scrape({"--dry-run", "--since", "2001-01-01"}, manifest(fake), fake.token());
  EXPECT_EQ(too_early.result.exit_code, 64) << too_early.result.err;
  EXPECT_NE(too_early.result.err.find("2015"), std::string::npos) << too_early.result.err;
  ScrapeRun huge_days = scrape({"--dry-run", "--days", "2147483647"}, manifest(fake), fake.token());
  EXPECT_EQ(huge_days.result.exit_code, 64) << huge_days.result.err;
  ScrapeRun future = scrape({"--dry-run", "--since", "2024-01-01", "--until", "9999-12-31"},
                            manifest(fake), fake.token());
  EXPECT_EQ(future.result.exit_code, 64) << future.result.err;
  EXPECT_EQ(fake.stats()->getValue<int>("total"), 0);
}

TEST(DryRun, ATokenThatCouldInjectHeadersIsRefusedBeforeAnyRequest) {
  FakeOura fake;
  ScrapeRun run = scrape({"--dry-run", "--days", "1"}, manifest(fake),
                         fake.token() + "\r\nX-Evil: injected");
  EXPECT_EQ(run.result.exit_code, 77) << run.result.err;
  EXPECT_NE(run.result.err.find("RFC 6750"), std::string::npos) << run.result.err;
  EXPECT_EQ(run.result.err.find("X-Evil"), std::string::npos) << "the token is never printed";
  EXPECT_EQ(fake.stats()->getValue<int>("total"), 0);
}

TEST(DryRun, AnUnreachableApiIsExit69) {
  FakeOura fake;
  std::string m = manifest(fake);
  m.replace(m.find(fake.baseUrl()), fake.baseUrl().size(), "http://127.0.0.1:1");
  ScrapeRun run = scrape({"--dry-run", "--days", "1", "--collections", "daily_sleep,daily_stress"},
                         m, fake.token());
  EXPECT_EQ(run.result.exit_code, 69) << run.result.err;
  EXPECT_NE(run.result.err.find("could not be reached"), std::string::npos) << run.result.err;
}

// A server asking to wait for years: the wait is capped by the retry policy, and SIGTERM during
// it ends the run at once with the "interrupted" code (a `timeout` guards against a hang).
TEST(DryRun, SigtermDuringAHugeRetryAfterStopsTheRunWithExit75) {
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-01-31"});
  fake.post("/_fake/faults",
            R"({"collection":"daily_sleep","kind":429,"count":5,"retry_after":"99999999"})");
  std::string m = manifest(fake);
  m.replace(m.find("max_delay = 0.05"), std::string("max_delay = 0.05").size(), "max_delay = 60");
  const std::string dir = oura::test::makeTempDir();
  const std::string path = oura::test::writeFile(dir, "manifest.toml", m);
  const std::string script = "timeout -s KILL 60 \"$OURA_BINARY\" --config " + path +
                             " scrape --dry-run --since 2024-01-10 --until 2024-01-12 "
                             "--collections daily_sleep & pid=$!; sleep 2; kill -TERM $pid; "
                             "wait $pid";
  CommandResult r = oura::test::runCommand(
      "bash", {"-c", script},
      {{"OURA_E2E_TOKEN", fake.token()},
       {"OURA_BINARY", oura::test::envOr("OURA_BINARY", "oura-collector")}});
  EXPECT_EQ(r.exit_code, 75) << r.err;
  EXPECT_NE(r.err.find("interrupted"), std::string::npos) << r.err;
}

TEST(DryRun, ManifestsThatAreNotFilesAndEndlessReferencesAreConfigurationErrors) {
  FakeOura fake;
  const std::string dir = oura::test::makeTempDir();
  CommandResult directory = oura::test::runCommand(
      oura::test::envOr("OURA_BINARY", "oura-collector"), {"--config", dir, "check-config"});
  EXPECT_EQ(directory.exit_code, 78) << directory.err;
  EXPECT_NE(directory.err.find("is a directory"), std::string::npos) << directory.err;
  std::string m = manifest(fake);
  m.replace(m.find("[[sinks]]\nplugin = \"stdout\"\n"),
            std::string("[[sinks]]\nplugin = \"stdout\"\n").size(),
            "[[sinks]]\nplugin = \"stdout\"\n[sinks.config]\nfile = { file = \"/dev/zero\" }\n");
  const std::string path = oura::test::writeFile(dir, "endless.toml", m);
  CommandResult endless = oura::test::runCommand(
      oura::test::envOr("OURA_BINARY", "oura-collector"), {"--config", path, "check-config"},
      {{"OURA_E2E_TOKEN", fake.token()}});
  EXPECT_EQ(endless.exit_code, 78) << endless.err;
  EXPECT_NE(endless.err.find("endless.toml:"), std::string::npos) << endless.err;
  EXPECT_NE(endless.err.find("not a regular file"), std::string::npos) << endless.err;
}

TEST(DryRun, CheckConfigValidatesTheApiUrlAndNamesWhereItCameFrom) {
  FakeOura fake;
  const std::string dir = oura::test::makeTempDir();
  const std::string path = oura::test::writeFile(dir, "manifest.toml", manifest(fake));
  CommandResult r = oura::test::runCommand(
      oura::test::envOr("OURA_BINARY", "oura-collector"), {"--config", path, "check-config"},
      {{"OURA_E2E_TOKEN", fake.token()}, {"OURA_API_BASE_URL", "http://example.com"}});
  EXPECT_EQ(r.exit_code, 78) << r.err;
  EXPECT_NE(r.err.find("OURA_API_BASE_URL"), std::string::npos) << r.err;
}

TEST(DryRun, CheckConfigSaysWhetherTheTokenStoreHoldsAUsableToken) {
  FakeOura fake;
  const std::string dir = oura::test::makeTempDir();
  const std::string path = oura::test::writeFile(dir, "manifest.toml", manifest(fake));
  const std::string binary = oura::test::envOr("OURA_BINARY", "oura-collector");
  CommandResult present =
      oura::test::runCommand(binary, {"--config", path, "check-config"},
                             {{"OURA_E2E_TOKEN", fake.token()}});
  EXPECT_EQ(present.exit_code, 0) << present.err;
  EXPECT_NE(present.out.find("a token is present"), std::string::npos) << present.out;
  EXPECT_EQ(present.out.find(fake.token()), std::string::npos) << "token printed";
  CommandResult missing = oura::test::runCommand(binary, {"--config", path, "check-config"},
                                                 {{"OURA_E2E_TOKEN", ""}});
  EXPECT_NE(missing.out.find("LOGIN NEEDED (scrape would exit 77)"), std::string::npos)
      << missing.out;
  CommandResult bad = oura::test::runCommand(binary, {"--config", path, "check-config"},
                                             {{"OURA_E2E_TOKEN", "abc def"}});
  EXPECT_NE(bad.out.find("LOGIN NEEDED"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("RFC 6750"), std::string::npos) << bad.out;
}

// The client secret is needed by token requests only: commands that send none run without it,
// check-config says it is missing.
TEST(DryRun, AnUnsetClientSecretStopsOnlyWhatNeedsIt) {
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-01-31"});
  const std::string text = manifest(
      fake, "[oauth]\nclient_id = \"c\"\nclient_secret = { env = \"OURA_E2E_UNSET_SECRET\" }\n");
  const std::string path =
      oura::test::writeFile(oura::test::makeTempDir(), "manifest.toml", text);
  const std::string binary = oura::test::envOr("OURA_BINARY", "oura-collector");
  CommandResult check = oura::test::runCommand(binary, {"--config", path, "check-config"},
                                               {{"OURA_E2E_TOKEN", fake.token()}});
  EXPECT_EQ(check.exit_code, 78) << check.out << check.err;
  EXPECT_NE(check.err.find("OURA_E2E_UNSET_SECRET"), std::string::npos) << check.err;
  ScrapeRun run = scrape({"--dry-run", "--since", "2024-01-10", "--until", "2024-01-12",
                          "--collections", "daily_sleep"},
                         text, fake.token());  // the env store never refreshes
  EXPECT_EQ(run.result.exit_code, 0) << run.result.err;
  EXPECT_EQ(run.rows["daily_sleep"].size(), 3u);
}

TEST(Program, HelpVersionAndPlugins) {
  const std::string binary = oura::test::envOr("OURA_BINARY", "oura-collector");
  std::map<std::string, std::string> env = {{"OURA_PLUGIN_DIR", oura::test::envOr("OURA_PLUGIN_DIR", "")}};
  CommandResult help = oura::test::runCommand(binary, {"--help"}, env);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("check-config"), std::string::npos);
  CommandResult version = oura::test::runCommand(binary, {"--version"}, env);
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.out.find("plugin API"), std::string::npos);
  CommandResult plugins = oura::test::runCommand(binary, {"plugins"}, env);
  EXPECT_EQ(plugins.exit_code, 0) << plugins.err;
  for (const char* expected : {"daily_readiness", "stdout", "env", "endpoint", "sink", "auth"}) {
    EXPECT_NE(plugins.out.find(expected), std::string::npos) << expected << "\n" << plugins.out;
  }
  // No plugin anywhere is a broken installation: a configuration error, not an empty success.
  CommandResult empty = oura::test::runCommand(
      binary, {"plugins"}, {{"OURA_PLUGIN_DIR", oura::test::makeTempDir()}});
  EXPECT_EQ(empty.exit_code, 78) << empty.out << empty.err;
  EXPECT_NE(empty.err.find("no plugins found"), std::string::npos) << empty.err;
  CommandResult describe = oura::test::runCommand(binary, {"plugins", "describe", "daily"}, env);
  EXPECT_EQ(describe.exit_code, 0) << describe.err;
  EXPECT_NE(describe.out.find("daily_activity_met"), std::string::npos);
  CommandResult none = oura::test::runCommand(binary, {}, env);
  EXPECT_EQ(none.exit_code, 64);
}

namespace {

std::multiset<std::string> canonicalDocs(const Poco::JSON::Array::Ptr& docs) {
  std::multiset<std::string> out;
  for (std::size_t i = 0; i < docs->size(); ++i) out.insert(canonical(docs->get(static_cast<unsigned>(i))));
  return out;
}

// Every collection's document rows carry exactly the fake's documents for [first, last]
// (compared by their raw content: no more, no less, no duplicates), and every sample stream has
// one row per item of its documents' series.
void expectRowsEqualFake(FakeOura& fake, ScrapeRun& run, const std::string& first,
                         const std::string& last) {
  std::map<std::string, Poco::JSON::Array::Ptr> expected;
  for (const std::string& collection : kAllCollections) {
    SCOPED_TRACE(collection);
    // A full re-fetch (rest_mode_period) keeps the whole history through today, not the window.
    expected[collection] = collection == "rest_mode_period"
                               ? fake.documents(collection, "2015-01-01", "2100-01-01")
                               : fake.documents(collection, first, last);
    std::multiset<std::string> got;
    for (const auto& row : run.rows[Poco::toLower(collection)]) {  // the stream's name
      EXPECT_EQ(row->getValue<std::string>("account"), "e2e");
      got.insert(canonical(row->get("raw")));
    }
    const std::multiset<std::string> want = canonicalDocs(expected[collection]);
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "rows differ from the fake's documents";
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), got.size()) << "duplicates";
  }
  for (const auto& [stream, source] : kSampleStreams) {
    SCOPED_TRACE(stream);
    std::size_t items = 0;
    const auto& docs = expected[source.first];
    for (std::size_t i = 0; i < docs->size(); ++i) {
      auto doc = docs->getObject(static_cast<unsigned>(i));
      if (doc->has(source.second) && !doc->isNull(source.second)) {
        items += doc->getObject(source.second)->getArray("items")->size();
      }
    }
    EXPECT_EQ(run.rows[stream].size(), items);
  }
}

}  // namespace

TEST(DryRunAllCollections, RowsEqualTheFakesDocumentsForAWindowAcrossADstChange) {
  FakeOura fake({"--first-day", "2024-03-01", "--last-day", "2024-04-30", "--page-size", "7"});
  ScrapeRun run = scrape({"--dry-run", "--since", "2024-03-28", "--until", "2024-04-03"},
                         manifest(fake, "", kEndpoints), fake.token());
  ASSERT_EQ(run.result.exit_code, 0) << run.result.err;
  expectRowsEqualFake(fake, run, "2024-03-28", "2024-04-03");
  // The days at each edge of the window are present exactly once, and nothing from outside.
  std::size_t edge_documents = 0;
  for (const std::string collection : {"daily_activity", "daily_sleep", "sleep", "sleep_time",
                                       "workout", "heartrate"}) {
    SCOPED_TRACE(collection);
    const std::string field = collection == std::string("heartrate") ? "timestamp" : "day";
    std::map<std::string, int> fake_days, row_days;
    const auto docs = fake.documents(collection, "2024-03-27", "2024-04-04");
    for (std::size_t i = 0; i < docs->size(); ++i) {
      ++fake_days[docs->getObject(static_cast<unsigned>(i))->getValue<std::string>(field).substr(0, 10)];
    }
    for (const auto& row : run.rows[collection]) {
      ++row_days[row->getValue<std::string>(field).substr(0, 10)];
    }
    for (const std::string day : {"2024-03-28", "2024-04-03"}) {
      EXPECT_EQ(row_days[day], fake_days[day]) << day;
      edge_documents += static_cast<std::size_t>(fake_days[day]);
    }
    EXPECT_EQ(row_days.count("2024-03-27"), 0u);
    EXPECT_EQ(row_days.count("2024-04-04"), 0u);
  }
  EXPECT_GT(edge_documents, 6u) << "the fake must have documents on the edge days";
  // The sleep samples cross the DST change with their own offsets.
  std::set<std::string> offsets;
  for (const auto& row : run.rows["sleep_heart_rate"]) {
    const std::string ts = row->getValue<std::string>("timestamp");
    offsets.insert(ts.substr(ts.size() - 6));
  }
  EXPECT_EQ(offsets, (std::set<std::string>{"+01:00", "+02:00"}));
}

TEST(DryRunAllCollections, RecordedRealResponsesAllLand) {
  const std::string recorded = oura::test::envOr("OURA_FIXTURES", "") + "/recorded";
  FakeOura fake({"--recorded", recorded, "--page-size", "500"});
  ScrapeRun run = scrape({"--dry-run", "--since", "2018-01-01", "--until", "2024-12-31"},
                         manifest(fake, "", kEndpoints), fake.token());
  ASSERT_EQ(run.result.exit_code, 0) << run.result.err;
  expectRowsEqualFake(fake, run, "2018-01-01", "2024-12-31");
  EXPECT_EQ(run.rows["daily_readiness"].size(), 2141u);
  EXPECT_FALSE(run.rows["heartrate"].empty());
  EXPECT_FALSE(run.rows["sleep_heart_rate"].empty());
  EXPECT_EQ(run.rows["personal_info"].size(), 1u);
}

TEST(DryRunAllCollections, HeartRateOver120DaysArrivesIn30DayRequestsWithoutDuplicates) {
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-06-30"});
  ScrapeRun run = scrape({"--dry-run", "--since", "2024-01-10", "--until", "2024-05-08",
                          "--collections", "heartrate"},
                         manifest(fake, "", kEndpoints), fake.token());
  ASSERT_EQ(run.result.exit_code, 0) << run.result.err;
  const auto want = canonicalDocs(fake.documents("heartrate", "2024-01-10", "2024-05-08"));
  std::multiset<std::string> got;
  std::set<std::pair<std::string, std::string>> keys;
  for (const auto& row : run.rows["heartrate"]) {
    got.insert(canonical(row->get("raw")));
    EXPECT_TRUE(keys.emplace(row->getValue<std::string>("timestamp"),
                             row->getValue<std::string>("source")).second)
        << "duplicate sample";
  }
  EXPECT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want);
  // Every request asked for at most 30 days, with the offset's '+' arriving intact.
  const auto log = fake.stats()->getArray("log");
  std::size_t first_pages = 0;
  for (std::size_t i = 0; i < log->size(); ++i) {
    auto entry = log->getObject(static_cast<unsigned>(i));
    auto query = entry->getObject("query");
    EXPECT_EQ(entry->getValue<int>("status"), 200);
    ASSERT_TRUE(query->has("start_datetime"));
    const std::string start = query->get("start_datetime").toString();
    const std::string end = query->get("end_datetime").toString();
    EXPECT_NE(start.find("+00:00"), std::string::npos) << start;
    const long days = oura::core::parseDay(end.substr(0, 10)) - oura::core::parseDay(start.substr(0, 10));
    EXPECT_LE(days, 30) << start << " .. " << end;
    if (!query->has("next_token") || query->get("next_token").toString().empty()) ++first_pages;
  }
  EXPECT_EQ(first_pages, 4u) << "120 days in windows of exactly 30 days asked and kept";
}

// Windows in parallel (DESIGN.md): with 8 requests in flight, a heart-rate backfill keeps several
// of its own windows in flight at once, as the fake's request log shows (each request's arrival
// and answer). (That every sample arrives once is HeartRateOver120Days... above.)
TEST(DryRunAllCollections, ABackfillWithEightInFlightFetchesSeveralWindowsOfOneCollectionAtOnce) {
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-06-30", "--latency-ms", "50"});
  ScrapeRun run = scrape({"--dry-run", "--since", "2024-01-01", "--until", "2024-05-29",
                          "--collections", "heartrate"},
                         manifest(fake, "[rate_limit]\nconcurrency = 8\n", kEndpoints),
                         fake.token());
  ASSERT_EQ(run.result.exit_code, 0) << run.result.err;
  // Requests of different windows (start_datetime) whose [arrived, answered] overlap.
  struct Request {
    std::string window;
    double arrived, answered;
  };
  std::vector<Request> requests;
  const auto log = fake.stats()->getArray("log");
  for (std::size_t i = 0; i < log->size(); ++i) {
    auto entry = log->getObject(static_cast<unsigned>(i));
    requests.push_back({entry->getObject("query")->getValue<std::string>("start_datetime"),
                        entry->getValue<double>("arrived"), entry->getValue<double>("answered")});
  }
  std::set<std::string> windows;
  std::size_t most_windows_at_once = 0;
  for (const Request& r : requests) {
    windows.insert(r.window);
    std::set<std::string> at_once;  // windows in flight when r arrived
    for (const Request& o : requests) {
      if (o.arrived <= r.arrived && r.arrived < o.answered) at_once.insert(o.window);
    }
    most_windows_at_once = std::max(most_windows_at_once, at_once.size());
  }
  EXPECT_EQ(windows.size(), 5u) << "150 days in windows of 30";
  EXPECT_GT(most_windows_at_once, 1u) << "the windows of heartrate ran one after another";
}

TEST(DryRunAllCollections, WithoutAnAccountLabelRowsAreKeyedByOurasUserId) {
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-01-31"});
  std::string m = manifest(fake, "", kEndpoints);
  m.replace(m.find("account = \"e2e\"\n"), std::string("account = \"e2e\"\n").size(), "");
  ScrapeRun run = scrape({"--dry-run", "--since", "2024-01-10", "--until", "2024-01-11",
                          "--collections", "daily_sleep"},
                         m, fake.token());
  ASSERT_EQ(run.result.exit_code, 0) << run.result.err;
  const auto info = fake.documents("personal_info", "2024-01-01", "2024-01-31")->getObject(0);
  ASSERT_FALSE(run.rows["daily_sleep"].empty());
  for (const auto& row : run.rows["daily_sleep"]) {
    EXPECT_EQ(row->getValue<std::string>("account"), info->getValue<std::string>("id"));
  }
}
