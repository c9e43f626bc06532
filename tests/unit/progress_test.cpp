// The progress line's estimate: weighted by the requests still to come (each collection's
// requests per window so far, times its windows left), not by the count of windows. The elapsed
// time is given, so nothing here depends on the clock.
#include "cli/progress.hpp"

#include <gtest/gtest.h>

#include <sstream>

using oura::core::Progress;

namespace {

Poco::Logger& quiet() {
  Poco::Logger& log = Poco::Logger::get("progress_test");
  log.setLevel(Poco::Message::PRIO_FATAL);
  return log;
}

}  // namespace

TEST(Progress, TheEstimateIsWeightedByRequestsNotWindows) {
  std::ostringstream out;
  Progress progress(out, false, quiet());
  progress.plan({{"heartrate", 10}, {"daily_sleep", 2}});
  progress.windowDone("daily_sleep", "2024-01-01..2024-12-31", 300, 1);
  progress.windowDone("daily_sleep", "2025-01-01..2025-12-31", 600, 2);
  progress.windowDone("heartrate", "2024-01-01..2024-01-28", 8000, 20);
  // 22 requests in 22 s: one a second. Left: 9 heart-rate windows of 20 requests each = 180 s
  // (counting windows would say 9 of 12 left after 3 in 22 s: 66 s).
  EXPECT_DOUBLE_EQ(progress.secondsLeft(std::chrono::seconds(22)), 180.0);
}

TEST(Progress, ACollectionNotStartedCostsTheRunsAveragePerWindow) {
  std::ostringstream out;
  Progress progress(out, false, quiet());
  progress.plan({{"heartrate", 2}, {"sleep", 3}});
  progress.windowDone("heartrate", "2024-01-01..2024-01-28", 8000, 10);
  // 10 requests in 5 s; left: 1 heart-rate window (10) and 3 sleep windows at the run's
  // average of 10 per window: 40 requests, 20 s.
  EXPECT_DOUBLE_EQ(progress.secondsLeft(std::chrono::seconds(5)), 20.0);
}

TEST(Progress, NoEstimateBeforeTheFirstWindowNorAfterTheLast) {
  std::ostringstream out;
  Progress progress(out, false, quiet());
  progress.plan({{"daily_sleep", 1}});
  EXPECT_LT(progress.secondsLeft(std::chrono::seconds(3)), 0);
  progress.windowDone("daily_sleep", "", 1, 1);
  EXPECT_LT(progress.secondsLeft(std::chrono::seconds(3)), 0);
  EXPECT_EQ(out.str(), "") << "off a terminal nothing is drawn";
}
