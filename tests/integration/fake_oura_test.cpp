// Checks the fake Oura server (tests/fakes/fake_oura.py) and its C++ launcher.
#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Timespan.h>
#include <Poco/JSON/Stringifier.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fake_oura.hpp"
#include "test_support.hpp"

namespace {

using oura::test::FakeOura;
using oura::test::HttpResult;
using oura::test::httpRequest;

HttpResult apiGet(const FakeOura& fake, const std::string& path_and_query, bool with_token = true) {
  std::map<std::string, std::string> headers;
  if (with_token) headers["Authorization"] = "Bearer " + fake.token();
  return httpRequest(fake.baseUrl(), path_and_query, headers);
}

Poco::JSON::Object::Ptr parseObject(const std::string& body) {
  Poco::JSON::Parser parser;
  return parser.parse(body).extract<Poco::JSON::Object::Ptr>();
}

std::string toJson(const Poco::Dynamic::Var& value) {
  std::ostringstream out;
  Poco::JSON::Stringifier::condense(value, out);
  return out.str();
}

std::vector<std::string> days(const Poco::JSON::Array::Ptr& docs) {
  std::vector<std::string> result;
  for (std::size_t i = 0; i < docs->size(); ++i) {
    result.push_back(docs->getObject(static_cast<unsigned>(i))->getValue<std::string>("day"));
  }
  return result;
}

struct Walk {
  std::vector<std::string> docs;  // each document condensed to JSON
  std::vector<std::size_t> page_sizes;
};

// Follows next_token from the first page until it is null, as a client should.
Walk walkPages(const FakeOura& fake, const std::string& collection, const std::string& start,
               const std::string& end) {
  Walk walk;
  std::string token;
  for (int guard = 0; guard < 1000; ++guard) {
    const HttpResult page = apiGet(fake, "/v2/usercollection/" + collection + "?start_date=" + start +
                                             "&end_date=" + end + "&next_token=" + token);
    EXPECT_EQ(page.status, 200) << page.body;
    if (page.status != 200) break;
    auto envelope = parseObject(page.body);
    auto data = envelope->getArray("data");
    walk.page_sizes.push_back(data->size());
    for (std::size_t i = 0; i < data->size(); ++i) walk.docs.push_back(toJson(data->get(static_cast<unsigned>(i))));
    if (envelope->isNull("next_token")) break;
    token = envelope->getValue<std::string>("next_token");
  }
  return walk;
}

std::vector<std::string> condensed(const Poco::JSON::Array::Ptr& docs) {
  std::vector<std::string> result;
  for (std::size_t i = 0; i < docs->size(); ++i) result.push_back(toJson(docs->get(static_cast<unsigned>(i))));
  return result;
}

const std::vector<std::string> kDailyCollections = {
    "daily_activity", "daily_sleep",      "daily_readiness",          "daily_spo2",
    "daily_stress",   "daily_resilience", "daily_cardiovascular_age",
};

TEST(FakeOuraLauncher, StartsOnLoopbackAndReportsPort) {
  FakeOura fake;
  EXPECT_GT(fake.port(), 0);
  EXPECT_EQ(fake.baseUrl(), "http://127.0.0.1:" + std::to_string(fake.port()));
  EXPECT_EQ(fake.token(), "test-token");
  EXPECT_EQ(fake.stats()->getValue<int>("total"), 0);
}

TEST(FakeOuraLauncher, BadArgumentsThrowWithServerStderr) {
  try {
    FakeOura fake({"--no-such-option"});
    FAIL() << "the server started with a bad option";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("unrecognized arguments"), std::string::npos) << e.what();
  }
}

TEST(FakeOuraLauncher, CustomTokenIsReported) {
  FakeOura fake({"--token", "other"});
  EXPECT_EQ(fake.token(), "other");
  EXPECT_EQ(apiGet(fake, "/v2/usercollection/daily_sleep?start_date=2024-01-01&end_date=2024-01-02").status, 200);
}

TEST(RunCommand, CapturesStdoutStderrExitCodeAndStdin) {
  const auto result = oura::test::runCommand(
      "/bin/sh", {"-c", "cat; echo \"to-err $FOO\" >&2; exit 3"}, {{"FOO", "bar"}}, "from-stdin\n");
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.out, "from-stdin\n");
  EXPECT_EQ(result.err, "to-err bar\n");
}

TEST(RunCommand, LargeOutputOnBothPipesDoesNotDeadlock) {
  const auto result = oura::test::runCommand(
      "/bin/sh", {"-c", "head -c 300000 /dev/zero | tr '\\0' x; head -c 300000 /dev/zero | tr '\\0' y >&2"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out.size(), 300000u);
  EXPECT_EQ(result.err.size(), 300000u);
}

TEST(TempFiles, MakeTempDirAndWriteFile) {
  const std::string dir = oura::test::makeTempDir();
  const std::string path = oura::test::writeFile(dir, "a.txt", "hello");
  const auto result = oura::test::runCommand("/bin/cat", {path});
  EXPECT_EQ(result.out, "hello");
  oura::test::runCommand("/bin/rm", {"-rf", dir});
}

TEST(FakeOuraServer, DailySleepPageWithToken) {
  FakeOura fake;
  const HttpResult page = apiGet(fake, "/v2/usercollection/daily_sleep?start_date=2024-11-11&end_date=2024-11-12");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.headers.at("content-type"), "application/json");
  auto envelope = parseObject(page.body);
  ASSERT_TRUE(envelope->has("next_token"));
  EXPECT_TRUE(envelope->isNull("next_token"));
  auto data = envelope->getArray("data");
  ASSERT_TRUE(data);
  EXPECT_EQ(days(data), (std::vector<std::string>{"2024-11-11", "2024-11-12"}));
  auto doc = data->getObject(0);
  for (const char* key : {"id", "contributors", "day", "score", "timestamp"}) EXPECT_TRUE(doc->has(key)) << key;
  EXPECT_EQ(doc->getValue<std::string>("id").size(), 36u);
  EXPECT_EQ(doc->getValue<std::string>("timestamp"), "2024-11-11T00:00:00+01:00");
}

