// The core's HTTP layer (ApiClient, forEachDocument) against the fake Oura server and, for
// keep-alive drops, a Poco HTTPServer started by the test. Servers only on 127.0.0.1.
#include <Poco/File.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <oura_sdk/errors.hpp>
#include <oura_sdk/http.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fake_oura.hpp"
#include "http/api_client.hpp"
#include "test_ca.hpp"
#include "test_support.hpp"

namespace oura::core {
namespace {

using oura::test::FakeOura;
using std::chrono::milliseconds;

const std::string kDailySleep = "/v2/usercollection/daily_sleep";

// A token provider for tests: a fixed token, optionally one refresh to another.
class TestTokens : public TokenProvider {
 public:
  explicit TestTokens(std::string token, std::string refreshed = "")
      : token_(std::move(token)), refreshed_(std::move(refreshed)) {}
  std::string accessToken() override {
    if (token_.empty()) throw sdk::LoginNeededError("no access token (test)");
    return token_;
  }
  bool refreshAfterUnauthorized(const std::string& rejected) override {
    ++refresh_calls;
    rejected_ = rejected;
    if (refreshed_.empty()) return false;
    token_ = refreshed_;
    return true;
  }
  int refresh_calls = 0;
  std::string rejected_;

 private:
  std::string token_;
  std::string refreshed_;
};

RetrySettings quickRetries(int max_attempts = 5) {
  RetrySettings s;
  s.max_attempts = max_attempts;
  s.base_delay = milliseconds(10);
  s.max_delay = milliseconds(50);
  s.max_total = milliseconds(10000);
  return s;
}

HttpSettings settingsFor(const std::string& base_url) {
  HttpSettings s;
  s.base_url = base_url;
  s.connect_timeout = std::chrono::seconds(5);
  s.read_timeout = std::chrono::seconds(10);
  s.user_agent = "oura-collector-test";
  return s;
}

std::string condensed(const Poco::Dynamic::Var& value) {
  std::ostringstream out;
  Poco::JSON::Stringifier::condense(value, out);
  return out.str();
}

// One client with its own limiter and policy.
struct Harness {
  explicit Harness(const std::string& base_url, const std::string& token,
                   RetrySettings retry = quickRetries(), std::string refreshed = "")
      : limiter({1000, milliseconds(1000), 2}),
        policy(retry, 99),
        tokens(token, std::move(refreshed)),
        client(settingsFor(base_url), limiter, policy, tokens) {}
  RateLimiter limiter;
  RetryPolicy policy;
  TestTokens tokens;
  ApiClient client;
};

QueryParams days(const std::string& start, const std::string& end) {
  return {{"start_date", start}, {"end_date", end}};
}

std::vector<std::string> walk(ApiClient& client, const QueryParams& query, RequestStats& stats) {
  std::vector<std::string> docs;
  forEachDocument(client, kDailySleep, query, stats, [&](oura::core::PageDocument& document) {
    const Poco::JSON::Object::Ptr& doc = document.object;
    ASSERT_TRUE(doc);
    docs.push_back(condensed(doc));
  });
  return docs;
}

int totalRequests(FakeOura& fake) { return fake.stats()->getValue<int>("total"); }

// ------------------------------------------------------------------------------------------
// URL building and configuration
// ------------------------------------------------------------------------------------------

TEST(HttpClientTest, BuildUriPercentEncodesValues) {
  EXPECT_EQ(ApiClient::buildUri(
                "/v2/usercollection/heartrate",
                {{"start_datetime", "2024-01-01T00:00:00+01:00"}, {"next_token", "a/b=c&d?e#f"}}),
            "/v2/usercollection/heartrate?start_datetime=2024-01-01T00%3A00%3A00%2B01%3A00"
            "&next_token=a%2Fb%3Dc%26d%3Fe%23f");
  EXPECT_EQ(ApiClient::buildUri("/v2/usercollection/personal_info", {}),
            "/v2/usercollection/personal_info");
  EXPECT_EQ(ApiClient::buildUri("/p", {{"q", "a b"}}), "/p?q=a%20b");
}

TEST(HttpClientTest, RefusesPlainHttpToANonLoopbackHost) {
  RateLimiter limiter({10, milliseconds(1000), 1});
  RetryPolicy policy(quickRetries(), 1);
  TestTokens tokens("t");
  for (const char* url :
       {"http://api.ouraring.com", "http://10.0.0.1:8080", "http://192.168.1.2",
        "http://localhost.example.com", "ftp://127.0.0.1", "not a url", "http://"}) {
    EXPECT_THROW(ApiClient(settingsFor(url), limiter, policy, tokens), sdk::ConfigError) << url;
  }
  for (const char* url : {"http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1",
                          "https://api.ouraring.com", "https://127.0.0.1:1/prefix/"}) {
    EXPECT_NO_THROW(ApiClient(settingsFor(url), limiter, policy, tokens)) << url;
  }
}

TEST(HttpClientTest, MissingTokenIsLoginNeededWithoutARequest) {
  FakeOura fake;
  Harness h(fake.baseUrl(), "");
  RequestStats stats;
  EXPECT_THROW(h.client.get(kDailySleep, days("2024-01-01", "2024-01-02"), stats),
               sdk::LoginNeededError);
  EXPECT_EQ(stats.requests, 0u);
  EXPECT_EQ(totalRequests(fake), 0);
}

// ------------------------------------------------------------------------------------------
// Pagination
// ------------------------------------------------------------------------------------------

TEST(HttpClientTest, WalksEveryPageIncludingAShortMiddlePage) {
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-03-31"});
  fake.post("/_fake/config", R"({"page_sizes":{"daily_sleep":[3,1,3]}})");
  Harness h(fake.baseUrl(), fake.token());
  RequestStats stats;
  const std::vector<std::string> docs = walk(h.client, days("2024-01-01", "2024-01-20"), stats);

  const Poco::JSON::Array::Ptr expected = fake.documents("daily_sleep", "2024-01-01", "2024-01-20");
  ASSERT_EQ(expected->size(), 20u);
  ASSERT_EQ(docs.size(), expected->size());
  for (std::size_t i = 0; i < docs.size(); ++i) {
    EXPECT_EQ(docs[i], condensed(expected->get(static_cast<unsigned>(i)))) << "document " << i;
  }
  // 3+1+3 +3+1+3 +3+1+3 >= 20: nine pages, the second one short (1 document).
  EXPECT_EQ(stats.pages, 9u);
  EXPECT_EQ(stats.requests, 9u);
  EXPECT_EQ(stats.retries, 0u);
  EXPECT_EQ(totalRequests(fake), 9);
}

TEST(HttpClientTest, LargeGzippedPageIsDecoded) {
  FakeOura fake({"--first-day", "2024-01-01", "--last-day", "2024-12-31", "--page-size", "500"});
  // The fake gzips bodies over 250 bytes when asked: check it does, so the walk below
  // really exercises decompression.
  const auto raw = oura::test::httpRequest(
      fake.baseUrl(), kDailySleep + "?start_date=2024-01-01&end_date=2024-12-31",
      {{"Authorization", "Bearer " + fake.token()}, {"Accept-Encoding", "gzip"}});
  ASSERT_EQ(raw.status, 200);
  ASSERT_EQ(raw.headers.count("content-encoding"), 1u);
  EXPECT_EQ(raw.headers.at("content-encoding"), "gzip");

  Harness h(fake.baseUrl(), fake.token());
  RequestStats stats;
  const std::vector<std::string> docs = walk(h.client, days("2024-01-01", "2024-12-31"), stats);
  EXPECT_EQ(docs.size(), fake.documents("daily_sleep", "2024-01-01", "2024-12-31")->size());
  EXPECT_EQ(stats.pages, 1u);
}

TEST(HttpClientTest, QueryValuesArriveDecoded) {
  FakeOura fake;
  Harness h(fake.baseUrl(), fake.token());
  RequestStats stats;
  // A date-time with '+': unencoded, the server would read a space.
  const HttpResponse response = h.client.get(
      kDailySleep, {{"start_date", "2024-01-01T00:00:00+01:00"}, {"end_date", "2024-01-03"}},
      stats);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.url.find(fake.token()), std::string::npos);
  const auto log = fake.stats()->getArray("log");
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ(log->getObject(0)->getObject("query")->getValue<std::string>("start_date"),
            "2024-01-01T00:00:00+01:00");
}

TEST(HttpClientTest, RepeatedNextTokenIsAnError) {
  FakeOura fake({"--page-size", "3"});
  fake.post("/_fake/faults", R"({"collection":"daily_sleep","kind":"repeat_token","count":1})");
  Harness h(fake.baseUrl(), fake.token());
  RequestStats stats;
  try {
    walk(h.client, days("2024-01-01", "2024-01-20"), stats);
    FAIL() << "a repeated next_token was accepted";
  } catch (const sdk::HttpError& e) {
    EXPECT_NE(std::string(e.what()).find("repeated"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(kDailySleep), std::string::npos) << e.what();
    EXPECT_NE(e.url().find(kDailySleep), std::string::npos);
  }
  EXPECT_EQ(stats.pages, 2u);
}

TEST(HttpClientTest, NotJsonPageIsRetriedAsATransportError) {
  FakeOura fake;
  fake.post("/_fake/faults", R"({"collection":"daily_sleep","kind":"not_json","count":2})");
  Harness h(fake.baseUrl(), fake.token());
  RequestStats stats;
  const std::vector<std::string> docs = walk(h.client, days("2024-01-01", "2024-01-05"), stats);
  EXPECT_EQ(docs.size(), 5u);
  EXPECT_EQ(stats.requests, 3u);
  EXPECT_EQ(stats.retries, 2u);
  EXPECT_EQ(stats.pages, 1u);
  EXPECT_EQ(totalRequests(fake), 3);
}

TEST(HttpClientTest, NotJsonPageOnEveryAttemptIsAnErrorNamingTheUrl) {
  FakeOura fake;
  fake.post("/_fake/faults", R"({"collection":"daily_sleep","kind":"not_json","count":50})");
  Harness h(fake.baseUrl(), fake.token(), quickRetries(4));
  RequestStats stats;
  try {
    walk(h.client, days("2024-01-01", "2024-01-05"), stats);
    FAIL() << "a page that is not JSON was accepted";
  } catch (const sdk::HttpError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(kDailySleep + "?start_date=2024-01-01&end_date=2024-01-05"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("not JSON"), std::string::npos) << what;
    EXPECT_NE(what.find("gave up after 4 attempts"), std::string::npos) << what;
    EXPECT_NE(what.find("upstream hiccup"), std::string::npos) << "an excerpt of the body: " << what;
    EXPECT_EQ(e.status(), 200);
  }
  EXPECT_EQ(totalRequests(fake), 4);  // max_attempts, no more
  EXPECT_EQ(stats.retries, 3u);
}

TEST(HttpClientTest, PageWithoutDataIsAnError) {
  FakeOura fake;
  fake.post("/_fake/faults", R"({"collection":"daily_sleep","kind":"no_data","count":1})");
  Harness h(fake.baseUrl(), fake.token());
  RequestStats stats;
  try {
    walk(h.client, days("2024-01-01", "2024-01-05"), stats);
    FAIL() << "a page without data was accepted";
  } catch (const sdk::HttpError& e) {
    EXPECT_NE(std::string(e.what()).find("data"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(kDailySleep), std::string::npos) << e.what();
  }
  EXPECT_EQ(totalRequests(fake), 1);
}

TEST(HttpClientTest, PageCapStopsAnEndlessWalk) {
  FakeOura fake({"--page-size", "1"});
  Harness h(fake.baseUrl(), fake.token());
  RequestStats stats;
  EXPECT_THROW(forEachDocument(
                   h.client, kDailySleep, days("2024-01-01", "2024-01-10"), stats,
                   [](oura::core::PageDocument&) {}, 3),
               sdk::HttpError);
  EXPECT_EQ(stats.pages, 3u);
}

// ------------------------------------------------------------------------------------------
// Retry policy in action
// ------------------------------------------------------------------------------------------

TEST(HttpClientTest, RetriesA503ThenSucceeds) {
  FakeOura fake;
  fake.post("/_fake/faults", R"({"collection":"daily_sleep","kind":503,"count":1})");
  Harness h(fake.baseUrl(), fake.token());
  RequestStats stats;
  const std::vector<std::string> docs = walk(h.client, days("2024-01-01", "2024-01-05"), stats);
  EXPECT_EQ(docs.size(), 5u);
  EXPECT_EQ(totalRequests(fake), 2);
  EXPECT_EQ(stats.requests, 2u);
  EXPECT_EQ(stats.retries, 1u);
  EXPECT_EQ(stats.pages, 1u);
}

TEST(HttpClientTest, GivesUpAfterMaxAttempts) {
  FakeOura fake;
  fake.post("/_fake/faults", R"({"collection":"daily_sleep","kind":500,"count":50})");
  Harness h(fake.baseUrl(), fake.token(), quickRetries(3));
  RequestStats stats;
  try {
    h.client.get(kDailySleep, days("2024-01-01", "2024-01-05"), stats);
    FAIL() << "no error after persistent 500s";
  } catch (const sdk::HttpError& e) {
    EXPECT_EQ(e.status(), 500);
    const std::string what = e.what();
    EXPECT_NE(what.find("GET " + kDailySleep), std::string::npos) << what;
    EXPECT_NE(what.find("500"), std::string::npos) << what;
    EXPECT_NE(what.find("3 attempts"), std::string::npos) << what;
  }
  EXPECT_EQ(totalRequests(fake), 3);
  EXPECT_EQ(stats.requests, 3u);
  EXPECT_EQ(stats.retries, 2u);
}

TEST(HttpClientTest, NoRetryOn404) {
  FakeOura fake;
  Harness h(fake.baseUrl(), fake.token());
  RequestStats stats;
  try {
    h.client.get("/v2/usercollection/no_such_collection", {}, stats);
    FAIL() << "404 did not throw";
  } catch (const sdk::HttpError& e) {
    EXPECT_EQ(e.status(), 404);
    EXPECT_NE(std::string(e.what()).find("Not Found"), std::string::npos) << e.what();
  }
  EXPECT_EQ(totalRequests(fake), 1);
  EXPECT_EQ(stats.requests, 1u);
  EXPECT_EQ(stats.retries, 0u);
}

TEST(HttpClientTest, NoRetryOnClientErrors) {
  for (int status : {400, 403, 404, 422, 426}) {
    FakeOura fake;
    fake.post("/_fake/faults",
              R"({"collection":"daily_sleep","kind":)" + std::to_string(status) + R"(,"count":3})");
    Harness h(fake.baseUrl(), fake.token());
    RequestStats stats;
    try {
      h.client.get(kDailySleep, days("2024-01-01", "2024-01-02"), stats);
      ADD_FAILURE() << status << " did not throw";
    } catch (const sdk::HttpError& e) {
      EXPECT_EQ(e.status(), status);
    }
    EXPECT_EQ(totalRequests(fake), 1) << status;
  }
}

TEST(HttpClientTest, TruncatedBodyIsRetried) {
  FakeOura fake({"--page-size", "50"});
  fake.post("/_fake/faults", R"({"collection":"daily_sleep","kind":"truncated","count":1})");
  Harness h(fake.baseUrl(), fake.token());
  RequestStats stats;
  const std::vector<std::string> docs = walk(h.client, days("2024-01-01", "2024-01-30"), stats);
  EXPECT_EQ(docs.size(), 30u);
  EXPECT_EQ(totalRequests(fake), 2);
  EXPECT_EQ(stats.retries, 1u);
}

TEST(HttpClientTest, PersistentlyTruncatedBodyIsATransportError) {
  FakeOura fake({"--page-size", "50"});
  fake.post("/_fake/faults", R"({"collection":"daily_sleep","kind":"truncated","count":50})");
  Harness h(fake.baseUrl(), fake.token(), quickRetries(2));
  RequestStats stats;
  try {
    h.client.get(kDailySleep, days("2024-01-01", "2024-01-30"), stats);
    FAIL() << "a truncated body was accepted";
  } catch (const sdk::HttpError& e) {
    EXPECT_EQ(e.status(), 0);
    EXPECT_NE(std::string(e.what()).find("cut short"), std::string::npos) << e.what();
  }
  EXPECT_EQ(totalRequests(fake), 2);
}

TEST(HttpClientTest, ReadTimeoutIsARetriedTransportError) {
  FakeOura fake({"--latency-ms", "1500"});
  RateLimiter limiter({100, milliseconds(1000), 1});
  RetryPolicy policy(quickRetries(2), 1);
  TestTokens tokens(fake.token());
  HttpSettings settings = settingsFor(fake.baseUrl());
  settings.read_timeout = std::chrono::seconds(1);
  ApiClient client(settings, limiter, policy, tokens);
  RequestStats stats;
  try {
    client.get(kDailySleep, days("2024-01-01", "2024-01-02"), stats);
    FAIL() << "a response slower than the read timeout was waited for";
  } catch (const sdk::HttpError& e) {
    EXPECT_EQ(e.status(), 0);
    EXPECT_NE(std::string(e.what()).find("imeout"), std::string::npos) << e.what();
  }
  EXPECT_EQ(stats.requests, 2u);
  EXPECT_EQ(stats.retries, 1u);
}

TEST(HttpClientTest, Honours429RetryAfter) {
  FakeOura fake;
  fake.post("/_fake/faults",
            R"({"collection":"daily_sleep","kind":429,"count":1,"retry_after":"1"})");
  Harness h(fake.baseUrl(), fake.token());
  RequestStats stats;
  const auto begin = std::chrono::steady_clock::now();
  const HttpResponse response = h.client.get(kDailySleep, days("2024-01-01", "2024-01-02"), stats);
  const auto elapsed = std::chrono::steady_clock::now() - begin;
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(totalRequests(fake), 2);
  EXPECT_EQ(stats.retries, 1u);
  // The second attempt waited for Retry-After (1 s), far above the 10-50 ms backoff.
  EXPECT_GE(elapsed, milliseconds(950));
}

// X-RateLimit-* headers (the fake's --rate-limit-headers): Limit tightens the shared budget
// below the configured one, so the fake's own limit (which answers 429 beyond it) is never hit.
TEST(HttpClientTest, XRateLimitLimitTightensTheBudgetSoTheServerNeverSays429) {
  // The fake's window is a little shorter than the client's: the fake judges by arrival, and a
  // first request slowed by its new connection must not make the next second look crowded.
  FakeOura fake({"--rate-limit", "4/0.9", "--rate-limit-headers"});
  RateLimiter limiter({100, milliseconds(1000), 1});
  RetryPolicy policy(quickRetries(), 5);
  TestTokens tokens(fake.token());
  ApiClient client(settingsFor(fake.baseUrl()), limiter, policy, tokens);
  RequestStats stats;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(client.get(kDailySleep, days("2024-01-01", "2024-01-02"), stats).status, 200);
  }
  EXPECT_EQ(limiter.settings().requests, 4) << "tightened from 100 to the server's Limit";
  EXPECT_EQ(limiter.settings().window, milliseconds(1000));
  const Poco::JSON::Object::Ptr s = fake.stats();
  EXPECT_EQ(s->getValue<int>("rate_limited"), 0) << "the client provoked a 429";
  EXPECT_EQ(s->getValue<int>("total"), 10);
  EXPECT_EQ(stats.retries, 0u);
}

// X-RateLimit-Remaining 0 with a Reset pauses every request until the reset, so the request
// after the last allowed one is not answered 429 either (here the budget is not tightened:
// the client's window is shorter than the server's, only Remaining/Reset protect it).
TEST(HttpClientTest, XRateLimitRemainingZeroPausesUntilTheReset) {
  FakeOura fake({"--rate-limit", "3/2", "--rate-limit-headers"});
  RateLimiter limiter({100, milliseconds(100), 1});
  RetrySettings retry = quickRetries();
  retry.max_delay = milliseconds(5000);  // the cap of a pause for a Reset
  RetryPolicy policy(retry, 5);
  TestTokens tokens(fake.token());
  ApiClient client(settingsFor(fake.baseUrl()), limiter, policy, tokens);
  RequestStats stats;
  std::vector<RateLimiter::Clock::time_point> starts;
  limiter.setStartObserver([&](RateLimiter::Clock::time_point at) { starts.push_back(at); });
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(client.get(kDailySleep, days("2024-01-01", "2024-01-02"), stats).status, 200);
  }
  EXPECT_EQ(fake.stats()->getValue<int>("rate_limited"), 0) << "the client provoked a 429";
  EXPECT_EQ(stats.retries, 0u);
  ASSERT_EQ(starts.size(), 5u);
  // The third answer said Remaining 0, Reset 2 (whole seconds): the fourth waited for it.
  EXPECT_GE(starts[3] - starts[2], milliseconds(1000));
}

// Issue 10: a server whose budget is 5 requests per second says so only when it answers 429
// (X-RateLimit-Limit with X-RateLimit-Window, or with X-RateLimit-Reset alone). The client learns
// that budget and keeps to it, instead of holding 5 requests per its own window of a minute
// (which made a 10-second job take minutes).
void learnsTheServersBudgetFrom429(const std::string& mode) {
  FakeOura fake({"--rate-limit", "5/1", "--rate-limit-429-headers", mode});
  RateLimiter limiter({1000, milliseconds(60000), 1});
  RetrySettings retry = quickRetries();
  retry.max_delay = milliseconds(2000);  // the 429's Retry-After (1 s) is waited out in full
  RetryPolicy policy(retry, 5);
  TestTokens tokens(fake.token());
  ApiClient client(settingsFor(fake.baseUrl()), limiter, policy, tokens);
  RequestStats stats;
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(client.get(kDailySleep, days("2024-01-01", "2024-01-02"), stats).status, 200);
  }
  const auto learned = limiter.serverBudget();
  ASSERT_TRUE(learned.has_value()) << "the 429 taught nothing";
  EXPECT_EQ(learned->requests, 5);
  EXPECT_EQ(learned->window, milliseconds(1000));
  EXPECT_EQ(limiter.settings().requests, 1000) << "not 5 per the client's own minute";
  EXPECT_EQ(limiter.settings().window, milliseconds(60000));
  EXPECT_LE(fake.stats()->getValue<int>("rate_limited"), 2) << "one 429 teaches the budget";
}

