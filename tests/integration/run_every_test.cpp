// `oura-collector run --every`: the long-running mode against the fake Oura server. Runs follow
// one another at the interval, SIGTERM in the middle of a run lets it stop cleanly and exits 0,
// and a run that needs a person (77) waits for the next interval instead of spinning. The tests
// wait for what the program logs, never for a time, except the quiet second in which a spinning
// loop would have run again.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_oura.hpp"
#include "test_support.hpp"

using oura::test::CommandResult;
using oura::test::envOr;
using oura::test::FakeOura;

namespace {

std::string manifest(const FakeOura& fake) {
  return "[collector]\naccount = \"e2e\"\ndays = 3\nplugin_dirs = [\"" +
         envOr("OURA_PLUGIN_DIR", "") + "\"]\n[api]\nbase_url = \"" + fake.baseUrl() +
         "\"\n[retry]\nbase_delay = 0.01\nmax_delay = 0.05\n"
         "[token_store]\nplugin = \"env\"\n[token_store.config]\nvariable = \"OURA_E2E_TOKEN\"\n"
         "[[endpoints]]\nplugin = \"daily\"\n[[endpoints]]\nplugin = \"heart\"\n"
         "[[sinks]]\nplugin = \"stdout\"\n";
}

// Starts `run` in the background with its stderr in a file, waits (at most 120 s) until that
// file holds `wait_for` `count` times, sleeps `then_sleep` seconds, sends SIGTERM and waits for
// the exit. stderr of the result is the program's; stdout the script's own notes.
CommandResult runThenTerm(const FakeOura& fake, const std::string& token,
                          const std::vector<std::string>& run_args, const std::string& wait_for,
                          int count, const std::string& then_sleep = "0") {
  const std::string dir = oura::test::makeTempDir();
  const std::string path = oura::test::writeFile(dir, "manifest.toml", manifest(fake));
  std::string args;
  for (const auto& a : run_args) args += " '" + a + "'";
  const std::string script = "timeout -s KILL 300 \"$OURA_BINARY\" --config \"$MANIFEST\" run" +
                             args +
                             " >/dev/null 2>\"$DIR/err\" & pid=$!\n"
                             "for i in $(seq 2400); do\n"
                             "  [ \"$(grep -c -F -e \"$WAIT_FOR\" \"$DIR/err\")\" -ge " +
                             std::to_string(count) +
                             " ] && break\n"
                             "  kill -0 $pid 2>/dev/null || break\n"
                             "  sleep 0.05\n"
                             "done\n"
                             "sleep " +
                             then_sleep +
                             "\n"
                             "kill -TERM $pid\n"
                             "wait $pid; code=$?\n"
                             "cat \"$DIR/err\" >&2\n"
                             "exit $code\n";
  return oura::test::runCommand("bash", {"-c", script},
                                {{"OURA_E2E_TOKEN", token},
                                 {"OURA_BINARY", envOr("OURA_BINARY", "oura-collector")},
                                 {"MANIFEST", path},
                                 {"DIR", dir},
                                 {"WAIT_FOR", wait_for}});
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(RunEvery, RunsAtOnceAndAgainAfterTheIntervalUntilSigterm) {
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2030-12-31"});
  const CommandResult r =
      runThenTerm(fake, fake.token(), {"--dry-run", "--every", "1s", "--jitter", "0s"},
                  "run 2 ended with exit 0 (ok)", 1);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("run 1 ended with exit 0 (ok)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("run 2 ended with exit 0 (ok)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("next run at "), std::string::npos) << r.err;
  // Each run's summary is in the log: the table's closing line, once per run at least.
  // Each run's summary in the log: off a terminal, one line per finished collection (the table
  // only with --summary or when something failed: docs/operations.md "Output").
  EXPECT_GE(occurrences(r.err, "oura.scrape: daily_sleep: ok, "), 2u) << r.err;
  EXPECT_NE(r.err.find("run: stopped by a signal"), std::string::npos) << r.err;
  // Both runs asked the fake for the same collections.
  const auto per_route = fake.stats()->getObject("per_route");
  ASSERT_TRUE(per_route);
  EXPECT_GE(per_route->getValue<int>("/v2/usercollection/daily_sleep"), 2);
}

TEST(RunEvery, SigtermInTheMiddleOfARunEndsItCleanlyAndExitsZero) {
  // Slow answers and a long window: the run is still fetching when the signal comes.
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2030-12-31", "--latency-ms", "400",
                 "--page-size", "1"});
  const std::string dir = oura::test::makeTempDir();
  const std::string path = oura::test::writeFile(dir, "manifest.toml", manifest(fake));
  const std::string script =
      "timeout -s KILL 300 \"$OURA_BINARY\" --config \"$MANIFEST\" run --dry-run --every 1h "
      ">/dev/null 2>\"$DIR/err\" & pid=$!\n"
      "for i in $(seq 2400); do\n"
      "  n=$(curl -s \"$FAKE/_fake/stats\" | python3 -c 'import json,sys; "
      "print(json.load(sys.stdin)[\"total\"])')\n"
      "  [ \"$n\" -ge 4 ] && break\n"
      "  sleep 0.05\n"
      "done\n"
      "kill -TERM $pid\n"
      "wait $pid; code=$?\n"
      "cat \"$DIR/err\" >&2\n"
      "exit $code\n";
  const CommandResult r =
      oura::test::runCommand("bash", {"-c", script},
                             {{"OURA_E2E_TOKEN", fake.token()},
                              {"OURA_BINARY", envOr("OURA_BINARY", "oura-collector")},
                              {"MANIFEST", path},
                              {"DIR", dir},
                              {"FAKE", fake.baseUrl()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("run 1 ended with exit 75 (interrupted)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stopped by a signal: exiting"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("run 2"), std::string::npos) << r.err;
}

TEST(RunEvery, ALoginNeededIsLoggedAndWaitsForTheNextInterval) {
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2030-12-31"});
  // A token the fake refuses: every collection answers 401, the run exits 77. With an interval of
  // an hour, a second of quiet after it must hold no second run and no further request.
  const CommandResult r = runThenTerm(fake, "not-the-token", {"--dry-run", "--every", "1h"},
                                      "run 1 ended with exit 77", 1, "1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("run 1 ended with exit 77 (login_needed)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("a login is needed"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("run 2"), std::string::npos) << r.err;
  const int requests = fake.stats()->getValue<int>("total");
  EXPECT_GT(requests, 0);
  // Nothing more reached the fake after the program ended.
  EXPECT_EQ(fake.stats()->getValue<int>("total"), requests);
}

TEST(RunEvery, AConfigurationErrorIsRetriedAtTheNextIntervalWithTheManifestReadAgain) {
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2030-12-31"});
  // The first run finds a manifest with an unknown key (78, nothing sent); the manifest is then
  // fixed, and the run after the interval reads it again and succeeds.
  const std::string dir = oura::test::makeTempDir();
  const std::string good = oura::test::writeFile(dir, "good.toml", manifest(fake));
  const std::string path =
      oura::test::writeFile(dir, "manifest.toml", "colour = \"blue\"\n" + manifest(fake));
  const std::string script =
      "timeout -s KILL 300 \"$OURA_BINARY\" --config \"$MANIFEST\" run --dry-run --every 1s "
      "--jitter 0 >/dev/null 2>\"$DIR/err\" & pid=$!\n"
      "waitfor() { for i in $(seq 2400); do grep -q -F -e \"$1\" \"$DIR/err\" && return; "
      "kill -0 $pid 2>/dev/null || return; sleep 0.05; done; }\n"
      "waitfor 'run 1 ended with exit 78'\n"
      "echo \"requests after run 1: $(curl -s \"$FAKE/_fake/stats\" | python3 -c 'import json,sys; "
      "print(json.load(sys.stdin)[\"total\"])')\"\n"
      "cp \"$GOOD\" \"$MANIFEST\"\n"
      "waitfor 'ended with exit 0 (ok)'\n"
      "kill -TERM $pid\n"
      "wait $pid; code=$?\n"
      "cat \"$DIR/err\" >&2\n"
      "exit $code\n";
  const CommandResult r =
      oura::test::runCommand("bash", {"-c", script},
                             {{"OURA_E2E_TOKEN", fake.token()},
                              {"OURA_BINARY", envOr("OURA_BINARY", "oura-collector")},
                              {"MANIFEST", path},
                              {"GOOD", good},
                              {"DIR", dir},
                              {"FAKE", fake.baseUrl()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("requests after run 1: 0"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("manifest.toml:1:1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("run 1 ended with exit 78 (config)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(": fix the configuration (`oura-collector check-config`); next run at "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("ended with exit 0 (ok)"), std::string::npos) << r.err;
}

TEST(RunEvery, BadDurationsAndBackfillOptionsAreUsageErrors) {
  FakeOura fake;
  const std::string dir = oura::test::makeTempDir();
  const std::string path = oura::test::writeFile(dir, "manifest.toml", manifest(fake));
  const std::string binary = envOr("OURA_BINARY", "oura-collector");
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--every", "soon"},
                                               {"--every", "0"},
                                               {"--every", "5x"},
                                               {"--jitter", "-1m"},
                                               {"--since", "2024-01-01"},
                                               {"--days", "3"},
                                               {"extra"}}) {
    std::vector<std::string> argv = {"--config", path, "run"};
    argv.insert(argv.end(), args.begin(), args.end());
    const CommandResult r = oura::test::runCommand(binary, argv);
    EXPECT_EQ(r.exit_code, 64) << args[0] << ": " << r.err;
  }
}

}  // namespace