TEST(FakeOuraServer, MissingOrWrongTokenIs401) {
  FakeOura fake;
  const std::string path = "/v2/usercollection/daily_sleep?start_date=2024-11-11&end_date=2024-11-12";
  const HttpResult none = apiGet(fake, path, false);
  EXPECT_EQ(none.status, 401);
  EXPECT_TRUE(parseObject(none.body)->has("detail"));
  const HttpResult wrong = httpRequest(fake.baseUrl(), path, {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(wrong.status, 401);
}

TEST(FakeOuraServer, DailyActivityEndIsExclusiveOthersInclusive) {
  FakeOura fake;
  const std::string window = "?start_date=2024-03-01&end_date=2024-03-03";
  auto activity = parseObject(apiGet(fake, "/v2/usercollection/daily_activity" + window).body)->getArray("data");
  EXPECT_EQ(days(activity), (std::vector<std::string>{"2024-03-01", "2024-03-02"}));
  auto sleep = parseObject(apiGet(fake, "/v2/usercollection/daily_sleep" + window).body)->getArray("data");
  EXPECT_EQ(days(sleep), (std::vector<std::string>{"2024-03-01", "2024-03-02", "2024-03-03"}));

  // The activity document's shape (daily_activity__list_2024-11-11_to_2024-11-12).
  auto doc = activity->getObject(0);
  EXPECT_FALSE(doc->has("unexpected"));
  EXPECT_EQ(doc->getValue<std::string>("class_5_min").size(), 288u);
  auto met = doc->getObject("met");
  EXPECT_EQ(met->getValue<double>("interval"), 60.0);
  EXPECT_EQ(met->getArray("items")->size(), 1440u);
  EXPECT_EQ(met->getValue<std::string>("timestamp"), "2024-03-01T04:00:00.000+01:00");
  EXPECT_EQ(doc->getValue<std::string>("timestamp"), "2024-03-01T04:00:00+01:00");
}

TEST(FakeOuraServer, TimestampOffsetFollowsEuropeanDaylightSaving) {
  FakeOura fake;
  auto docs = parseObject(apiGet(fake, "/v2/usercollection/daily_activity?start_date=2024-03-30&end_date=2024-04-01")
                              .body)
                  ->getArray("data");
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ(docs->getObject(0)->getValue<std::string>("timestamp"), "2024-03-30T04:00:00+01:00");
  EXPECT_EQ(docs->getObject(1)->getValue<std::string>("timestamp"), "2024-03-31T04:00:00+02:00");
}

TEST(FakeOuraServer, CardiovascularAgeHasNoId) {
  FakeOura fake;
  auto docs = fake.documents("daily_cardiovascular_age", "2024-01-01", "2024-01-31");
  ASSERT_GT(docs->size(), 0u);
  for (std::size_t i = 0; i < docs->size(); ++i) {
    auto doc = docs->getObject(static_cast<unsigned>(i));
    EXPECT_FALSE(doc->has("id"));
    EXPECT_TRUE(doc->has("vascular_age"));
  }
}

TEST(FakeOuraServer, BadRequests) {
  FakeOura fake;
  const HttpResult reversed =
      apiGet(fake, "/v2/usercollection/daily_sleep?start_date=2024-05-01&end_date=2024-04-01");
  EXPECT_EQ(reversed.status, 400);
  EXPECT_TRUE(parseObject(reversed.body)->has("detail"));
  const HttpResult malformed = apiGet(fake, "/v2/usercollection/daily_sleep?start_date=2024-13-01&end_date=2024-12-01");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_TRUE(parseObject(malformed.body)->getArray("detail"));
  const HttpResult unknown = apiGet(fake, "/v2/usercollection/daily_nothing?start_date=2024-01-01");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(parseObject(unknown.body)->getValue<std::string>("detail"), "Not Found");
  // Integers are read as Unix seconds (session__list_empty_start_1_end_2): 200, empty.
  const HttpResult integers = apiGet(fake, "/v2/usercollection/daily_sleep?start_date=1&end_date=2");
  EXPECT_EQ(integers.status, 200);
  EXPECT_EQ(parseObject(integers.body)->getArray("data")->size(), 0u);
}

TEST(FakeOuraServer, PaginationWithShortMiddlePageWalksEveryDocument) {
  FakeOura fake;
  fake.post("/_fake/config", R"({"page_sizes": {"daily_sleep": [3, 1, 3]}})");
  const Walk walk = walkPages(fake, "daily_sleep", "2024-01-01", "2024-01-10");
  EXPECT_EQ(walk.page_sizes, (std::vector<std::size_t>{3, 1, 3, 3}));
  EXPECT_EQ(walk.docs, condensed(fake.documents("daily_sleep", "2024-01-01", "2024-01-10")));
  EXPECT_EQ(fake.stats()->getObject("per_route")->getValue<int>("/v2/usercollection/daily_sleep"), 4);
}

TEST(FakeOuraServer, DocumentsEndpointEqualsServedPages) {
  FakeOura fake({"--page-size", "40"});
  for (const auto& collection : kDailyCollections) {
    // daily_activity's end is exclusive: ask one day more to get the same inclusive range.
    const std::string end = collection == "daily_activity" ? "2024-04-01" : "2024-03-31";
    const Walk walk = walkPages(fake, collection, "2024-01-01", end);
    const auto expected = condensed(fake.documents(collection, "2024-01-01", "2024-03-31"));
    EXPECT_GT(expected.size(), 70u) << collection;
    EXPECT_EQ(walk.docs, expected) << collection;
    EXPECT_GE(walk.page_sizes.size(), 3u) << collection;
  }
}

TEST(FakeOuraServer, SameSeedSameDocuments) {
  FakeOura a;
  FakeOura b;
  FakeOura c({"--seed", "2"});
  for (const auto& collection : kDailyCollections) {
    const auto docs_a = condensed(a.documents(collection, "2024-06-01", "2024-06-10"));
    EXPECT_EQ(docs_a, condensed(b.documents(collection, "2024-06-01", "2024-06-10"))) << collection;
    EXPECT_NE(docs_a, condensed(c.documents(collection, "2024-06-01", "2024-06-10"))) << collection;
  }
}

TEST(FakeOuraServer, FaultIsServedThenNormalAnswersResume) {
  FakeOura fake;
  fake.post("/_fake/faults", R"({"collection": "daily_sleep", "kind": 503, "count": 2})");
  fake.post("/_fake/faults", R"({"collection": "daily_sleep", "kind": 429, "count": 1, "retry_after": "2"})");
  const std::string path = "/v2/usercollection/daily_sleep?start_date=2024-11-11&end_date=2024-11-12";
  // Another collection is not affected.
  EXPECT_EQ(apiGet(fake, "/v2/usercollection/daily_readiness?start_date=2024-11-11&end_date=2024-11-12").status, 200);
  EXPECT_EQ(apiGet(fake, path).status, 503);
  EXPECT_EQ(apiGet(fake, path).status, 503);
  const HttpResult limited = apiGet(fake, path);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.headers.at("retry-after"), "2");
  const HttpResult ok = apiGet(fake, path);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(parseObject(ok.body)->getArray("data")->size(), 2u);

  auto stats = fake.stats();
  EXPECT_EQ(stats->getValue<int>("total"), 5);
  auto log = stats->getArray("log");
  ASSERT_EQ(log->size(), 5u);
  std::vector<int> statuses;
  for (std::size_t i = 0; i < log->size(); ++i) statuses.push_back(log->getObject(static_cast<unsigned>(i))->getValue<int>("status"));
  EXPECT_EQ(statuses, (std::vector<int>{200, 503, 503, 429, 200}));
  EXPECT_EQ(log->getObject(1)->getObject("query")->getValue<std::string>("start_date"), "2024-11-11");

  fake.reset();
  EXPECT_EQ(fake.stats()->getValue<int>("total"), 0);
}

TEST(FakeOuraServer, CommandLineFaultAndBodyFaults) {
  FakeOura fake({"--fault", "daily_stress:500:1"});
  const std::string path = "/v2/usercollection/daily_stress?start_date=2024-11-11&end_date=2024-11-12";
  const HttpResult html = apiGet(fake, path);
  EXPECT_EQ(html.status, 500);
  EXPECT_EQ(html.headers.at("content-type"), "text/html");
  fake.post("/_fake/faults", R"({"collection": "daily_stress", "kind": "not_json", "count": 1})");
  fake.post("/_fake/faults", R"({"collection": "daily_stress", "kind": "no_data", "count": 1})");
  const HttpResult not_json = apiGet(fake, path);
  EXPECT_EQ(not_json.status, 200);
  Poco::JSON::Parser parser;
  EXPECT_ANY_THROW(parser.parse(not_json.body));
  const HttpResult no_data = apiGet(fake, path);
  EXPECT_EQ(no_data.status, 200);
  EXPECT_FALSE(parseObject(no_data.body)->has("data"));
  EXPECT_EQ(apiGet(fake, path).status, 200);
}

TEST(FakeOuraServer, RepeatTokenReturnsThePreviousToken) {
  FakeOura fake({"--page-size", "2"});
  fake.post("/_fake/faults", R"({"collection": "daily_spo2", "kind": "repeat_token", "count": 1})");
  const std::string base = "/v2/usercollection/daily_spo2?start_date=2024-01-01&end_date=2024-01-31&next_token=";
  auto first = parseObject(apiGet(fake, base).body);
  const std::string token = first->getValue<std::string>("next_token");
  auto second = parseObject(apiGet(fake, base + token).body);
  EXPECT_EQ(second->getValue<std::string>("next_token"), token);
  auto third = parseObject(apiGet(fake, base + token).body);  // fault used up: the walk moves on
  EXPECT_NE(third->getValue<std::string>("next_token"), token);
}

// The statuses of `n` requests to `path`, in order.
std::vector<int> statusesOf(const FakeOura& fake, const std::string& path, int n) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(apiGet(fake, path).status);
  return out;
}