TEST(HttpClientTest, A429WithXRateLimitWindowTeachesTheServersBudget) {
  learnsTheServersBudgetFrom429("window");
}

TEST(HttpClientTest, A429WithXRateLimitResetTeachesTheServersWindow) {
  learnsTheServersBudgetFrom429("reset");
}

TEST(HttpClientTest, Unauthorized401WithoutRefreshIsFinal) {
  FakeOura fake;
  Harness h(fake.baseUrl(), "expired-token-value");
  RequestStats stats;
  try {
    h.client.get(kDailySleep, days("2024-01-01", "2024-01-02"), stats);
    FAIL() << "401 did not throw";
  } catch (const sdk::HttpError& e) {
    EXPECT_EQ(e.status(), 401);
    EXPECT_EQ(std::string(e.what()).find("expired-token-value"), std::string::npos) << e.what();
  }
  EXPECT_EQ(h.tokens.refresh_calls, 1);
  EXPECT_EQ(h.tokens.rejected_, "expired-token-value");
  EXPECT_EQ(totalRequests(fake), 1);
}

TEST(HttpClientTest, Unauthorized401WithRefreshRetriesOnce) {
  FakeOura fake;
  Harness h(fake.baseUrl(), "expired-token-value", quickRetries(), fake.token());
  RequestStats stats;
  const HttpResponse response = h.client.get(kDailySleep, days("2024-01-01", "2024-01-02"), stats);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(h.tokens.refresh_calls, 1);
  EXPECT_EQ(totalRequests(fake), 2);
  EXPECT_EQ(stats.retries, 1u);
}

