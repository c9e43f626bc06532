#pragma once
// The reprocess command's engine.

#include "plugin_host/runtime.hpp"
#include "sync/run_summary.hpp"

#include <atomic>
#include <string>
#include <vector>

namespace oura::core {

// `reprocess`: re-maps the raw documents that sinks stored (after an upgrade added columns),
// without fetching: for each selected collection and each sink that can read its documents
// back, maps them with the endpoint plugin and writes the rows to that sink (child sample rows
// replaced, nothing marked deleted, sync state untouched), in batches while they are read.
// With `rejected` (`reprocess --rejected`): the documents in the sinks' dead-letter stores
// instead (SinkPlugin::readRejected); each one that maps now is written and leaves the store in
// the same transaction, the others stay. Throws Error as runScrape does for usage,
// configuration and sinks that cannot open; like runScrape it leaves recording the run and
// closing the sinks to the caller.
RunSummary runReprocess(Runtime& runtime, const std::vector<std::string>& collections,
                        const std::atomic<bool>& stop, bool rejected = false);

}  // namespace oura::core