TEST(FakeOuraFaults, ProbabilityFaultsAreSeededSoTheSameRequestsGetTheSameFaults) {
  const std::string path = "/v2/usercollection/daily_sleep?start_date=2024-11-11&end_date=2024-11-12";
  const std::string fault = R"({"collection": "daily_sleep", "kind": 503, "probability": 0.4, "seed": "s1"})";
  FakeOura a, b;
  a.post("/_fake/faults", fault);
  b.post("/_fake/faults", fault);
  const auto first = statusesOf(a, path, 30);
  EXPECT_EQ(statusesOf(b, path, 30), first) << "same seed, same requests: same faults";
  EXPECT_GT(std::count(first.begin(), first.end(), 503), 3);
  EXPECT_GT(std::count(first.begin(), first.end(), 200), 3);
  // It never wears off by itself; another seed draws otherwise; a reset disarms it.
  a.reset();
  a.post("/_fake/faults", R"({"collection": "daily_sleep", "kind": 503, "probability": 0.4, "seed": "s2"})");
  EXPECT_NE(statusesOf(a, path, 30), first);
  a.reset();
  EXPECT_EQ(statusesOf(a, path, 3), (std::vector<int>{200, 200, 200}));
  // count caps a periodic fault; probability 1 fires on every request until then.
  a.post("/_fake/faults", R"({"collection": "daily_sleep", "kind": 500, "probability": 1, "count": 2})");
  EXPECT_EQ(statusesOf(a, path, 4), (std::vector<int>{500, 500, 200, 200}));
  EXPECT_EQ(a.stats()->getValue<int>("faults_fired"), 2);
}

TEST(FakeOuraFaults, EveryNthRequestAndTheCommandLineKeyValueForm) {
  FakeOura fake({"--fault", "daily_sleep:502,every=3", "--fault", "tag:401,every=1", "--fault",
                 "workout:429,count=1,retry_after=Wed, 21 Oct 2015 07:28:00 GMT", "--fault",
                 "session:429,count=1"});
  const std::string q = "?start_date=2024-11-11&end_date=2024-11-12";
  EXPECT_EQ(statusesOf(fake, "/v2/usercollection/daily_sleep" + q, 6),
            (std::vector<int>{200, 200, 502, 200, 200, 502}));
  // 401 for one collection only, on every request.
  EXPECT_EQ(statusesOf(fake, "/v2/usercollection/tag" + q, 3), (std::vector<int>{401, 401, 401}));
  EXPECT_EQ(apiGet(fake, "/v2/usercollection/daily_readiness" + q).status, 200);
  // 429 with Retry-After as an HTTP date (its comma kept), and without Retry-After.
  const HttpResult dated = apiGet(fake, "/v2/usercollection/workout" + q);
  EXPECT_EQ(dated.status, 429);
  EXPECT_EQ(dated.headers.at("retry-after"), "Wed, 21 Oct 2015 07:28:00 GMT");
  const HttpResult bare = apiGet(fake, "/v2/usercollection/session" + q);
  EXPECT_EQ(bare.status, 429);
  EXPECT_EQ(bare.headers.count("retry-after"), 0u);
  EXPECT_EQ(apiGet(fake, "/v2/usercollection/session" + q).status, 200);
}

TEST(FakeOuraFaults, AfterLetsTheFirstRequestsPassThenTheFaultStarts) {
  FakeOura fake({"--fault", "daily_stress:503,every=1,after=2"});
  const std::string q = "?start_date=2024-11-11&end_date=2024-11-12";
  EXPECT_EQ(statusesOf(fake, "/v2/usercollection/daily_stress" + q, 4),
            (std::vector<int>{200, 200, 503, 503}));
  fake.post("/_fake/faults", R"({"collection": "tag", "kind": 500, "count": 1, "after": 1})");
  EXPECT_EQ(statusesOf(fake, "/v2/usercollection/tag" + q, 3), (std::vector<int>{200, 500, 200}));
  EXPECT_THROW(fake.post("/_fake/faults", R"({"collection": "tag", "kind": 500, "after": -1})"),
               std::runtime_error);
}

TEST(FakeOuraFaults, ResetClosesTheConnectionBeforeAnyAnswer) {
  FakeOura fake;
  fake.post("/_fake/faults", R"({"collection": "daily_sleep", "kind": "reset"})");
  const std::string path = "/v2/usercollection/daily_sleep?start_date=2024-11-11&end_date=2024-11-12";
  EXPECT_THROW(apiGet(fake, path), std::runtime_error);
  EXPECT_EQ(apiGet(fake, path).status, 200);
  auto stats = fake.stats();
  auto log = stats->getArray("log");
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ(log->getObject(0)->getValue<int>("status"), 0) << "recorded as no answer";
  EXPECT_EQ(stats->getObject("status_per_route")->getObject("/v2/usercollection/daily_sleep")->getValue<int>("0"), 1);
}

