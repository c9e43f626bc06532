// RateLimiter: sliding-window budget, concurrency cap, pause, tighten, X-RateLimit-* headers.
// Timing is only checked through counts and generous lower bounds, never upper bounds.
#include "http/rate_limiter.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <gtest/gtest.h>

#include <ctime>
#include <string>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace oura::core {
namespace {

using Clock = RateLimiter::Clock;
using std::chrono::milliseconds;

// Slack for the time between the limiter recording a start and the test reading the clock
// after acquire() returned (a descheduled thread). If the limiter's own starts never exceed the
// budget in any window W, the recorded ones never exceed it in any window W - kSlack.
constexpr milliseconds kSlack{50};

// The largest number of starts inside any half-open window [t, t + window) of the log.
std::size_t maxStartsInAnyWindow(std::vector<Clock::time_point> starts, milliseconds window) {
  std::sort(starts.begin(), starts.end());
  std::size_t best = 0;
  std::size_t first = 0;
  for (std::size_t last = 0; last < starts.size(); ++last) {
    while (starts[last] - starts[first] >= window) ++first;
    best = std::max(best, last - first + 1);
  }
  return best;
}

TEST(RateLimiterTest, BudgetIsNeverExceededInAnySlidingWindow) {
  constexpr int kBudget = 20;
  constexpr milliseconds kWindow{300};
  constexpr int kThreads = 8;
  constexpr int kPerThread = 9;  // 72 requests: at least three full windows of waiting
  RateLimiter limiter({kBudget, kWindow, kThreads});

  std::mutex mutex;
  std::vector<Clock::time_point> starts;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        RateLimiter::Permit permit = limiter.acquire();
        const Clock::time_point now =
            Clock::now();  // after acquire: the start as a request sees it
        std::lock_guard lock(mutex);
        starts.push_back(now);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  ASSERT_EQ(starts.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(limiter.started(), static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_LE(maxStartsInAnyWindow(starts, kWindow - kSlack), static_cast<std::size_t>(kBudget));
  std::sort(starts.begin(), starts.end());
  // Generous lower bound: start kBudget (0-based) cannot come before one window after the first.
  EXPECT_GE(starts[kBudget] - starts[0], kWindow - kSlack);
  // 72 starts at 20 per window need at least three windows.
  EXPECT_GE(starts.back() - starts.front(), 3 * kWindow - kSlack);
}

// The limiter's own log of starts (its observer sees the exact time it records, under its lock),
// from many threads that hold their permit a little: no window of the budget's length, anywhere
// in the run and in particular from the very first request, holds more starts than the budget.
// A token bucket that starts full would let through about twice the budget in the first window.
TEST(RateLimiterTest, NoWindowAnywhereHoldsMoreThanTheBudgetCheckedOnTheLimitersOwnLog) {
  constexpr int kBudget = 50;
  constexpr milliseconds kWindow{400};
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;  // 200 starts: four windows' worth
  RateLimiter limiter({kBudget, kWindow, 6});
  std::mutex mutex;
  std::vector<Clock::time_point> starts;
  limiter.setStartObserver([&](Clock::time_point at) {
    std::lock_guard lock(mutex);
    starts.push_back(at);
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        RateLimiter::Permit permit = limiter.acquire();
        std::this_thread::sleep_for(milliseconds((t + i) % 3));  // a request in flight
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(starts.size(), static_cast<std::size_t>(kThreads * kPerThread));
  // The observer runs under the limiter's lock, so the log is in order.
  EXPECT_TRUE(std::is_sorted(starts.begin(), starts.end()));
  // Every window [s, s + W) that begins at a start (the fullest windows begin at one).
  EXPECT_EQ(maxStartsInAnyWindow(starts, kWindow), static_cast<std::size_t>(kBudget));
  // The first window from the first request holds exactly the budget: the limiter neither
  // lets more through nor holds the first burst back.
  std::size_t first_window = 0;
  for (const Clock::time_point& at : starts) first_window += at - starts.front() < kWindow;
  EXPECT_EQ(first_window, static_cast<std::size_t>(kBudget));
}

// The default budget's shape (5000 per 300 s) scaled down in time: 100 per 300 ms, a burst of
// 300 requests from 4 threads that take no time at all.
TEST(RateLimiterTest, ABurstOfThreeBudgetsTakesThreeWindowsAndNeverExceedsOne) {
  constexpr int kBudget = 100;
  constexpr milliseconds kWindow{300};
  RateLimiter limiter({kBudget, kWindow, 4});
  std::vector<Clock::time_point> starts;
  limiter.setStartObserver([&](Clock::time_point at) { starts.push_back(at); });  // under the lock
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 75; ++i) RateLimiter::Permit permit = limiter.acquire();
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(starts.size(), 300u);
  EXPECT_LE(maxStartsInAnyWindow(starts, kWindow), static_cast<std::size_t>(kBudget));
  EXPECT_GE(starts[kBudget] - starts[0], kWindow);
  EXPECT_GE(starts[2 * kBudget] - starts[0], 2 * kWindow);
}

// The server counts a request when it arrives, anywhere between our start and our end: a slow
// request counts against the budget until a window after it ended, so no window of arrivals
// can hold more than the budget (by starts alone, a request started just before the window
// slid could arrive inside the next one).
TEST(RateLimiterTest, ASlowRequestOccupiesTheBudgetUntilAWindowAfterItEnded) {
  RateLimiter limiter({1, milliseconds(400), 4});
  const Clock::time_point begin = Clock::now();
  {
    RateLimiter::Permit slow = limiter.acquire();
    std::this_thread::sleep_for(milliseconds(300));  // the slow request is still in flight
  }
  const Clock::time_point slow_ended = Clock::now();
  RateLimiter::Permit next = limiter.acquire();
  const Clock::time_point next_started = Clock::now();
  // Not before 400 ms after the slow request's end (by starts alone: 400 ms after `begin`).
  EXPECT_GE(next_started - slow_ended, milliseconds(400) - milliseconds(5));
  EXPECT_GE(next_started - begin, milliseconds(700) - milliseconds(5));
}

TEST(RateLimiterTest, TighteningMidRunHoldsEveryLaterStartToTheNewBudget) {
  constexpr milliseconds kWindow{250};
  RateLimiter limiter({100, kWindow, 2});
  std::vector<Clock::time_point> starts;
  limiter.setStartObserver([&](Clock::time_point at) { starts.push_back(at); });
  for (int i = 0; i < 10; ++i) RateLimiter::Permit permit = limiter.acquire();
  EXPECT_TRUE(limiter.tighten(4, kWindow));
  EXPECT_FALSE(limiter.tighten(4, kWindow)) << "the same budget again changes nothing";
  const std::size_t before = starts.size();
  for (int i = 0; i < 10; ++i) RateLimiter::Permit permit = limiter.acquire();
  ASSERT_EQ(starts.size(), 20u);
  // Each later start sees fewer than 4 others in the window before it (those before the
  // tightening included), so the log's 10 earlier starts had to leave first.
  for (std::size_t i = before; i < starts.size(); ++i) {
    std::size_t in_window = 0;
    for (std::size_t j = 0; j < i; ++j) in_window += starts[i] - starts[j] < kWindow;
    EXPECT_LT(in_window, 4u) << "start " << i;
  }
  EXPECT_GE(starts[before] - starts[6], kWindow) << "start 10 waited for start 6 to leave";
  EXPECT_EQ(limiter.settings().requests, 4);
}

std::chrono::system_clock::time_point epoch(std::int64_t seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
}

TEST(RateLimiterTest, ParsesXRateLimitHeaders) {
  const auto now = epoch(1700000000);
  ServerRateLimit all = ServerRateLimit::parse("5000", "4999", "300", now);
  EXPECT_EQ(all.limit, 5000);
  EXPECT_EQ(all.remaining, 4999);
  EXPECT_EQ(all.reset, milliseconds(300000));
  EXPECT_FALSE(all.empty());
  EXPECT_TRUE(ServerRateLimit::parse("", "", "", now).empty());
  // Reset as a Unix time (GitHub's convention), past or future; as an HTTP date.
  EXPECT_EQ(ServerRateLimit::parse("", "", "1700000042", now).reset, milliseconds(42000));
  EXPECT_EQ(ServerRateLimit::parse("", "", "1600000000", now).reset, milliseconds(0));
  // 1700000060 s since the epoch:
  EXPECT_EQ(ServerRateLimit::parse("", "", "Tue, 14 Nov 2023 22:14:20 GMT", now).reset,
            milliseconds(60000));
  // Nonsense is absent, not zero (a zero Remaining would pause everyone).
  for (const char* bad : {"-1", "ten", "1.5", " ", "5 000", "0x10"}) {
    ServerRateLimit r = ServerRateLimit::parse(bad, bad, bad, now);
    EXPECT_TRUE(r.empty()) << "'" << bad << "'";
  }
  EXPECT_EQ(ServerRateLimit::parse(" 7 ", "0", "", now).limit, 7);
  EXPECT_EQ(ServerRateLimit::parse("99999999999999999999", "", "", now).limit,
            std::numeric_limits<int>::max());
  // A Reset beyond a day is a day.
  EXPECT_EQ(ServerRateLimit::parse("", "", "999999", now).reset, milliseconds(86400000));
}

TEST(RateLimiterTest, AdaptTightensFromXRateLimitLimitAndNeverLoosens) {
  RateLimiter limiter({100, milliseconds(10000), 4});
  ServerRateLimit server;
  server.limit = 40;
  EXPECT_TRUE(limiter.adapt(server, milliseconds(1000)));
  EXPECT_EQ(limiter.settings().requests, 40);
  EXPECT_EQ(limiter.settings().window, milliseconds(10000)) << "the limiter's own window";
  server.limit = 5000;
  EXPECT_FALSE(limiter.adapt(server, milliseconds(1000)));
  EXPECT_EQ(limiter.settings().requests, 40);
  server.limit = 0;  // nonsense
  EXPECT_FALSE(limiter.adapt(server, milliseconds(1000)));
  EXPECT_EQ(limiter.settings().requests, 40);
}

TEST(RateLimiterTest, NothingRemainingPausesEveryCallerUntilTheResetCappedByMaxPause) {
  RateLimiter limiter({100, milliseconds(10000), 4});
  ServerRateLimit server;
  server.remaining = 0;
  server.reset = milliseconds(200);
  const Clock::time_point begin = Clock::now();
  limiter.adapt(server, milliseconds(60000));
  std::vector<Clock::time_point> starts;
  limiter.setStartObserver([&](Clock::time_point at) { starts.push_back(at); });
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] { RateLimiter::Permit permit = limiter.acquire(); });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(starts.size(), 3u);
  for (const auto& at : starts) EXPECT_GE(at - begin, milliseconds(200));

  // A Reset of a day is cut to max_pause (else this acquire would wait a day).
  server.reset = milliseconds(86400000);
  const Clock::time_point again = Clock::now();
  limiter.adapt(server, milliseconds(100));
  { RateLimiter::Permit permit = limiter.acquire(); }
  EXPECT_GE(starts.back() - again, milliseconds(100));

  // Remaining > 0, or 0 without a Reset: no pause.
  server.remaining = 3;
  server.reset = milliseconds(86400000);
  limiter.adapt(server, milliseconds(86400000));
  server.remaining = 0;
  server.reset.reset();
  limiter.adapt(server, milliseconds(86400000));
  { RateLimiter::Permit permit = limiter.acquire(); }  // would wait a day if either paused
  EXPECT_EQ(limiter.started(), 5u);
}

TEST(RateLimiterTest, ConcurrencyCapIsRespected) {
  constexpr int kCap = 3;
  RateLimiter limiter({1000, milliseconds(1000), kCap});
  std::atomic<int> in_flight{0};
  std::atomic<int> peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 10; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        RateLimiter::Permit permit = limiter.acquire();
        const int now = ++in_flight;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(milliseconds(2));
        --in_flight;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_LE(peak.load(), kCap);
  EXPECT_GE(peak.load(), 1);
  EXPECT_EQ(limiter.started(), 50u);
}

TEST(RateLimiterTest, PermitReleasesItsSlotOnDestructionAndMove) {
  RateLimiter limiter({100, milliseconds(1000), 1});
  {
    RateLimiter::Permit first = limiter.acquire();
    RateLimiter::Permit moved(std::move(first));  // only `moved` releases the slot
  }
  std::atomic<bool> acquired{false};
  std::thread other([&] {
    RateLimiter::Permit permit = limiter.acquire();
    acquired = true;
  });
  other.join();  // would hang if the slot had leaked
  EXPECT_TRUE(acquired.load());
  EXPECT_EQ(limiter.started(), 2u);
}

TEST(RateLimiterTest, SecondCallerWaitsForTheSlot) {
  RateLimiter limiter({100, milliseconds(1000), 1});
  std::atomic<bool> acquired{false};
  std::thread other;
  {
    RateLimiter::Permit held = limiter.acquire();
    other = std::thread([&] {
      RateLimiter::Permit permit = limiter.acquire();
      acquired = true;
    });
    std::this_thread::sleep_for(milliseconds(50));
    EXPECT_FALSE(acquired.load()) << "a second request started while the only slot was held";
  }
  other.join();
  EXPECT_TRUE(acquired.load());
}

TEST(RateLimiterTest, PauseUntilDelaysEveryCaller) {
  RateLimiter limiter({100, milliseconds(1000), 4});
  const Clock::time_point begin = Clock::now();
  limiter.pauseUntil(begin + milliseconds(150));
  // An earlier pause never shortens the one in force.
  limiter.pauseUntil(begin + milliseconds(10));
  std::vector<Clock::time_point> starts(3);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < starts.size(); ++i) {
    threads.emplace_back([&, i] {
      RateLimiter::Permit permit = limiter.acquire();
      starts[i] = Clock::now();
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const Clock::time_point& start : starts) {
    EXPECT_GE(start - begin, milliseconds(150));  // read after acquire(): never early
  }
}

TEST(RateLimiterTest, PauseInThePastDoesNotBlock) {
  RateLimiter limiter({100, milliseconds(1000), 4});
  limiter.pauseUntil(Clock::now() - milliseconds(1000));
  RateLimiter::Permit permit = limiter.acquire();
  EXPECT_EQ(limiter.started(), 1u);
}

TEST(RateLimiterTest, TightenLowersTheBudget) {
  constexpr milliseconds kWindow{200};
  RateLimiter limiter({100, kWindow, 4});
  limiter.tighten(3, kWindow);
  std::vector<Clock::time_point> starts;
  for (int i = 0; i < 7; ++i) {
    RateLimiter::Permit permit = limiter.acquire();
    starts.push_back(Clock::now());
  }
  EXPECT_LE(maxStartsInAnyWindow(starts, kWindow - kSlack), 3u);
  // Start 3 (0-based) waits a window after start 0; start 6 two windows.
  EXPECT_GE(starts[3] - starts[0], kWindow - kSlack);
  EXPECT_GE(starts[6] - starts[0], 2 * kWindow - kSlack);
}

TEST(RateLimiterTest, TightenNeverRaises) {
  constexpr milliseconds kWindow{200};
  RateLimiter limiter({3, kWindow, 4});
  limiter.tighten(1000, kWindow);         // more requests: ignored
  limiter.tighten(3, milliseconds(1));    // shorter window: ignored
  limiter.tighten(0, kWindow);            // nonsense: ignored
  limiter.tighten(-5, milliseconds(-1));  // nonsense: ignored
  std::vector<Clock::time_point> starts;
  for (int i = 0; i < 4; ++i) {
    RateLimiter::Permit permit = limiter.acquire();
    starts.push_back(Clock::now());
  }
  EXPECT_LE(maxStartsInAnyWindow(starts, kWindow - kSlack), 3u);
  EXPECT_GE(starts[3] - starts[0], kWindow - kSlack);
}

TEST(RateLimiterTest, InstancesAreIndependent) {
  RateLimiter a({1, milliseconds(60000), 1});
  RateLimiter b({1, milliseconds(60000), 1});
  { RateLimiter::Permit p = a.acquire(); }
  { RateLimiter::Permit p = b.acquire(); }  // would wait a minute if state were shared
  EXPECT_EQ(a.started(), 1u);
  EXPECT_EQ(b.started(), 1u);
}

TEST(RateLimiterTest, RejectsNonsenseSettings) {
  EXPECT_THROW(RateLimiter({0, milliseconds(1000), 1}), std::invalid_argument);
  EXPECT_THROW(RateLimiter({10, milliseconds(0), 1}), std::invalid_argument);
  EXPECT_THROW(RateLimiter({10, milliseconds(1000), 0}), std::invalid_argument);
}


namespace {
// Keeps the text of every message logged to it.
class CaptureChannel : public Poco::Channel {
 public:
  void log(const Poco::Message& msg) override {
    std::lock_guard lock(mutex);
    messages.push_back(msg.getText());
  }
  std::vector<std::string> taken() {
    std::lock_guard lock(mutex);
    return messages;
  }
  std::mutex mutex;
  std::vector<std::string> messages;
};

std::string localHhMm(std::chrono::system_clock::time_point at) {
  const std::time_t t = std::chrono::system_clock::to_time_t(at);
  std::tm local{};
  localtime_r(&t, &local);
  char text[16];
  std::strftime(text, sizeof text, "%H:%M", &local);
  return text;
}
}  // namespace

// Issue 10: a budget that stalls the run (2 requests an hour) says until when it waits, in
// wall-clock time, instead of a progress estimate of "about 0 s left".
TEST(RateLimiterTest, AStallingBudgetSaysUntilWhenItWaits) {
  Poco::AutoPtr<CaptureChannel> capture(new CaptureChannel);
  Poco::Logger& log = Poco::Logger::get("oura.http");
  Poco::AutoPtr<Poco::Channel> before(log.getChannel(), true);
  log.setChannel(capture);
  std::atomic<bool> stop{false};
  RateLimiter limiter({2, std::chrono::hours(1), 1}, &stop);
  { RateLimiter::Permit permit = limiter.acquire(); }
  { RateLimiter::Permit permit = limiter.acquire(); }
  const auto at = std::chrono::system_clock::now() + std::chrono::hours(1);
  std::thread waiting([&] {
    try {
      RateLimiter::Permit permit = limiter.acquire();
    } catch (const StopRequested&) {
    }
  });
  std::string said;
  for (int i = 0; i < 100 && said.empty(); ++i) {
    for (const std::string& m : capture->taken()) {
      if (m.find("waiting for the rate limit until") != std::string::npos) said = m;
    }
    if (said.empty()) std::this_thread::sleep_for(milliseconds(50));
  }
  stop = true;
  waiting.join();
  log.setChannel(before);
  ASSERT_FALSE(said.empty()) << "nothing said while the run stalls";
  const std::string now_plus_hour = localHhMm(at);
  const std::string minute_later = localHhMm(at + std::chrono::minutes(1));
  EXPECT_TRUE(said.find("until " + now_plus_hour) != std::string::npos ||
              said.find("until " + minute_later) != std::string::npos)
      << said;
  EXPECT_NE(said.find("2 requests per 3600 s"), std::string::npos) << said;
}

TEST(RateLimiterTest, AServerBudgetIsEnforcedBesidesOursAndReplacesALimitTightening) {
  RateLimiter limiter({100, milliseconds(10000), 4});
  ServerRateLimit server;
  server.limit = 40;
  EXPECT_TRUE(limiter.adapt(server, milliseconds(1000)));  // our window: 40 per 10 s
  server.window = milliseconds(500);
  EXPECT_TRUE(limiter.adapt(server, milliseconds(1000)));
  EXPECT_EQ(limiter.settings().requests, 100) << "the server's window is known: ours as configured";
  EXPECT_EQ(limiter.settings().window, milliseconds(10000));
  ASSERT_TRUE(limiter.serverBudget().has_value());
  EXPECT_EQ(limiter.serverBudget()->requests, 40);
  EXPECT_EQ(limiter.serverBudget()->window, milliseconds(500));
  // A 429 with Limit and Reset only: the window is the longest Reset seen.
  RateLimiter other({100, milliseconds(10000), 4});
  ServerRateLimit too_many;
  too_many.limit = 3;
  too_many.too_many = true;
  too_many.reset = milliseconds(2000);
  other.adapt(too_many, milliseconds(1));
  too_many.reset = milliseconds(1000);
  other.adapt(too_many, milliseconds(1));
  ASSERT_TRUE(other.serverBudget().has_value());
  EXPECT_EQ(other.serverBudget()->requests, 3);
  EXPECT_EQ(other.serverBudget()->window, milliseconds(2000));
  // Both budgets hold: 3 starts, then the fourth waits for the server's window.
  std::vector<Clock::time_point> starts;
  other.setStartObserver([&](Clock::time_point t) { starts.push_back(t); });
  for (int i = 0; i < 4; ++i) { RateLimiter::Permit permit = other.acquire(); }
  ASSERT_EQ(starts.size(), 4u);
  EXPECT_GE(starts[3] - starts[0], milliseconds(1900));
  EXPECT_EQ(ServerRateLimit::parseWindow("10"), milliseconds(10000));
  EXPECT_EQ(ServerRateLimit::parseWindow(" 0.5 "), milliseconds(500));
  EXPECT_FALSE(ServerRateLimit::parseWindow("0").has_value());
  EXPECT_FALSE(ServerRateLimit::parseWindow("-3").has_value());
  EXPECT_FALSE(ServerRateLimit::parseWindow("ten").has_value());
}

}  // namespace
}  // namespace oura::core
