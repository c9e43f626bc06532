#pragma once
// One collection's run: its windows fetched through the shared HTTP layer, documents kept by
// their own day, mapped by the endpoint plugin, written to every sink with the sync state.

#include "auth/token_provider.hpp"
#include "cli/progress.hpp"
#include "http/api_client.hpp"
#include "plugin_host/runtime.hpp"
#include "sync/batch_emitter.hpp"
#include "sync/days.hpp"
#include "sync/run_summary.hpp"
#include "sync/window_plan.hpp"

#include <atomic>
#include <optional>
#include <string>

namespace oura::core {

// Runs one collection over `window` (inclusive days; ignored by snapshots, widened to the whole
// history by full re-fetches) and fills `summary`: counts, outcome and the message saying what
// to do. Never throws for a failure of the collection itself (its outcome says it).
void runCollection(Runtime& runtime, const ServedCollection& served, ApiClient& client,
                   StoreTokenProvider& tokens, const std::atomic<bool>& stop,
                   CollectionSummary& summary, Progress& progress, DayRange window);

}  // namespace oura::core