TEST(FakeOuraFaults, AGzippedBodyCanBeCutShort) {
  FakeOura fake;
  fake.post("/_fake/faults", R"({"collection": "daily_sleep", "kind": "truncated", "gzip": true})");
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(fake.port()));
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET,
                                 "/v2/usercollection/daily_sleep?start_date=2024-01-01&end_date=2024-01-20",
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  request.set("Authorization", "Bearer " + fake.token());
  request.set("Accept-Encoding", "gzip");
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::istream& body = session.receiveResponse(response);
  EXPECT_EQ(response.get("Content-Encoding"), "gzip");
  std::string received((std::istreambuf_iterator<char>(body)), std::istreambuf_iterator<char>());
  EXPECT_EQ(received.size(), static_cast<std::size_t>(response.getContentLength()) / 2)
      << "half of the compressed body";
  EXPECT_EQ(received.substr(0, 2), std::string("\x1f\x8b", 2)) << "a gzip stream";
  EXPECT_THROW(fake.post("/_fake/faults", R"({"collection": "tag", "kind": 500, "gzip": true})"),
               std::runtime_error);
}

TEST(FakeOuraFaults, ADelayOutlastsTheClientsTimeoutThenTheAnswerIsRecorded) {
  FakeOura fake;
  fake.post("/_fake/faults", R"({"collection": "daily_sleep", "kind": "delay", "delay_ms": 1500})");
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(fake.port()));
  session.setTimeout(Poco::Timespan(0, 200000));  // 0.2 s
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET,
                                 "/v2/usercollection/daily_sleep?start_date=2024-11-11&end_date=2024-11-12",
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  request.set("Authorization", "Bearer " + fake.token());
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  EXPECT_THROW(session.receiveResponse(response), Poco::TimeoutException);
  // The late answer is sent into the closed connection and recorded; the server carries on.
  for (int i = 0; i < 100 && fake.stats()->getValue<int>("total") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto log = fake.stats()->getArray("log");
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ(log->getObject(0)->getValue<int>("status"), 200);
  EXPECT_EQ(apiGet(fake, "/v2/usercollection/daily_sleep?start_date=2024-11-11&end_date=2024-11-12").status, 200);
}

TEST(FakeOuraFaults, StatsCount429sAndTheBusiestSlidingWindow) {
  FakeOura fake({"--rate-limit", "4/300"});
  fake.post("/_fake/faults", R"({"collection": "daily_sleep", "kind": 429, "count": 2, "retry_after": "1"})");
  const std::string q = "?start_date=2024-11-11&end_date=2024-11-12";
  EXPECT_EQ(statusesOf(fake, "/v2/usercollection/daily_sleep" + q, 3), (std::vector<int>{429, 429, 200}));
  EXPECT_EQ(apiGet(fake, "/v2/usercollection/heartrate").status, 200);
  // The fifth request in 300 s goes over the emulated limit: 429 with Retry-After in seconds.
  const HttpResult limited = apiGet(fake, "/v2/usercollection/heartrate");
  EXPECT_EQ(limited.status, 429);
  EXPECT_GE(std::stoi(limited.headers.at("retry-after")), 1);
  auto stats = fake.stats();
  EXPECT_EQ(stats->getValue<int>("served_429"), 3);
  EXPECT_EQ(stats->getValue<int>("rate_limited"), 1) << "the client's own excess, apart from faults";
  EXPECT_EQ(stats->getObject("per_route_429")->getValue<int>("/v2/usercollection/daily_sleep"), 2);
  EXPECT_EQ(stats->getObject("per_route_429")->getValue<int>("/v2/usercollection/heartrate"), 1);
  EXPECT_EQ(stats->getObject("status_per_route")->getObject("/v2/usercollection/daily_sleep")->getValue<int>("200"), 1);
  EXPECT_EQ(stats->getValue<double>("window_seconds"), 300.0);
  EXPECT_EQ(stats->getValue<int>("max_in_window"), 5) << "all five within 300 s";
  EXPECT_EQ(stats->getObject("max_in_window_per_route")->getValue<int>("/v2/usercollection/heartrate"), 2);
  // Another window: sequential requests never share an instant, so a microsecond holds one.
  auto narrow = parseObject(httpRequest(fake.baseUrl(), "/_fake/stats?window=0.000001").body);
  EXPECT_EQ(narrow->getValue<int>("max_in_window"), 1);
  // The limit can be lifted at run time.
  fake.post("/_fake/config", R"({"rate_limit": null})");
  EXPECT_EQ(apiGet(fake, "/v2/usercollection/heartrate").status, 200);
}

TEST(FakeOuraFaults, BadFaultsAreRefused) {
  FakeOura fake;
  for (const char* bad : {R"({"collection": "daily_sleep", "kind": 503, "probability": 0})",
                          R"({"collection": "daily_sleep", "kind": 503, "probability": 1.5})",
                          R"({"collection": "daily_sleep", "kind": 503, "every": 0})",
                          R"({"collection": "daily_sleep", "kind": 503, "every": 2, "probability": 0.5})",
                          R"({"collection": "daily_sleep", "kind": 503, "colour": "red"})",
                          R"({"collection": "daily_sleep", "kind": "delay", "delay_ms": -1})",
                          R"({"collection": "daily_sleep", "kind": "explode"})"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(fake.post("/_fake/faults", bad), std::runtime_error);
  }
  EXPECT_THROW(FakeOura({"--fault", "daily_sleep:503,every=x"}), std::runtime_error);
  EXPECT_THROW(FakeOura({"--rate-limit", "lots"}), std::runtime_error);
}

// ------------------------------------------------------------------------------------------
// The collections beyond daily_*: sleep, sleep_time, workout, session, tag, enhanced_tag,
// vO2_max, rest_mode_period, heartrate, ring_battery_level, personal_info, ring_configuration.
// ------------------------------------------------------------------------------------------

// "YYYY-MM-DD" plus `n` days.
std::string addDays(const std::string& day, int n) {
  namespace chrono = std::chrono;
  const chrono::year_month_day ymd{chrono::year{std::stoi(day.substr(0, 4))},
                                   chrono::month{static_cast<unsigned>(std::stoi(day.substr(5, 2)))},
                                   chrono::day{static_cast<unsigned>(std::stoi(day.substr(8, 2)))}};
  const chrono::year_month_day next{chrono::sys_days{ymd} + chrono::days{n}};
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u", static_cast<int>(next.year()),
                static_cast<unsigned>(next.month()), static_cast<unsigned>(next.day()));
  return buffer;
}

