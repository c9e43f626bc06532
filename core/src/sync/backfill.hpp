#pragma once
// Backfills that must not be forgotten (issue 10 item 3): the days a `scrape --since`/`--days`
// (or the first run of a collection) asks for are remembered by every sink that keeps state
// (SinkPlugin::rememberBackfill) before anything is fetched; each landed window shrinks the
// range in its own transaction; the next plain run starts at the first day still missing.

#include "plugin_host/runtime.hpp"
#include "sync/days.hpp"
#include "sync/run_summary.hpp"

#include <vector>

namespace oura::core {

// For every date- or datetime-windowed collection of `selected` (windows[i] its window,
// summaries[i] its summary line): with an explicit range (`explicit_range`: --since or --days),
// remembers windows[i]; otherwise starts windows[i] at the first day of a pending backfill of
// any sink, and remembers windows[i] for a sink that has no sync state for it yet (a first
// run). Throws Error: Unavailable (a sink unreachable), Interrupted (locked), Config (schema behind), Partial.
void resumeAndRememberBackfills(Runtime& rt, const std::vector<const ServedCollection*>& selected,
                                std::vector<DayRange>& windows,
                                std::vector<CollectionSummary>& summaries, bool explicit_range);

}  // namespace oura::core
