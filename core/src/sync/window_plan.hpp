#pragma once
// The window plan (DESIGN.md): which windows a collection's run fetches, and the query of each.

#include "http/api_client.hpp"
#include "sync/days.hpp"

#include <oura_sdk/endpoint.hpp>

#include <vector>

namespace oura::core {

// The first day a full re-fetch asks for: Oura's first ring shipped in 2015, so no account holds
// anything earlier.
inline constexpr const char* kHistoryStart = "2015-01-01";
// The earliest day a run may ask for (a safety bound well before kHistoryStart).
inline constexpr const char* kEarliestDay = "2010-01-01";

// Which fetched documents a batch keeps.
enum class Keep {
  ByDay,  // only those whose own day (CollectionSpec::day_field) is inside the chunk
  All,    // every document (snapshots and full re-fetches)
};

// A request asks for one day more before and two days more after the days it keeps (see
// dateQuery), so a chunk of days must be three days shorter than the widest request allowed.
int requestDays(int max_window_days);

// The start_date/end_date query of a chunk of local days: [first - 1, last + 2). Some
// collections filter on the UTC date of a time (/sleep on bedtime_start, /workout on
// start_datetime) with an exclusive end, while a document's `day` is local: a document of local
// day D starts between D-1 10:00 UTC (00:00 at +14:00) and D+1 14:00 UTC (24:00 at -14:00), so
// its UTC date is D-1, D or D+1. The end (exclusive) is therefore last + 2; the start last - 1
// (inclusive). Rows are then kept by their own day, so the widening never adds a day, and
// consecutive chunks' requests overlap without a document kept twice.
QueryParams dateQuery(const DayRange& chunk);

// [first - 1 day, last + 2 days) in UTC for start_datetime/end_datetime (a span of the chunk plus
// two days, at most 30): a sample whose own (local) date is inside the chunk is fetched whatever
// its UTC offset.
QueryParams dateTimeQuery(const DayRange& chunk);

// The windows a collection's run fetches (the window plan of DESIGN.md): date windows of at
// most max_window_days asked, datetime windows of at most 30 days asked; snapshots and full
// re-fetches are one request walk.
std::vector<DayRange> planWindows(const sdk::CollectionSpec& spec, const DayRange& window);

}  // namespace oura::core