TEST(HttpClientTest, Unauthorized401AfterRefreshIsFinal) {
  FakeOura fake;
  Harness h(fake.baseUrl(), "expired-token-value", quickRetries(), "also-wrong-token");
  RequestStats stats;
  EXPECT_THROW(h.client.get(kDailySleep, days("2024-01-01", "2024-01-02"), stats), sdk::HttpError);
  EXPECT_EQ(h.tokens.refresh_calls, 1);
  EXPECT_EQ(totalRequests(fake), 2);
}

TEST(HttpClientTest, BearerTokenNeverAppearsInErrors) {
  const std::string secret = "s3cret-bearer-Token-4711";
  FakeOura fake({"--token", secret});
  // A server that echoes the token in its error body: the excerpt must not carry it.
  fake.post("/_fake/faults",
            R"({"collection":"daily_sleep","kind":500,"count":50,"body":"bad token )" + secret +
                R"( here"})");
  fake.post("/_fake/faults",
            R"({"collection":"daily_readiness","kind":403,"count":1,"body":")" + secret + R"("})");
  Harness h(fake.baseUrl(), secret, quickRetries(2));
  RequestStats stats;
  for (const std::string& path : {kDailySleep, std::string("/v2/usercollection/daily_readiness")}) {
    try {
      h.client.get(path, days("2024-01-01", "2024-01-02"), stats);
      ADD_FAILURE() << path << " did not throw";
    } catch (const sdk::HttpError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.find(secret), std::string::npos) << what;
      EXPECT_EQ(e.url().find(secret), std::string::npos) << e.url();
      EXPECT_NE(what.find("GET " + path), std::string::npos) << what;
    }
  }
}

