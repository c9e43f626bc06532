// The scheduler's contiguous-prefix rule (sync/scheduler.hpp), in-process: windows landing out of
// order, a failure in the middle, a stop (the in-process stand-in for a kill: windows in flight
// never land), and the work items handed to several workers at once.
#include "sync/scheduler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace oura::core {
namespace {

TEST(LandingLedger, WindowsLandingOutOfOrderRecordTheStateOnlyWhenThePrefixCloses) {
  LandingLedger ledger(5);
  EXPECT_EQ(ledger.prefixIfLanded(3), std::nullopt) << "windows 0..2 have not landed";
  ledger.landed(3);
  EXPECT_EQ(ledger.prefixIfLanded(1), std::nullopt);
  ledger.landed(1);
  EXPECT_EQ(ledger.landedPrefix(), 0u);
  // Window 0 closes the gap: its batch records the end of the run 0, 1 (2 is still missing).
  EXPECT_EQ(ledger.prefixIfLanded(0), std::optional<std::size_t>(1));
  ledger.landed(0);
  EXPECT_EQ(ledger.landedPrefix(), 2u);
  // Window 2 takes in window 3, which landed before it.
  EXPECT_EQ(ledger.prefixIfLanded(2), std::optional<std::size_t>(3));
  ledger.landed(2);
  EXPECT_EQ(ledger.prefixIfLanded(4), std::optional<std::size_t>(4));
  ledger.landed(4);
  EXPECT_EQ(ledger.landedPrefix(), 5u);
  EXPECT_FALSE(ledger.anyFailed());
}

TEST(LandingLedger, AFailureInTheMiddleIsAGapForGood) {
  LandingLedger ledger(4);
  ASSERT_EQ(ledger.prefixIfLanded(0), std::optional<std::size_t>(0));
  ledger.landed(0);
  ledger.failed(1);
  EXPECT_TRUE(ledger.anyFailed());
  EXPECT_EQ(ledger.prefixIfLanded(2), std::nullopt) << "nothing after the gap is recorded";
  ledger.landed(2);  // kept in the sink, fetched again by the next run
  EXPECT_EQ(ledger.prefixIfLanded(3), std::nullopt);
  EXPECT_EQ(ledger.landedPrefix(), 1u);
  EXPECT_TRUE(ledger.hasLanded(2));
}

TEST(Scheduler, LongestCollectionsFirstEachInPlanOrder) {
  const auto items = scheduleOrder({2, 5, 0, 5, 1});
  std::vector<std::pair<std::size_t, std::size_t>> got;
  for (const WorkItem& i : items) got.emplace_back(i.collection, i.window);
  const std::vector<std::pair<std::size_t, std::size_t>> want = {
      {1, 0}, {1, 1}, {1, 2}, {1, 3}, {1, 4}, {3, 0}, {3, 1}, {3, 2},
      {3, 3}, {3, 4}, {0, 0}, {0, 1}, {4, 0}};
  EXPECT_EQ(got, want);
}

// A collection's windows on N workers, the way CollectionRun lands them: under one mutex, the
// ledger decides the sync state written with the window's rows. The "sink" checks after every
// write that the state never covers a window whose rows are not in it.
struct FakeCollection {
  explicit FakeCollection(std::size_t windows) : ledger(windows), in_sink(windows, false) {}
  std::mutex mutex;
  LandingLedger ledger;
  std::vector<bool> in_sink;
  std::optional<std::size_t> synced;  // the sink's sync state: windows 0..synced are covered
  std::vector<std::size_t> writes;    // the order windows landed in
  bool state_ahead_of_data = false;

