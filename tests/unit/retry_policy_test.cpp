// RetryPolicy: classification table, backoff with full jitter, Retry-After parsing.
#include "http/retry_policy.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace oura::core {
namespace {

using std::chrono::milliseconds;

TEST(RetryPolicyTest, ClassifiesEveryDocumentedStatus) {
  struct Row {
    int status;
    RetryDecision decision;
  };
  const Row table[] = {
      {0, RetryDecision::Retry},  // transport: timeout, reset, truncated body
      {429, RetryDecision::Retry}, {500, RetryDecision::Retry}, {502, RetryDecision::Retry},
      {503, RetryDecision::Retry}, {504, RetryDecision::Retry}, {401, RetryDecision::Refresh},
      {400, RetryDecision::Fail},  {403, RetryDecision::Fail},  {404, RetryDecision::Fail},
      {405, RetryDecision::Fail},  {422, RetryDecision::Fail},  {426, RetryDecision::Fail},
      {501, RetryDecision::Fail},  {505, RetryDecision::Fail},  {301, RetryDecision::Fail},
      {418, RetryDecision::Fail},  {999, RetryDecision::Fail},  {-1, RetryDecision::Fail},
  };
  for (const Row& row : table) {
    EXPECT_EQ(RetryPolicy::classify(row.status), row.decision) << "status " << row.status;
  }
}

// docs/retries.md's table is the code's: every status its rows name is classified as the row
// says ("retry", "no retry", "refresh once, retry once"), and every status of the table above
// appears in the document.
TEST(RetryPolicyTest, TheDocumentedClassificationTableIsTheCodes) {
  const char* source = std::getenv("OURA_SOURCE_DIR");
  ASSERT_NE(source, nullptr) << "OURA_SOURCE_DIR is not set (ctest sets it)";
  std::ifstream in(std::string(source) + "/docs/retries.md");
  ASSERT_TRUE(in) << "docs/retries.md is missing";
  std::set<int> documented;
  bool transport = false;
  const std::regex status_re("\\b([1-5][0-9][0-9])\\b");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| ", 0) != 0) continue;
    // | answer | decision | then |
    std::vector<std::string> cells;
    std::stringstream row(line.substr(1));
    for (std::string cell; std::getline(row, cell, '|');) cells.push_back(cell);
    if (cells.size() < 3) continue;
    std::string decision = cells[1];
    decision.erase(0, decision.find_first_not_of(' '));
    decision.erase(decision.find_last_not_of(' ') + 1);
    RetryDecision want;
    if (decision == "retry" || decision == "retry (transport error)") {
      want = RetryDecision::Retry;
    } else if (decision == "no retry") {
      want = RetryDecision::Fail;
    } else if (decision == "refresh once, retry once") {
      want = RetryDecision::Refresh;
    } else {
      continue;  // another table
    }
    if (decision == "retry (transport error)") transport = true;
    const std::string& answer = cells[0];
    for (auto it = std::sregex_iterator(answer.begin(), answer.end(), status_re);
         it != std::sregex_iterator(); ++it) {
      const int status = std::stoi((*it)[1]);
      // "a 2xx body", "fewer bytes than Content-Length": 200 is named as a transport case.
      if (decision == "retry (transport error)") continue;
      documented.insert(status);
      EXPECT_EQ(RetryPolicy::classify(status), want) << "docs/retries.md: " << line;
    }
  }
  EXPECT_TRUE(transport) << "the transport rows are missing";
  for (int status : {400, 401, 403, 404, 422, 426, 429, 500, 502, 503, 504}) {
    EXPECT_EQ(documented.count(status), 1u) << status << " is not in docs/retries.md's table";
  }
  EXPECT_EQ(RetryPolicy::classify(0), RetryDecision::Retry) << "transport errors";
}

RetrySettings settings(milliseconds base, milliseconds max_delay,
                       milliseconds max_total = milliseconds(600000)) {
  RetrySettings s;
  s.max_attempts = 5;
  s.base_delay = base;
  s.max_delay = max_delay;
  s.max_total = max_total;
  return s;
}

TEST(RetryPolicyTest, BackoffStaysWithinTheExponentialCap) {
  RetryPolicy policy(settings(milliseconds(100), milliseconds(1000)), 42);
  // attempt: cap = min(1000, 100 * 2^(attempt-1))
  const std::pair<int, milliseconds> caps[] = {
      {1, milliseconds(100)},      {2, milliseconds(200)},  {3, milliseconds(400)},
      {4, milliseconds(800)},      {5, milliseconds(1000)}, {40, milliseconds(1000)},
      {100000, milliseconds(1000)}};
  for (const auto& [attempt, cap] : caps) {
    for (int i = 0; i < 500; ++i) {
      const milliseconds wait = policy.backoff(attempt, std::nullopt);
      ASSERT_GE(wait.count(), 0) << "attempt " << attempt;
      ASSERT_LE(wait, cap) << "attempt " << attempt;
    }
  }
}