// ------------------------------------------------------------------------------------------
// Keep-alive: a connection the server dropped while idle is reopened and the GET repeated.
// ------------------------------------------------------------------------------------------

class JsonHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit JsonHandler(std::atomic<int>& count) : count_(count) {}
  void handleRequest(Poco::Net::HTTPServerRequest&,
                     Poco::Net::HTTPServerResponse& response) override {
    ++count_;
    const std::string body = R"({"data":[{"day":"2024-01-01"}],"next_token":null})";
    response.setContentType("application/json");
    response.setKeepAlive(true);
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.send() << body;
  }

 private:
  std::atomic<int>& count_;
};

class JsonFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit JsonFactory(std::atomic<int>& count) : count_(count) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new JsonHandler(count_);
  }

 private:
  std::atomic<int>& count_;
};

TEST(HttpClientTest, DroppedKeepAliveConnectionIsReopened) {
  std::atomic<int> served{0};
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(0, 100 * 1000));  // the server drops idle ones fast
  Poco::Net::HTTPServer server(new JsonFactory(served), socket, params);
  server.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(socket.address().port());

  Harness h(base, "token");
  RequestStats stats;
  EXPECT_EQ(h.client.get("/v2/usercollection/x", {}, stats).status, 200);
  EXPECT_EQ(h.client.get("/v2/usercollection/x", {}, stats).status, 200);  // reused at once
  std::this_thread::sleep_for(milliseconds(400));  // the server closes the idle connection
  EXPECT_EQ(h.client.get("/v2/usercollection/x", {}, stats).status, 200);
  server.stop();

  EXPECT_EQ(served.load(), 3);
  // The request on the dead connection counts as a request and a retry.
  EXPECT_EQ(stats.requests, 4u);
  EXPECT_EQ(stats.retries, 1u);
}

