#pragma once
// The run log (sinks' SinkPlugin::recordRun, at the end of scrape and reprocess) and the
// `status` command that reads it back (SinkPlugin::status): per collection the last synced
// day, the last run and the last error (docs/operations.md "Run log and status").

#include "plugin_host/runtime.hpp"
#include "sync/scrape.hpp"

#include <oura_sdk/sink.hpp>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace oura::core {

// The enabled collections of the manifest (its list, else every served collection), by name.
std::vector<std::string> enabledCollections(const Runtime& runtime);

// Milliseconds since the Unix epoch, now.
// One sink's status for `account` (SinkPlugin::status; nullopt: the sink keeps none), read under
// its mutex. Throws Error: Unavailable when the sink is unreachable, Config when it cannot answer.
std::optional<std::vector<sdk::CollectionStatus>> readStatus(SinkInstance& sink,
                                                             const std::string& account);

std::int64_t nowMs();

// The run log entry of a finished run: the summary's collections, its exit code and outcome word
// (as cli/exit_codes.hpp words the summary's ending()), and an error line per collection that did
// not end ok.
sdk::RunRecord makeRunRecord(const RunSummary& summary, const std::string& account,
                             const std::string& command, std::int64_t started_at_ms,
                             std::int64_t finished_at_ms, int exit_code,
                             const std::string& outcome);

// Hands the run (started at summary.started_at_ms, finished now) to every sink's recordRun()
// (under the sink's mutex). The command line calls it after scrape and reprocess, interrupted
// runs too. Never throws: a sink that cannot record it is logged as a warning, the run's outcome
// is unchanged.
void recordRun(Runtime& runtime, const RunSummary& summary, const std::string& command,
               int exit_code, const std::string& outcome) noexcept;

// `oura-collector status`: per sink that keeps state, a table of the enabled collections (and
// any other the sink knows) for `account` (every account the sink knows when empty): synced
// through, how many days behind that is, the last run (finished, outcome), the last error (when,
// outcome, message). `today` is the local calendar day as a day number (days.hpp), `now_ms` the
// time relative ages are measured from. Throws Error (Unavailable) when a sink cannot be reached,
// (Config) when it cannot read its tables.
void printStatus(Runtime& runtime, const std::string& account, std::ostream& out, long today,
                 std::int64_t now_ms);

}  // namespace oura::core
