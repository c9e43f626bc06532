// RateLimiter: sliding-window budget, concurrency cap, pause, tighten.
// Timing is only checked through counts and generous lower bounds, never upper bounds.
#include "http/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
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

}  // namespace
}  // namespace oura::core
