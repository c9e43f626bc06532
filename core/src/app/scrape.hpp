#pragma once
// The scrape command's scheduler: plans each enabled collection's windows, fetches them through
// the shared HTTP layer (one ApiClient per worker thread; one RateLimiter and RetryPolicy for the
// process), maps documents to rows with the endpoint plugin, and hands batches to every sink.
// One collection failing never stops the others; the run ends with a per-collection summary.

#include "app/runtime.hpp"

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

enum class Outcome {
  Ok,               // every window fetched and written
  Failed,           // a request or a sink failed for good
  NotAuthorised,    // 401/403 or a scope not granted: skipped with a warning
  UpgradeRequired,  // 426: the user's Oura app must be updated; skipped with a warning
  LoginNeeded,      // no usable token
  Interrupted,      // SIGINT/SIGTERM before it finished
};

const char* toString(Outcome outcome) noexcept;
// The outcome as one word for machines (--summary-json, the run log): ok, failed,
// not_authorised, upgrade_required, login_needed, interrupted.
const char* outcomeName(Outcome outcome) noexcept;
// An exit code as one word (--summary-json, the run log): ok, partial, usage, unavailable,
// interrupted, login_needed, config; anything else is internal.
const char* exitName(int code) noexcept;

struct CollectionSummary {
  std::string collection;
  std::string endpoint;       // endpoint instance
  std::string first_day;      // window asked for ("" for snapshots)
  std::string last_day;
  std::uint64_t requests = 0;
  std::uint64_t retries = 0;
  std::uint64_t pages = 0;
  std::uint64_t documents = 0;   // documents kept (inside the window) and mapped
  std::uint64_t rows = 0;        // rows of all streams handed to the sinks
  std::uint64_t skipped = 0;     // documents that could not be mapped
  std::uint64_t warnings = 0;    // lenient-parsing warnings (absent required key, wrong type)
  std::uint64_t inserted = 0;    // as reported by the sinks
  std::uint64_t updated = 0;
  Outcome outcome = Outcome::Ok;
  bool unreachable = false;      // failed without ever reaching the API (connection refused...)
  std::string message;           // what failed and what to do
};

struct RunSummary {
  std::vector<CollectionSummary> collections;
  // Set when the run refreshed its token but could not save the new pair (token_provider.hpp
  // unsavedRefresh()): its exit code (69, 75 or 78) replaces 0 and 1, and its message is a line
  // of the summary (and the JSON's `error`).
  int token_exit = 0;
  std::string token_problem;
  // The exit code of DESIGN.md's table for this run.
  int exitCode() const;
  // A human-readable table and one line per failure with what to do.
  void print(std::ostream& out) const;
  // The same data as JSON (`--summary-json`, docs/operations.md "Run summary"):
  //   {"command", "started_at", "finished_at" (ISO 8601 UTC), "exit_code", "outcome"
  //    (ok|partial|unavailable|internal|interrupted|login_needed|config|usage), "error"
  //    (the message of a run that ended before or outside the collections, else null),
  //    "collections": [{collection, endpoint, first_day, last_day, requests, retries, pages,
  //    documents, rows, inserted, updated, skipped, warnings, outcome, message}],
  //    "totals": {requests, retries, documents, rows, inserted, updated, skipped, warnings}}
  void writeJson(std::ostream& out, const std::string& command, std::int64_t started_at_ms,
                 std::int64_t finished_at_ms, int exit_code, const std::string& error) const;
};

// Runs a scrape. `stop` becomes true on SIGINT/SIGTERM: nothing new starts.
// Throws ExitError for usage errors (unknown --collections name: 64), configuration errors (78),
// a missing token (77) and sinks that cannot open (69), all before any request.
RunSummary runScrape(Runtime& runtime, const ScrapeOptions& options, const std::atomic<bool>& stop);

// The message for a problem with the api.* settings, naming where the value came from
// (the manifest's key, or $OURA_API_BASE_URL).
std::string apiSettingsProblem(const Manifest& manifest, const std::string& problem);

// Validates the api.* settings the way a scrape would (URL, plain http only to loopback, TLS
// set-up with the CA file) without connecting. Throws ExitError(78).
void checkApiSettings(const Manifest& manifest);

// `reprocess`: re-maps the raw documents that sinks stored (after an upgrade added columns),
// without fetching: for each selected collection and each sink that can read its documents
// back, maps them with the endpoint plugin and writes the rows to that sink (child sample rows
// replaced, nothing marked deleted, sync state untouched), in batches while they are read.
// Throws ExitError as runScrape does for
// usage, configuration and sinks that cannot open.
RunSummary runReprocess(Runtime& runtime, const std::vector<std::string>& collections,
                        const std::atomic<bool>& stop);

// Before a scrape or reprocess into sinks that keep a schema: every such sink's schema must be
// at the newest migration of the migrations folder (read only when a sink keeps a schema).
// Throws ExitError(78, "... run init-db") when one is behind, (78) when it is ahead (an older
// program) or the folder is unusable, (69) when a sink cannot be reached.
void requireCurrentSchema(Runtime& runtime);

}  // namespace oura::core