  void land(std::size_t w) {
    std::lock_guard lock(mutex);
    const std::optional<std::size_t> end = ledger.prefixIfLanded(w);
    in_sink[w] = true;  // the rows and the state in one transaction
    if (end) synced = *end;
    ledger.landed(w);
    writes.push_back(w);
    if (synced) {
      for (std::size_t i = 0; i <= *synced; ++i) state_ahead_of_data |= !in_sink[i];
    }
  }
  void fail(std::size_t w) {
    std::lock_guard lock(mutex);
    ledger.failed(w);
  }
};

TEST(Scheduler, ParallelWindowsLandOutOfOrderAndTheStateFollowsTheContiguousPrefix) {
  constexpr std::size_t kWindows = 40;
  FakeCollection c(kWindows);
  std::atomic<int> in_flight{0}, most_in_flight{0};
  runWorkItems(scheduleOrder({kWindows}), 8, [&](std::size_t worker, const WorkItem& item) {
    const int now = ++in_flight;
    int seen = most_in_flight;
    while (now > seen && !most_in_flight.compare_exchange_weak(seen, now)) {
    }
    // Later windows of the plan are quicker, so they tend to land before earlier ones; window 0
    // waits for window 1 (handed to another worker right after it), so at least that pair lands
    // out of order.
    std::this_thread::sleep_for(std::chrono::milliseconds((item.window * 7 + worker * 3) % 11));
    if (item.window == 0) {
      for (int i = 0; i < 5000; ++i) {
        {
          std::lock_guard lock(c.mutex);
          if (c.ledger.hasLanded(1)) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    --in_flight;
    c.land(item.window);
  });
  EXPECT_GT(most_in_flight.load(), 1) << "more than one window of the collection in flight";
  EXPECT_EQ(c.writes.size(), kWindows);
  EXPECT_FALSE(std::is_sorted(c.writes.begin(), c.writes.end()))
      << "the windows landed in plan order; the test shows nothing";
  EXPECT_FALSE(c.state_ahead_of_data);
  EXPECT_EQ(c.synced, std::optional<std::size_t>(kWindows - 1)) << "all landed: state at the end";
}

TEST(Scheduler, AFailureInTheMiddleLeavesTheStateAtTheWindowBeforeIt) {
  constexpr std::size_t kWindows = 24, kFailing = 9;
  FakeCollection c(kWindows);
  runWorkItems(scheduleOrder({kWindows}), 4, [&](std::size_t, const WorkItem& item) {
    {
      std::lock_guard lock(c.mutex);
      if (c.ledger.anyFailed()) return;  // CollectionRun::runWindow: nothing new after a gap
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(item.window % 3));
    if (item.window == kFailing) c.fail(item.window);
    else c.land(item.window);
  });
  EXPECT_FALSE(c.state_ahead_of_data);
  ASSERT_TRUE(c.synced);
  EXPECT_LE(*c.synced, kFailing - 1);
  EXPECT_LE(c.ledger.landedPrefix(), kFailing);
  // Windows before the failure that had started landed; the state reaches as far as they do.
  EXPECT_EQ(*c.synced + 1, c.ledger.landedPrefix());
}

TEST(Scheduler, AStopLeavesWindowsInFlightUnlandedAndTheStateBehindTheData) {
  constexpr std::size_t kWindows = 60;
  FakeCollection c(kWindows);
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> started{0};
  std::mt19937 random(7);
  std::vector<int> pause(kWindows);
  for (int& p : pause) p = static_cast<int>(random() % 5);
  runWorkItems(scheduleOrder({kWindows}), 8, [&](std::size_t, const WorkItem& item) {
    if (stop) return;  // runScrape: nothing new starts after a signal
    if (++started == 20) stop = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(pause[item.window]));
    // A window that sees the stop is abandoned half-way (like a kill): its rows never land.
    if (stop && item.window % 2 == 1) return;
    c.land(item.window);
  });
  EXPECT_LT(c.writes.size(), kWindows);
  EXPECT_FALSE(c.state_ahead_of_data);
  const std::size_t prefix = c.ledger.landedPrefix();
  if (prefix == 0) EXPECT_FALSE(c.synced);
  else EXPECT_EQ(c.synced, std::optional<std::size_t>(prefix - 1));
}

TEST(Scheduler, EveryItemRunsOnceOnSeveralWorkers) {
  const auto items = scheduleOrder({7, 3, 12});
  std::mutex mutex;
  std::multiset<std::pair<std::size_t, std::size_t>> ran;
  std::set<std::size_t> workers;
  runWorkItems(items, 4, [&](std::size_t worker, const WorkItem& item) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::lock_guard lock(mutex);
    ran.emplace(item.collection, item.window);
    workers.insert(worker);
  });
  EXPECT_EQ(ran.size(), items.size());
  for (const WorkItem& i : items) EXPECT_EQ(ran.count({i.collection, i.window}), 1u);
  for (std::size_t w : workers) EXPECT_LT(w, 4u);
}

}  // namespace
}  // namespace oura::core
