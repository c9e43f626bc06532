// The shared rate limiter in a whole backfill: the built oura-collector against the fake Oura
// server (dry run to stdout), the budget lowered to 200 requests per 10 s, four collections in
// parallel. The fake emulates the same limit (answering 429 beyond it) and counts, by arrival,
// the most requests in any window: neither may show the client over its budget.
#include "fake_oura.hpp"
#include "test_support.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

using oura::test::CommandResult;
using oura::test::FakeOura;

namespace {

// The fake judges by the instant a request arrives; the client counts a request from its start
// until a window after its end, so the fake's windows are exactly the client's (a limiter that
// counted starts alone showed 204 here: a request started just before a window slid arrived
// just inside the next).
constexpr const char* kFakeWindow = "10";

std::string manifest(const FakeOura& fake) {
  return "[collector]\naccount = \"e2e\"\nplugin_dirs = [\"" +
         oura::test::envOr("OURA_PLUGIN_DIR", "") + "\"]\n[api]\nbase_url = \"" + fake.baseUrl() +
         "\"\n[rate_limit]\nrequests = 200\nwindow = 10\nconcurrency = 4\n"
         "[retry]\nbase_delay = 0.01\nmax_delay = 0.05\n"
         "[token_store]\nplugin = \"env\"\n[token_store.config]\nvariable = \"OURA_E2E_TOKEN\"\n"
         "[[endpoints]]\nplugin = \"daily\"\n[[endpoints]]\nplugin = \"sleep\"\n"
         "[[sinks]]\nplugin = \"stdout\"\n";
}

CommandResult scrape(const FakeOura& fake, const std::vector<std::string>& args) {
  const std::string dir = oura::test::makeTempDir();
  const std::string path = oura::test::writeFile(dir, "manifest.toml", manifest(fake));
  std::vector<std::string> argv = {"--config", path, "scrape", "--summary"};
  argv.insert(argv.end(), args.begin(), args.end());
  return oura::test::runCommand(oura::test::envOr("OURA_BINARY", "oura-collector"), argv,
                                {{"OURA_E2E_TOKEN", fake.token()}});
}

TEST(RateLimitedBackfill, NoWindowOfTheBudgetsLengthHoldsMoreThanTheBudgetAndNo429IsProvoked) {
  // 4 documents a page: a year of four daily collections is about 370 requests, nearly two
  // budgets, all wanted at once by four workers.
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-12-31", "--page-size", "4",
                 "--rate-limit", std::string("200/") + kFakeWindow});
  const CommandResult run =
      scrape(fake, {"--dry-run", "--since", "2024-01-01", "--until", "2024-12-31", "--collections",
                    "daily_sleep,daily_readiness,daily_stress,sleep_time"});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  std::ostringstream window;
  window << "/_fake/stats?window=" << kFakeWindow;
  const oura::test::HttpResult answer = oura::test::httpRequest(fake.baseUrl(), window.str());
  ASSERT_EQ(answer.status, 200) << answer.body;
  const Poco::JSON::Object::Ptr stats = fake.stats();  // the default window, for the totals
  const int total = stats->getValue<int>("total");
  EXPECT_GT(total, 300) << "the backfill must need more than one budget to prove anything";
  EXPECT_EQ(stats->getValue<int>("rate_limited"), 0) << "the client went over the fake's limit";
  EXPECT_EQ(stats->getValue<int>("served_429"), 0);

  Poco::JSON::Parser parser;
  const Poco::JSON::Object::Ptr windowed =
      parser.parse(answer.body).extract<Poco::JSON::Object::Ptr>();
  const int most = windowed->getValue<int>("max_in_window");
  EXPECT_LE(most, 200) << "requests in the fullest " << kFakeWindow << "-s window";
  // The limiter did not merely crawl: the fullest window is at the budget, not far below.
  EXPECT_GE(most, 150);
  EXPECT_NE(run.err.find("exit 0"), std::string::npos) << run.err;
}

}  // namespace