// Seconds since the Unix epoch of "YYYY-MM-DDTHH:MM:SS[.fff](+|-)HH:MM".
long long epochOf(const std::string& text) {
  namespace chrono = std::chrono;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  EXPECT_EQ(std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s), 6) << text;
  const std::size_t sign = text.find_last_of("+-");
  EXPECT_NE(sign, std::string::npos) << text;
  EXPECT_GT(sign, 10u) << "no UTC offset in " << text;
  const int offset = (std::stoi(text.substr(sign + 1, 2)) * 60 + std::stoi(text.substr(sign + 4, 2))) * 60;
  const chrono::sys_days date{chrono::year{y} / chrono::month{static_cast<unsigned>(mo)} /
                             chrono::day{static_cast<unsigned>(d)}};
  const long long local = date.time_since_epoch().count() * 86400LL + h * 3600 + mi * 60 + s;
  return text[sign] == '+' ? local - offset : local + offset;
}

// The UTC date ("YYYY-MM-DD") of such a timestamp.
std::string utcDateOf(const std::string& text) {
  namespace chrono = std::chrono;
  const long long epoch = epochOf(text);
  const chrono::year_month_day ymd{chrono::sys_days{chrono::days{epoch >= 0 ? epoch / 86400 : (epoch - 86399) / 86400}}};
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buffer;
}

struct Docs {
  std::vector<Poco::JSON::Object::Ptr> objects;
  std::vector<std::size_t> page_sizes;
};

// Follows next_token from `query` (without next_token) until it is null.
Docs walkQuery(const FakeOura& fake, const std::string& collection, const std::string& query) {
  Docs walk;
  std::string token;
  for (int guard = 0; guard < 1000; ++guard) {
    std::string path = "/v2/usercollection/" + collection + "?" + query;
    if (!token.empty()) path += (query.empty() ? "" : "&") + std::string("next_token=") + token;
    const HttpResult page = apiGet(fake, path);
    EXPECT_EQ(page.status, 200) << path << ": " << page.body;
    if (page.status != 200) break;
    auto envelope = parseObject(page.body);
    auto data = envelope->getArray("data");
    EXPECT_TRUE(data) << path;
    if (!data) break;
    walk.page_sizes.push_back(data->size());
    for (std::size_t i = 0; i < data->size(); ++i) walk.objects.push_back(data->getObject(static_cast<unsigned>(i)));
    if (!envelope->has("next_token") || envelope->isNull("next_token")) break;
    token = envelope->getValue<std::string>("next_token");
  }
  return walk;
}

std::vector<std::string> condensedObjects(const std::vector<Poco::JSON::Object::Ptr>& docs) {
  std::vector<std::string> result;
  for (const auto& doc : docs) result.push_back(toJson(doc));
  return result;
}

std::vector<Poco::JSON::Object::Ptr> objectsOf(const Poco::JSON::Array::Ptr& docs) {
  std::vector<Poco::JSON::Object::Ptr> result;
  for (std::size_t i = 0; i < docs->size(); ++i) result.push_back(docs->getObject(static_cast<unsigned>(i)));
  return result;
}

std::set<std::string> keysOf(const Poco::JSON::Object::Ptr& doc) {
  std::vector<std::string> names;
  doc->getNames(names);
  return {names.begin(), names.end()};
}

std::string text(const Poco::JSON::Object::Ptr& doc, const std::string& key) {
  return doc->isNull(key) ? std::string() : doc->getValue<std::string>(key);
}

bool isUuid4(const std::string& id) {
  if (id.size() != 36 || id[14] != '4') return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (id[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(id[i]))) return false;
  }
  return true;
}

// Every property each collection serves (the OpenAPI schema's; heartrate without
// timestamp_unix, which the recording lacks).
const std::map<std::string, std::set<std::string>> kServedKeys = {
    {"sleep",
     {"id", "average_breath", "average_heart_rate", "average_hrv", "awake_time", "bedtime_end", "bedtime_start", "day",
      "deep_sleep_duration", "efficiency", "heart_rate", "hrv", "latency", "light_sleep_duration", "low_battery_alert",
      "lowest_heart_rate", "movement_30_sec", "period", "readiness", "readiness_score_delta", "rem_sleep_duration",
      "restless_periods", "sleep_algorithm_version", "sleep_analysis_reason", "sleep_phase_30_sec", "sleep_phase_5_min",
      "sleep_score_delta", "time_in_bed", "total_sleep_duration", "type", "ring_id", "app_sleep_phase_5_min"}},
    {"sleep_time", {"id", "day", "optimal_bedtime", "recommendation", "status"}},
    {"workout",
     {"id", "activity", "calories", "day", "distance", "end_datetime", "intensity", "label", "source", "start_datetime"}},
    {"session",
     {"id", "day", "start_datetime", "end_datetime", "type", "heart_rate", "heart_rate_variability", "mood",
      "motion_count"}},
    {"tag", {"id", "day", "text", "timestamp", "tags"}},
    {"enhanced_tag", {"id", "tag_type_code", "start_time", "end_time", "start_day", "end_day", "comment", "custom_name"}},
    {"vO2_max", {"id", "day", "timestamp", "vo2_max"}},
    {"rest_mode_period", {"id", "end_day", "end_time", "episodes", "start_day", "start_time"}},
    {"heartrate", {"bpm", "source", "timestamp"}},
    {"ring_battery_level", {"timestamp", "timestamp_unix", "charging", "in_charger", "level"}},
    {"ring_configuration", {"id", "color", "design", "firmware_version", "hardware_type", "set_up_at", "size"}},
};

// The query that selects a collection's documents for 2024-01-01 .. 2024-03-31.
std::string firstQuarterQuery(const std::string& collection) {
  if (collection == "heartrate" || collection == "ring_battery_level") {
    return "start_datetime=2024-03-01T00:00:00%2B00:00&end_datetime=2024-03-31T00:00:00%2B00:00";
  }
  if (collection == "ring_configuration") return "";
  return "start_date=2024-01-01&end_date=2024-03-31";
}

