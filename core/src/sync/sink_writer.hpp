#pragma once
// Hands batches to sinks and opens and closes them, with the sinks' outcomes mapped to what the
// run does next.

#include "plugin_host/runtime.hpp"
#include "sync/run_summary.hpp"

#include <oura_sdk/sink.hpp>

#include <Poco/Logger.h>

#include <atomic>
#include <string>
#include <vector>

namespace oura::core {

// Hands one batch to one sink: RetryLater is retried with a growing pause (at most
// kSinkAttempts tries in all, none once a stop was asked for); anything but Done throws, naming
// the sink, the collection and the window. Counts what the sink inserted and updated.
void writeBatch(SinkInstance& sink, const sdk::SinkBatch& batch, const std::atomic<bool>& stop,
                Poco::Logger& log, CollectionSummary& summary);

// Opens every sink before anything is fetched; maps what they throw to DESIGN.md's exit codes.
void openSinks(Runtime& rt, const std::vector<const sdk::CollectionSpec*>& specs);

// Closes every sink; a sink that does not close cleanly is logged on `log`.
void closeSinks(Runtime& rt, Poco::Logger& log);

}  // namespace oura::core
