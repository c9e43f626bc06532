#pragma once
// The window plan (DESIGN.md): which windows a collection's run fetches, and the query of each.

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

// A request asks for one day more on each side than the days it keeps (see dateQuery), so a
// chunk of days must be two days shorter than the widest request allowed.
int requestDays(int max_window_days);

// The windows a collection's run fetches (the window plan of DESIGN.md): date windows of at
// most max_window_days asked, datetime windows of at most 30 days asked; snapshots and full
// re-fetches are one request walk.
std::vector<DayRange> planWindows(const sdk::CollectionSpec& spec, const DayRange& window);

}  // namespace oura::core
