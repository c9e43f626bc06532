#include "sync/window_plan.hpp"

#include <algorithm>

namespace oura::core {

int requestDays(int max_window_days) { return std::max(1, max_window_days - 3); }

QueryParams dateQuery(const DayRange& days) {
  return {{"start_date", formatDay(days.first - 1)}, {"end_date", formatDay(days.last + 2)}};
}

QueryParams dateTimeQuery(const DayRange& days) {
  return {{"start_datetime", formatDay(days.first) + "T00:00:00+00:00"},
          {"end_datetime", formatDay(days.last + 1) + "T00:00:00+00:00"}};
}

std::vector<PlannedWindow> planWindows(const sdk::CollectionSpec& spec, const DayRange& window) {
  std::vector<PlannedWindow> plan;
  switch (spec.strategy) {
    case sdk::SyncStrategy::DateWindow:
      for (const DayRange& days : splitWindow(window, requestDays(spec.max_window_days))) {
        plan.push_back({days, dateQuery(days), Keep::ByDay});
      }
      break;
    case sdk::SyncStrategy::DateTimeWindow:
      for (const DayRange& days :
           splitWindow(window, std::max(1, std::min(spec.max_window_days, kMaxDateTimeDays)))) {
        plan.push_back({days, dateTimeQuery(days), Keep::ByDay});
      }
      break;
    case sdk::SyncStrategy::Snapshot:
      plan.push_back({window, {}, Keep::All});
      break;
    case sdk::SyncStrategy::FullRefetch: {
      // The whole history every run, so a period that was open last time closes: from the first
      // day Oura can hold (or the run's own start, if earlier) through today, whatever --until
      // says.
      const DayRange history{std::min(window.first, parseDay(kHistoryStart)),
                             std::max(window.last, today())};
      plan.push_back({history, dateQuery(history), Keep::All});
      break;
    }
  }
  return plan;
}

}  // namespace oura::core
