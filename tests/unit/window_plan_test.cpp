// The window plan (sync/window_plan.hpp): which windows a collection's run fetches and the query
// of each, in-process.
#include "sync/window_plan.hpp"

#include <oura_sdk/schema.hpp>

#include <gtest/gtest.h>

#include <string>

namespace oura::core {
namespace {

std::string param(const QueryParams& query, const std::string& name) {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return "(absent)";
}

TEST(WindowPlan, DateTimeWindowsAskExactlyThirtyDaysByInstant) {
  const sdk::CollectionSpec spec = sdk::collectionSpec("heartrate", "PublicHeartRateRow",
                                                       "heartrate",
                                                       sdk::SyncStrategy::DateTimeWindow,
                                                       "timestamp");
  const DayRange days{parseDay("2024-01-10"), parseDay("2024-05-08")};  // 120 days
  const auto plan = planWindows(spec, days);
  ASSERT_EQ(plan.size(), 4u) << "120 days in windows of 30, no widening";
  DayNumber next = days.first;
  for (const PlannedWindow& w : plan) {
    EXPECT_EQ(w.days.first, next) << "consecutive, without a gap or an overlap";
    EXPECT_EQ(w.days.last - w.days.first + 1, 30);
    EXPECT_EQ(w.keep, Keep::ByDay);
    // [first 00:00 UTC, last + 1 day 00:00 UTC): the next window starts at this one's end.
    EXPECT_EQ(param(w.query, "start_datetime"), formatDay(w.days.first) + "T00:00:00+00:00");
    EXPECT_EQ(param(w.query, "end_datetime"), formatDay(w.days.last + 1) + "T00:00:00+00:00");
    next = w.days.last + 1;
  }
  EXPECT_EQ(next, days.last + 1);
  EXPECT_EQ(param(plan[1].query, "start_datetime"), param(plan[0].query, "end_datetime"));
}

TEST(WindowPlan, ALastShortDateTimeWindowEndsAtTheRunsLastDay) {
  const sdk::CollectionSpec spec = sdk::collectionSpec(
      "ring_battery_level", "PublicRingBatteryLevelRow", "daily",
      sdk::SyncStrategy::DateTimeWindow, "timestamp");
  const auto plan = planWindows(spec, {parseDay("2024-01-01"), parseDay("2024-02-04")});
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(formatDay(plan[1].days.first), "2024-01-31");
  EXPECT_EQ(formatDay(plan[1].days.last), "2024-02-04");
  EXPECT_EQ(param(plan[1].query, "end_datetime"), "2024-02-05T00:00:00+00:00");
}

// [first - 1, last + 2): end_date is inclusive for some collections, and /sleep and /workout
// filter on the UTC date of their start with an exclusive end (a local day reaches D+1 in UTC).
TEST(WindowPlan, DateWindowsAskOneDayBeforeAndTwoAfter) {
  sdk::CollectionSpec spec = sdk::collectionSpec("daily_sleep", "DailySleepModel", "daily",
                                                 sdk::SyncStrategy::DateWindow, "day");
  spec.max_window_days = 30;
  const DayRange days{parseDay("2024-01-01"), parseDay("2024-03-31")};  // 91 days
  const auto plan = planWindows(spec, days);
  ASSERT_EQ(plan.size(), 4u) << "27 kept days per window of 30 asked";
  for (const PlannedWindow& w : plan) {
    EXPECT_LE(w.days.last - w.days.first + 1, 27);
    EXPECT_EQ(param(w.query, "start_date"), formatDay(w.days.first - 1));
    EXPECT_EQ(param(w.query, "end_date"), formatDay(w.days.last + 2));
  }
  EXPECT_EQ(plan.front().days.first, days.first);
  EXPECT_EQ(plan.back().days.last, days.last);
}

TEST(WindowPlan, ASnapshotIsOneWalkWithoutDays) {
  const sdk::CollectionSpec spec = sdk::collectionSpec("personal_info", "PersonalInfoResponse",
                                                       "personal", sdk::SyncStrategy::Snapshot);
  const auto plan = planWindows(spec, {parseDay("2024-01-01"), parseDay("2024-12-31")});
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_TRUE(plan[0].query.empty());
  EXPECT_EQ(plan[0].keep, Keep::All);
}

TEST(WindowPlan, AFullRefetchWalksTheWholeHistoryThroughToday) {
  const sdk::CollectionSpec spec = sdk::collectionSpec("enhanced_tag", "EnhancedTagModel", "tag",
                                                       sdk::SyncStrategy::FullRefetch, "start_day");
  const auto plan = planWindows(spec, {today() - 3, today() - 1});
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(formatDay(plan[0].days.first), kHistoryStart);
  EXPECT_EQ(plan[0].days.last, today());
  EXPECT_EQ(param(plan[0].query, "start_date"), formatDay(parseDay(kHistoryStart) - 1));
  EXPECT_EQ(plan[0].keep, Keep::All);
}

}  // namespace
}  // namespace oura::core
