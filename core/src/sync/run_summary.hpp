#pragma once
// The outcome of a run: per collection, what was fetched and written and how it ended; the exit
// code of docs/retries.md's table for the whole run; the table on stderr and --summary-json.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace oura::core {

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
  std::uint64_t rejected = 0;    // of those, quarantined (the sinks' dead-letter store)
  std::uint64_t replaced = 0;    // `\u0000` escapes stored as U+FFFD (documents still stored)
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
  //    documents, rows, inserted, updated, skipped, warnings, rejected, replaced, outcome,
  //    message}],
  //    "totals": {requests, retries, documents, rows, inserted, updated, skipped, warnings,
  //    rejected, replaced}}
  void writeJson(std::ostream& out, const std::string& command, std::int64_t started_at_ms,
                 std::int64_t finished_at_ms, int exit_code, const std::string& error) const;
};

}  // namespace oura::core
