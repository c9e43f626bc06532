#pragma once
// The window plan (DESIGN.md "Window plan"): which windows a collection's run fetches, and the
// query of each.

#include "http/api_client.hpp"
#include "sync/days.hpp"

#include <oura_sdk/endpoint.hpp>

#include <string>
#include <vector>

namespace oura::core {

// The first day a full re-fetch asks for: Oura's first ring shipped in 2015, so no account holds
// anything earlier.
inline constexpr const char* kHistoryStart = "2015-01-01";
// The earliest day a run may ask for (a safety bound well before kHistoryStart).
inline constexpr const char* kEarliestDay = "2010-01-01";
// The widest datetime request Oura answers (heartrate, ring_battery_level), in days.
inline constexpr int kMaxDateTimeDays = 30;

// Which fetched documents a batch keeps.
enum class Keep {
  ByDay,  // only those whose own day (CollectionSpec::day_field) is inside the window
  All,    // every document (snapshots and full re-fetches)
};

// A request asks for one day more before and two days more after the days it keeps (see
// dateQuery), so a chunk of days must be three days shorter than the widest request allowed.
int requestDays(int max_window_days);

// One window of a collection's plan: the days it keeps (and that its sync state records), the
// query that fetches them, and which documents it keeps.
struct PlannedWindow {
  DayRange days;
  QueryParams query;
  Keep keep = Keep::ByDay;
};

// The start_date/end_date query of a date window of local days: [first - 1, last + 2). Some
// collections filter on the UTC date of a time (/sleep on bedtime_start, /workout on
// start_datetime) with an exclusive end, while a document's `day` is local: a document of local
// day D starts between D-1 10:00 UTC (00:00 at +14:00) and D+1 14:00 UTC (24:00 at -14:00), so
// its UTC date is D-1, D or D+1. The end (exclusive) is therefore last + 2; the start first - 1
// (inclusive; end_date is inclusive for other collections). Rows are then kept by their own
// day, so the widening never adds a day, and overlapping requests never keep a document twice.
QueryParams dateQuery(const DayRange& days);
// The query of a datetime window: exactly its days by instant, [first 00:00 UTC, last + 1 day
// 00:00 UTC). Samples carry UTC timestamps and are kept by their UTC date, so a sample at an
// edge instant (an end bound the server treats as inclusive) is kept by one window only.
QueryParams dateTimeQuery(const DayRange& days);

// The windows a collection's run fetches (the window plan of DESIGN.md), in order of their days:
// date windows of at most max_window_days asked (requestDays kept), datetime windows of at most
// 30 days asked and kept; snapshots are one request walk without days, full re-fetches one walk
// over the whole history (kHistoryStart, or `window`'s start if earlier, through today or later).
std::vector<PlannedWindow> planWindows(const sdk::CollectionSpec& spec, const DayRange& window);

}  // namespace oura::core