// ------------------------------------------------------------------------------------------
// TLS: strict verification against a configured CA file; the system CAs reject a self-signed
// certificate; the host name is checked even on loopback. Certificates come from the openssl
// command line tool into a temporary folder.
// ------------------------------------------------------------------------------------------

struct TlsServer {
  TlsServer(const std::string& dir, const std::string& name, const std::string& san)
      : made(oura::test::makeTestCertificate(dir, name, san)), cert(made.cert), key(made.key) {
    Poco::Net::Context::Ptr context = new Poco::Net::Context(
        Poco::Net::Context::TLS_SERVER_USE, key, cert, "", Poco::Net::Context::VERIFY_NONE);
    Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0), 64, context);
    port = socket.address().port();
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    server = std::make_unique<Poco::Net::HTTPServer>(new JsonFactory(served), socket, params);
    server->start();
  }
  ~TlsServer() { server->stop(); }
  std::string baseUrl() const { return "https://127.0.0.1:" + std::to_string(port); }

  oura::test::TestCertificate made;
  std::string cert;
  std::string key;
  std::atomic<int> served{0};
  Poco::UInt16 port = 0;
  std::unique_ptr<Poco::Net::HTTPServer> server;
};

class HttpClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // .ci/install-deps installs the openssl package: without it these tests fail, never skip.
    ASSERT_EQ(oura::test::runCommand("openssl", {"version"}).exit_code, 0)
        << "the openssl command line tool is missing (Debian package openssl)";
    dir_ = oura::test::makeTempDir();
  }
  void TearDown() override {
    if (!dir_.empty()) Poco::File(dir_).remove(true);
  }
  std::string dir_;
};