TEST(RetryPolicyTest, BackoffIsFullJitterAcrossTheRange) {
  RetryPolicy policy(settings(milliseconds(1000), milliseconds(60000)), 7);
  milliseconds lowest = milliseconds::max();
  milliseconds highest = milliseconds::zero();
  std::set<long long> distinct;
  for (int i = 0; i < 2000; ++i) {
    const milliseconds wait = policy.backoff(1, std::nullopt);
    lowest = std::min(lowest, wait);
    highest = std::max(highest, wait);
    distinct.insert(wait.count());
  }
  // Uniform over [0, 1000]: 2000 draws reach both ends' tenths and are spread out.
  EXPECT_LT(lowest, milliseconds(100));
  EXPECT_GT(highest, milliseconds(900));
  EXPECT_GT(distinct.size(), 500u);
}

TEST(RetryPolicyTest, SameSeedSameWaits) {
  RetryPolicy a(settings(milliseconds(100), milliseconds(10000)), 1234);
  RetryPolicy b(settings(milliseconds(100), milliseconds(10000)), 1234);
  for (int attempt = 1; attempt < 8; ++attempt) {
    EXPECT_EQ(a.backoff(attempt, std::nullopt), b.backoff(attempt, std::nullopt));
  }
}

TEST(RetryPolicyTest, BackoffHonoursRetryAfterAsALowerBound) {
  RetryPolicy policy(settings(milliseconds(10), milliseconds(60000)), 3);
  for (int i = 0; i < 200; ++i) {
    EXPECT_GE(policy.backoff(1, milliseconds(1000)), milliseconds(1000));
  }
  // Above max_delay but within max_total: still honoured in full.
  RetryPolicy capped(settings(milliseconds(10), milliseconds(500), milliseconds(10000)), 3);
  EXPECT_EQ(capped.backoff(1, milliseconds(2000)), milliseconds(2000));
  // Longer than every wait allowed for a request: capped by max_delay.
  EXPECT_LE(capped.backoff(1, milliseconds(60000)), milliseconds(500));
  // Zero Retry-After: plain backoff.
  EXPECT_LE(capped.backoff(1, milliseconds(0)), milliseconds(10));
}

TEST(RetryPolicyTest, ZeroBaseMeansNoWait) {
  RetryPolicy policy(settings(milliseconds(0), milliseconds(1000)), 5);
  EXPECT_EQ(policy.backoff(1, std::nullopt), milliseconds(0));
  EXPECT_EQ(policy.backoff(10, std::nullopt), milliseconds(0));
}

TEST(RetryPolicyTest, ParsesRetryAfterSeconds) {
  EXPECT_EQ(RetryPolicy::parseRetryAfter("1"), milliseconds(1000));
  EXPECT_EQ(RetryPolicy::parseRetryAfter("0"), milliseconds(0));
  EXPECT_EQ(RetryPolicy::parseRetryAfter("120"), milliseconds(120000));
  EXPECT_EQ(RetryPolicy::parseRetryAfter("  30 "), milliseconds(30000));
  // Absurdly large values are capped (a day), not overflowed.
  const auto huge = RetryPolicy::parseRetryAfter("99999999999999999999999");
  ASSERT_TRUE(huge.has_value());
  EXPECT_EQ(*huge, milliseconds(24LL * 3600 * 1000));
}

std::chrono::system_clock::time_point at(std::time_t seconds) {
  return std::chrono::system_clock::from_time_t(seconds);
}

TEST(RetryPolicyTest, ParsesRetryAfterHttpDates) {
  // Wed, 21 Oct 2015 07:28:00 GMT = 1445412480
  const auto now = at(1445412480 - 90);
  EXPECT_EQ(RetryPolicy::parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now),
            milliseconds(90000));
  // The obsolete forms HTTP recipients must accept.
  EXPECT_EQ(RetryPolicy::parseRetryAfter("Wednesday, 21-Oct-15 07:28:00 GMT", now),
            milliseconds(90000));
  EXPECT_EQ(RetryPolicy::parseRetryAfter("Wed Oct 21 07:28:00 2015", now), milliseconds(90000));
  // A date already past: retry now.
  EXPECT_EQ(RetryPolicy::parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", at(1445412480 + 5)),
            milliseconds(0));
  // Against the real clock: a date ~2 s ahead gives about 2 s.
  const auto later = std::chrono::system_clock::now() + std::chrono::seconds(2);
  const std::time_t t = std::chrono::system_clock::to_time_t(later);
  char text[64];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  const auto wait = RetryPolicy::parseRetryAfter(text);
  ASSERT_TRUE(wait.has_value()) << text;
  EXPECT_LE(*wait, milliseconds(2000));
  EXPECT_GE(*wait, milliseconds(0));
}

TEST(RetryPolicyTest, UnparseableRetryAfterIsNothing) {
  for (const char* text : {"", "   ", "soon", "-1", "1.5", "1s", "Sun, foo bar", "Wed, 21 Oct 2015",
                           "Wed, 32 Oct 2015 07:28:00 GMT", "2015-10-21T07:28:00Z",
                           "Wed, 21 Oct 2015 07:28:00 +0200"}) {
    EXPECT_FALSE(RetryPolicy::parseRetryAfter(text).has_value()) << "'" << text << "'";
  }
}

}  // namespace
}  // namespace oura::core
