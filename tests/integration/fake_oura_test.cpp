// Checks the fake Oura server (tests/fakes/fake_oura.py) and its C++ launcher.
#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <set>
#include <sstream>
#include <string>
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

}  // namespace