TEST_F(HttpClientTlsTest, TrustsTheConfiguredCaFile) {
  TlsServer tls(dir_, "loopback", "IP:127.0.0.1");
  RateLimiter limiter({100, milliseconds(1000), 1});
  RetryPolicy policy(quickRetries(), 1);
  TestTokens tokens("token");
  HttpSettings settings = settingsFor(tls.baseUrl());
  settings.ca_file = tls.cert;
  ApiClient client(settings, limiter, policy, tokens);
  RequestStats stats;
  EXPECT_EQ(client.get("/v2/usercollection/x", {}, stats).status, 200);
  EXPECT_EQ(client.get("/v2/usercollection/x", {}, stats).status, 200);
  EXPECT_EQ(tls.served.load(), 2);
}

TEST_F(HttpClientTlsTest, SystemCasRejectASelfSignedCertificateWithoutRetrying) {
  TlsServer tls(dir_, "loopback", "IP:127.0.0.1");
  RateLimiter limiter({100, milliseconds(1000), 1});
  RetryPolicy policy(quickRetries(), 1);
  TestTokens tokens("token");
  ApiClient client(settingsFor(tls.baseUrl()), limiter, policy, tokens);
  RequestStats stats;
  try {
    client.get("/v2/usercollection/x", {}, stats);
    FAIL() << "a self-signed certificate was accepted";
  } catch (const sdk::HttpError& e) {
    EXPECT_EQ(e.status(), 0);
    EXPECT_NE(std::string(e.what()).find("certificate"), std::string::npos) << e.what();
  }
  EXPECT_EQ(stats.requests, 1u);
  EXPECT_EQ(tls.served.load(), 0);
}

TEST_F(HttpClientTlsTest, HostNameIsCheckedOnLoopback) {
  TlsServer tls(dir_, "other", "DNS:other.example");
  RateLimiter limiter({100, milliseconds(1000), 1});
  RetryPolicy policy(quickRetries(), 1);
  TestTokens tokens("token");
  HttpSettings settings = settingsFor(tls.baseUrl());
  settings.ca_file = tls.cert;  // trusted, but issued for another name
  ApiClient client(settings, limiter, policy, tokens);
  RequestStats stats;
  try {
    client.get("/v2/usercollection/x", {}, stats);
    FAIL() << "a certificate for another host name was accepted";
  } catch (const sdk::HttpError& e) {
    EXPECT_EQ(e.status(), 0);
    EXPECT_NE(std::string(e.what()).find("certificate"), std::string::npos) << e.what();
  }
  EXPECT_EQ(stats.requests, 1u);  // not retried
  EXPECT_EQ(tls.served.load(), 0);
}

}  // namespace
}  // namespace oura::core