TEST(FakeOuraCollections, EveryNewCollectionAnswersSchemaShapedDocuments) {
  FakeOura fake;
  for (const auto& [collection, keys] : kServedKeys) {
    const HttpResult page = apiGet(fake, "/v2/usercollection/" + collection + "?" + firstQuarterQuery(collection));
    ASSERT_EQ(page.status, 200) << collection << ": " << page.body;
    auto envelope = parseObject(page.body);
    ASSERT_TRUE(envelope->has("next_token")) << collection;
    auto data = envelope->getArray("data");
    ASSERT_TRUE(data) << collection;
    EXPECT_GT(data->size(), 0u) << collection;
    for (const auto& doc : objectsOf(data)) {
      EXPECT_EQ(keysOf(doc), keys) << collection << ": " << toJson(doc);
      if (keys.count("id")) {
        EXPECT_TRUE(isUuid4(doc->getValue<std::string>("id"))) << collection << ": " << toJson(doc);
      }
    }
  }

  // A few enums and shapes the spec fixes.
  const std::set<std::string> sleep_types = {"deleted", "sleep", "long_sleep", "late_nap", "rest"};
  std::set<std::string> seen_types;
  bool some_night_before = false;
  for (const auto& doc : objectsOf(fake.documents("sleep", "2024-01-01", "2024-06-30"))) {
    const std::string type = doc->getValue<std::string>("type");
    EXPECT_TRUE(sleep_types.count(type)) << type;
    seen_types.insert(type);
    EXPECT_EQ(epochOf(doc->getValue<std::string>("bedtime_end")) - epochOf(doc->getValue<std::string>("bedtime_start")),
              doc->getValue<long long>("time_in_bed"));
    EXPECT_EQ(doc->getValue<int>("awake_time") + doc->getValue<int>("total_sleep_duration"),
              doc->getValue<int>("time_in_bed"));
    if (!doc->isNull("heart_rate")) {
      auto samples = doc->getObject("heart_rate");
      EXPECT_EQ(samples->getValue<double>("interval"), 300.0);
      EXPECT_EQ(samples->getArray("items")->size(), doc->getValue<std::size_t>("time_in_bed") / 300);
      EXPECT_EQ(doc->getObject("hrv")->getValue<double>("interval"), 300.0);
    }
    if (!doc->isNull("readiness")) {
      EXPECT_TRUE(doc->getObject("readiness")->getObject("contributors"));
    }
    // A long_sleep starting in the evening counts for the next day.
    if (type == "long_sleep" && doc->getValue<std::string>("bedtime_start").substr(0, 10) != text(doc, "day")) {
      EXPECT_EQ(addDays(doc->getValue<std::string>("bedtime_start").substr(0, 10), 1), text(doc, "day"));
      some_night_before = true;
    }
  }
  EXPECT_TRUE(seen_types.count("long_sleep") && seen_types.count("sleep")) << "too few sleep types";
  EXPECT_TRUE(some_night_before) << "no long_sleep started the evening before its day";

  const std::set<std::string> sources = {"awake", "workout", "rest", "sleep", "live", "session"};
  for (const auto& row : objectsOf(fake.documents("heartrate", "2024-03-01", "2024-03-01"))) {
    EXPECT_TRUE(sources.count(row->getValue<std::string>("source")));
    const std::string stamp = row->getValue<std::string>("timestamp");
    EXPECT_EQ(stamp.size(), 25u) << stamp;
    EXPECT_EQ(stamp.substr(19), "+00:00") << stamp;
  }
  auto session = objectsOf(fake.documents("session", "2024-01-01", "2024-12-31"));
  ASSERT_FALSE(session.empty());
  for (const auto& doc : session) {
    if (!doc->isNull("motion_count")) {
      EXPECT_EQ(doc->getObject("motion_count")->getValue<double>("interval"), 5.0);
    }
  }
}

TEST(FakeOuraCollections, SleepFiltersOnUtcDateOfBedtimeStart) {
  FakeOura fake;
  // A sleep whose bedtime starts the UTC day before its own day (e.g. 23:30+01:00 on the 9th,
  // day the 10th).
  Poco::JSON::Object::Ptr evening;
  for (const auto& doc : objectsOf(fake.documents("sleep", "2024-02-01", "2024-02-29"))) {
    if (utcDateOf(doc->getValue<std::string>("bedtime_start")) != text(doc, "day")) {
      evening = doc;
      break;
    }
  }
  ASSERT_TRUE(evening);
  const std::string day = text(evening, "day");
  const std::string utc_day = utcDateOf(evening->getValue<std::string>("bedtime_start"));
  ASSERT_EQ(addDays(utc_day, 1), day);
  auto ids = [&](const std::string& start, const std::string& end) {
    std::set<std::string> result;
    for (const auto& doc : walkQuery(fake, "sleep", "start_date=" + start + "&end_date=" + end).objects) {
      result.insert(text(doc, "id"));
      // Every served document's UTC bedtime date is in [start, end) (end exclusive).
      const std::string bedtime_day = utcDateOf(doc->getValue<std::string>("bedtime_start"));
      EXPECT_TRUE(bedtime_day >= start && bedtime_day < end) << toJson(doc);
    }
    return result;
  };
  EXPECT_FALSE(ids(day, addDays(day, 1)).count(text(evening, "id"))) << "filtered on `day`, not on bedtime_start";
  EXPECT_TRUE(ids(utc_day, day).count(text(evening, "id")));
}

TEST(FakeOuraCollections, WorkoutFiltersOnUtcDateOfStart) {
  FakeOura fake;
  Poco::JSON::Object::Ptr late;
  for (const auto& doc : objectsOf(fake.documents("workout", "2024-01-01", "2024-12-31"))) {
    if (utcDateOf(doc->getValue<std::string>("start_datetime")) != text(doc, "day")) {
      late = doc;
      break;
    }
  }
  ASSERT_TRUE(late) << "no workout starting after local midnight";
  const std::string day = text(late, "day");
  const std::string utc_day = utcDateOf(late->getValue<std::string>("start_datetime"));
  auto has = [&](const std::string& start, const std::string& end) {
    for (const auto& doc : walkQuery(fake, "workout", "start_date=" + start + "&end_date=" + end).objects) {
      const std::string start_day = utcDateOf(doc->getValue<std::string>("start_datetime"));
      EXPECT_TRUE(start_day >= start && start_day < end) << toJson(doc);
      if (text(doc, "id") == text(late, "id")) return true;
    }
    return false;
  };
  EXPECT_FALSE(has(day, addDays(day, 1)));
  EXPECT_TRUE(has(utc_day, addDays(utc_day, 1)));
}

TEST(FakeOuraCollections, HeartrateDatetimeWindow) {
  FakeOura fake;
  // One local day in CET, '+' encoded as %2B; rows are served at +00:00.
  const Docs cet = walkQuery(fake, "heartrate",
                             "start_datetime=2024-03-10T00:00:00%2B01:00&end_datetime=2024-03-11T00:00:00%2B01:00");
  ASSERT_GT(cet.objects.size(), 200u);
  EXPECT_EQ(cet.page_sizes.size(), 1u) << "default page of 1000 rows";
  for (const auto& row : cet.objects) {
    const long long at = epochOf(row->getValue<std::string>("timestamp"));
    EXPECT_GE(at, epochOf("2024-03-09T23:00:00+00:00"));
    EXPECT_LT(at, epochOf("2024-03-10T23:00:00+00:00"));
    EXPECT_FALSE(row->has("timestamp_unix"));
  }
  // A literal '+' (decoded as a space) is tolerated.
  const Docs plus = walkQuery(fake, "heartrate",
                              "start_datetime=2024-03-10T00:00:00+01:00&end_datetime=2024-03-11T00:00:00+01:00");
  EXPECT_EQ(condensedObjects(plus.objects), condensedObjects(cet.objects));

  // start inclusive, end exclusive.
  const std::string first = cet.objects[10]->getValue<std::string>("timestamp");
  const std::string last = cet.objects[20]->getValue<std::string>("timestamp");
  const Docs part = walkQuery(fake, "heartrate", "start_datetime=" + first.substr(0, 19) +
                                                     "Z&end_datetime=" + last.substr(0, 19) + "Z");
  ASSERT_FALSE(part.objects.empty());
  EXPECT_EQ(part.objects.front()->getValue<std::string>("timestamp"), first);
  for (const auto& row : part.objects) EXPECT_NE(row->getValue<std::string>("timestamp"), last);

  // Dates are not its parameters: start_date is ignored (the default window: the last 24 h).
  EXPECT_TRUE(walkQuery(fake, "heartrate", "start_date=2024-03-10&end_date=2024-03-11").objects.empty());
}

