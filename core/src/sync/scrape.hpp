#pragma once
// The scrape command's scheduler: plans each enabled collection's windows, fetches them through
// the shared HTTP layer (one ApiClient per worker thread; one RateLimiter and RetryPolicy for the
// process), maps documents to rows with the endpoint plugin, and hands batches to every sink.
// One collection failing never stops the others; the run ends with a per-collection summary.

#include "plugin_host/runtime.hpp"

#include "sync/run_summary.hpp"

#include <oura_sdk/sink.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace oura::core {

struct ScrapeOptions {
  bool dry_run = false;
  std::optional<int> days;              // --days N: the last N days, today included
  std::optional<std::string> since;     // --since YYYY-MM-DD
  std::optional<std::string> until;     // --until YYYY-MM-DD (default: today)
  std::vector<std::string> collections; // --collections a,b (overrides the manifest's list)
  int overlap_days = 2;                 // incremental runs start this many days before state
};

// Splits comma-separated items ("a,b", " c ") into names; empty items are dropped.
std::vector<std::string> splitList(const std::vector<std::string>& items);

// The collections a run covers: `requested` (--collections, comma-separated items) or else the
// manifest's list, or else every served collection. Throws Error: unknown names are Usage from
// the command line, Config from the manifest.
std::vector<const ServedCollection*> selectCollections(const Runtime& runtime,
                                                       const std::vector<std::string>& requested);

// Runs a scrape. `stop` becomes true on SIGINT/SIGTERM: nothing new starts. The sinks stay open:
// the caller records the run (run_log.hpp recordRun) and closes them (sink_writer.hpp closeSinks).
// Throws Error for usage errors (unknown --collections name: Usage), configuration errors
// (Config), a missing token (LoginNeeded) and sinks that cannot open (Unavailable), all before
// any request.
RunSummary runScrape(Runtime& runtime, const ScrapeOptions& options, const std::atomic<bool>& stop);

}  // namespace oura::core
