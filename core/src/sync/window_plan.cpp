#include "sync/window_plan.hpp"

#include <algorithm>

namespace oura::core {

int requestDays(int max_window_days) { return std::max(1, max_window_days - 3); }

QueryParams dateQuery(const DayRange& chunk) {
  return {{"start_date", formatDay(chunk.first - 1)}, {"end_date", formatDay(chunk.last + 2)}};
}

QueryParams dateTimeQuery(const DayRange& chunk) {
  return {{"start_datetime", formatDay(chunk.first - 1) + "T00:00:00+00:00"},
          {"end_datetime", formatDay(chunk.last + 2) + "T00:00:00+00:00"}};
}

// The windows a collection's run fetches one after another (the window plan of DESIGN.md):
// date windows of at most max_window_days asked, datetime windows of at most 30 days asked;
// snapshots and full re-fetches are one request walk.
std::vector<DayRange> planWindows(const sdk::CollectionSpec& spec, const DayRange& window) {
  switch (spec.strategy) {
    case sdk::SyncStrategy::DateWindow:
      return splitWindow(window, requestDays(spec.max_window_days));
    case sdk::SyncStrategy::DateTimeWindow:
      // dateTimeQuery asks for the chunk plus two days (one on each side).
      return splitWindow(window, std::max(1, std::min(spec.max_window_days, 30) - 2));
    case sdk::SyncStrategy::Snapshot:
    case sdk::SyncStrategy::FullRefetch:
      break;
  }
  return {window};
}

}  // namespace oura::core