TEST(FakeOuraCollections, TimeSeriesWindowOver30DaysIs400) {
  FakeOura fake;
  for (const std::string collection : {"heartrate", "ring_battery_level"}) {
    const HttpResult too_long = apiGet(fake, "/v2/usercollection/" + collection +
                                                 "?start_datetime=2024-01-01T00:00:00%2B00:00"
                                                 "&end_datetime=2024-01-31T00:00:01%2B00:00");
    EXPECT_EQ(too_long.status, 400) << collection;
    EXPECT_FALSE(parseObject(too_long.body)->getValue<std::string>("detail").empty());
    const HttpResult thirty = apiGet(fake, "/v2/usercollection/" + collection +
                                               "?start_datetime=2024-01-01T00:00:00%2B00:00"
                                               "&end_datetime=2024-01-31T00:00:00%2B00:00");
    EXPECT_EQ(thirty.status, 200) << collection;
    const HttpResult reversed = apiGet(fake, "/v2/usercollection/" + collection +
                                                 "?start_datetime=2024-01-02T00:00:00Z&end_datetime=2024-01-01T00:00:00Z");
    EXPECT_EQ(reversed.status, 400) << collection;
    const HttpResult malformed = apiGet(fake, "/v2/usercollection/" + collection + "?start_datetime=yesterday");
    EXPECT_EQ(malformed.status, 400) << collection;
    EXPECT_TRUE(parseObject(malformed.body)->getArray("detail"));
  }
}

TEST(FakeOuraCollections, HeartrateHasDuplicateTimestampsWithDifferentSource) {
  FakeOura fake;
  for (const std::string day : {"2024-05-01", "2024-05-02", "2024-05-03"}) {
    std::map<std::string, std::set<std::string>> sources;
    std::map<std::string, int> rows;
    for (const auto& row : objectsOf(fake.documents("heartrate", day, day))) {
      sources[row->getValue<std::string>("timestamp")].insert(row->getValue<std::string>("source"));
      ++rows[row->getValue<std::string>("timestamp")];
    }
    int shared = 0;
    for (const auto& [stamp, count] : rows) {
      if (count > 1) {
        ++shared;
        EXPECT_EQ(sources[stamp].size(), static_cast<std::size_t>(count)) << "same source twice at " << stamp;
      }
    }
    EXPECT_GE(shared, 1) << day;
  }
}

TEST(FakeOuraCollections, PersonalInfoIsABareObject) {
  FakeOura fake;
  const HttpResult page = apiGet(fake, "/v2/usercollection/personal_info?start_date=2024-01-01&next_token=");
  ASSERT_EQ(page.status, 200) << page.body;
  auto doc = parseObject(page.body);
  EXPECT_EQ(keysOf(doc), (std::set<std::string>{"id", "age", "weight", "height", "biological_sex", "email"}));
  EXPECT_FALSE(doc->has("data"));
  auto as_documents = fake.documents("personal_info", "2024-01-01", "2024-01-01");
  ASSERT_EQ(as_documents->size(), 1u);
  EXPECT_EQ(toJson(as_documents->getObject(0)), toJson(doc));
  EXPECT_EQ(apiGet(fake, "/v2/usercollection/personal_info", false).status, 401);
}

TEST(FakeOuraCollections, RingConfigurationPaginatesWithoutDates) {
  FakeOura fake;
  fake.post("/_fake/config", R"({"page_sizes": {"ring_configuration": [1]}})");
  const Docs walk = walkQuery(fake, "ring_configuration", "");
  const auto expected = fake.documents("ring_configuration", "1970-01-01", "1970-01-01");  // dates do not matter
  ASSERT_GE(expected->size(), 1u);
  EXPECT_EQ(condensedObjects(walk.objects), condensed(expected));
  EXPECT_EQ(walk.page_sizes, std::vector<std::size_t>(expected->size(), 1));
  // Date parameters change nothing.
  EXPECT_EQ(condensedObjects(walkQuery(fake, "ring_configuration", "start_date=2030-01-01&end_date=2030-01-02").objects),
            condensed(expected));
}

TEST(FakeOuraCollections, RestModePeriodHasOneOpenPeriodLast) {
  FakeOura fake({"--first-day", "2022-01-01", "--last-day", "2024-12-31"});
  // Full re-fetch; start_day filter with an exclusive end, so ask one day past the account.
  const Docs walk = walkQuery(fake, "rest_mode_period", "start_date=0024-01-01&end_date=2025-01-01");
  ASSERT_GE(walk.objects.size(), 3u);
  int open = 0;
  for (std::size_t i = 0; i < walk.objects.size(); ++i) {
    const auto& doc = walk.objects[i];
    if (doc->isNull("end_day")) {
      ++open;
      EXPECT_TRUE(doc->isNull("end_time"));
      EXPECT_EQ(i + 1, walk.objects.size()) << "the open period is not the last one";
    } else {
      EXPECT_GE(text(doc, "end_day"), text(doc, "start_day"));
    }
  }
  EXPECT_EQ(open, 1);
  EXPECT_EQ(condensedObjects(walk.objects), condensed(fake.documents("rest_mode_period", "2022-01-01", "2024-12-31")));
}

// What a client following DESIGN.md does: ask a wider window, keep documents by their own day.
TEST(FakeOuraCollections, DocumentsEndpointAgreesWithPagingByOwnDay) {
  FakeOura fake({"--page-size", "20", "--series-page-size", "700"});
  const std::string a = "2024-02-10", b = "2024-03-20";  // across no DST change; 40 days
  const std::map<std::string, std::string> own_day = {
      {"sleep", "day"},     {"sleep_time", "day"},   {"workout", "day"},
      {"session", "day"},   {"tag", "day"},          {"enhanced_tag", "start_day"},
      {"vO2_max", "day"},   {"rest_mode_period", "start_day"},
      {"daily_activity", "day"}, {"daily_sleep", "day"}, {"daily_cardiovascular_age", "day"},
  };
  for (const auto& [collection, field] : own_day) {
    const Docs walk = walkQuery(fake, collection, "start_date=" + addDays(a, -1) + "&end_date=" + addDays(b, 1));
    std::vector<Poco::JSON::Object::Ptr> kept;
    for (const auto& doc : walk.objects) {
      if (text(doc, field) >= a && text(doc, field) <= b) kept.push_back(doc);
    }
    const auto expected = condensed(fake.documents(collection, a, b));
    EXPECT_EQ(condensedObjects(kept), expected) << collection;
    if (collection == "sleep" || collection == "workout" || collection == "sleep_time") {
      EXPECT_GT(walk.page_sizes.size(), 1u) << collection << " fit one page";
    }
  }
  // Time series: the window is in days of their UTC timestamps, at most 30 days a request.
  for (const std::string collection : {"heartrate", "ring_battery_level"}) {
    std::vector<Poco::JSON::Object::Ptr> rows;
    for (std::string from = a; from <= b; from = addDays(from, 20)) {
      const std::string to = std::min(addDays(from, 20), addDays(b, 1));
      const Docs walk = walkQuery(fake, collection,
                                  "start_datetime=" + from + "T00:00:00Z&end_datetime=" + to + "T00:00:00Z");
      rows.insert(rows.end(), walk.objects.begin(), walk.objects.end());
      if (collection == "heartrate") {
        EXPECT_GT(walk.page_sizes.size(), 5u);
      }
    }
    EXPECT_EQ(condensedObjects(rows), condensed(fake.documents(collection, a, b))) << collection;
  }
}

TEST(FakeOuraCollections, FaultsConfigAndStatsReachNewCollections) {
  FakeOura fake;
  fake.post("/_fake/faults", R"([{"collection": "heartrate", "kind": 503, "count": 1},
                                  {"collection": "personal_info", "kind": 429, "count": 1, "retry_after": "3"},
                                  {"collection": "vO2_max", "kind": "no_data", "count": 1}])");
  const std::string hr = "/v2/usercollection/heartrate?start_datetime=2024-01-01T00:00:00Z&end_datetime=2024-01-02T00:00:00Z";
  EXPECT_EQ(apiGet(fake, hr).status, 503);
  EXPECT_EQ(apiGet(fake, hr).status, 200);
  const HttpResult limited = apiGet(fake, "/v2/usercollection/personal_info");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.headers.at("retry-after"), "3");
  EXPECT_EQ(apiGet(fake, "/v2/usercollection/personal_info").status, 200);
  EXPECT_FALSE(parseObject(apiGet(fake, "/v2/usercollection/vO2_max?start_date=2024-01-01&end_date=2024-02-01").body)
                   ->has("data"));
  EXPECT_EQ(apiGet(fake, hr, false).status, 401);
  auto per_route = fake.stats()->getObject("per_route");
  EXPECT_EQ(per_route->getValue<int>("/v2/usercollection/heartrate"), 3);
  EXPECT_EQ(per_route->getValue<int>("/v2/usercollection/personal_info"), 2);
}

TEST(FakeOuraCollections, SameSeedSameDocumentsForEveryCollection) {
  FakeOura a;
  FakeOura b;
  for (const auto& [collection, keys] : kServedKeys) {
    EXPECT_EQ(condensed(a.documents(collection, "2024-06-01", "2024-06-20")),
              condensed(b.documents(collection, "2024-06-01", "2024-06-20")))
        << collection;
  }
}

// ------------------------------------------------------------------------------------------
// --recorded DIR: the documents of tests/fixtures/recorded.
// ------------------------------------------------------------------------------------------

std::string recordedDir() { return oura::test::envOr("OURA_FIXTURES", "tests/fixtures") + "/recorded"; }

Poco::JSON::Object::Ptr readJsonFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return parseObject(content.str());
}

TEST(FakeOuraRecorded, ServesTheFullDailyReadinessHistory) {
  FakeOura fake({"--recorded", recordedDir(), "--page-size", "1000", "--first-day", "2024-06-01"});
  const Docs walk = walkQuery(fake, "daily_readiness", "start_date=2018-10-01&end_date=2024-12-31");
  EXPECT_EQ(walk.objects.size(), 2141u);
  EXPECT_EQ(walk.page_sizes, (std::vector<std::size_t>{1000, 1000, 141}));
  EXPECT_EQ(text(walk.objects.front(), "day"), "2018-10-10");
  EXPECT_EQ(text(walk.objects.back(), "day"), "2024-11-12");
  EXPECT_EQ(condensedObjects(walk.objects), condensed(fake.documents("daily_readiness", "2018-10-01", "2024-12-31")));
  // No recording: an empty list.
  EXPECT_EQ(walkQuery(fake, "tag", "start_date=2018-01-01&end_date=2024-12-31").objects.size(), 0u);
}

TEST(FakeOuraRecorded, ServesTheHeartrateRecordingRows) {
  FakeOura fake({"--recorded", recordedDir()});
  const Docs walk = walkQuery(fake, "heartrate",
                              "start_datetime=2024-12-13T00:00:00%2B00:00&end_datetime=2024-12-15T00:00:00%2B00:00");
  auto recording = readJsonFile(recordedDir() + "/heartrate__list_default_window.json");
  const auto expected = condensed(recording->getObject("body")->getArray("data"));
  EXPECT_EQ(expected.size(), 1101u);
  EXPECT_EQ(condensedObjects(walk.objects), expected);
  EXPECT_EQ(walk.page_sizes, (std::vector<std::size_t>{1000, 101}));
}

// Each recorded list response is reproduced by asking its query again, which checks the
// filters (sleep and workout on UTC start dates, rest_mode_period's exclusive end, ...).
TEST(FakeOuraRecorded, ReplaysEveryRecordedListResponse) {
  FakeOura fake({"--recorded", recordedDir(), "--page-size", "5000"});
  int replayed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(recordedDir())) {
    const std::string name = entry.path().filename().string();
    if (name.find("__list") == std::string::npos || name.rfind("heartrate__", 0) == 0) continue;  // heartrate: relative to now
    auto recording = readJsonFile(entry.path().string());
    if (recording->getValue<int>("status") != 200) continue;
    auto request = recording->getObject("request");
    std::string query;
    auto params = request->getObject("query");
    std::vector<std::string> names;
    params->getNames(names);
    for (const auto& key : names) query += (query.empty() ? "" : "&") + key + "=" + params->getValue<std::string>(key);
    const HttpResult page = apiGet(fake, request->getValue<std::string>("path") + "?" + query);
    ASSERT_EQ(page.status, 200) << name << ": " << page.body;
    EXPECT_EQ(condensed(parseObject(page.body)->getArray("data")),
              condensed(recording->getObject("body")->getArray("data")))
        << name;
    ++replayed;
  }
  EXPECT_GE(replayed, 25);
  auto personal = readJsonFile(recordedDir() + "/personal_info__get.json");
  EXPECT_EQ(toJson(parseObject(apiGet(fake, "/v2/usercollection/personal_info").body)),
            toJson(personal->getObject("body")));
}

}  // namespace
