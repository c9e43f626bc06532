#pragma once
// The outcome of a run: per collection, what was fetched and written and how it ended; how the
// whole run ended (an ErrorKind, which cli/exit_codes.hpp turns into docs/retries.md's exit code);
// the table on stderr and --summary-json.

#include "errors.hpp"

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
  std::uint64_t rate_limited = 0;  // 429 answers among the requests
  double duration_seconds = 0;     // from its start to its end (metrics)
  Outcome outcome = Outcome::Ok;
  bool unreachable = false;      // failed without ever reaching the API (connection refused...)
  std::string message;           // what failed and what to do
  std::string missing_scope;     // NotAuthorised: the scope the collection needs
};

// "grant the 'X' scope (run `oura-collector auth login` again ...)": what to do about a
// collection that is not authorised.
std::string grantScopeAdvice(const std::string& scope);

struct RunSummary {
  std::vector<CollectionSummary> collections;
  // Set when the run refreshed its token but could not save the new pair (token_provider.hpp
  // unsavedRefresh()): its kind (Unavailable, Interrupted or Config) replaces None and Partial,
  // and its message is a line of the summary (and the JSON's `error`).
  ErrorKind token_failure = ErrorKind::None;
  std::string token_problem;
  std::int64_t started_at_ms = 0;  // when the run started (the run log)
  // How the run ended (DESIGN.md "Errors and exit codes"): None when every collection synced.
  ErrorKind ending() const;
  // A human-readable table, one line per failure with what to do, and the last line
  // "exit <exit_code>: <what it means>".
  void print(std::ostream& out, int exit_code) const;
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
                 std::int64_t finished_at_ms, int exit_code, const std::string& outcome,
                 const std::string& error) const;
};

}  // namespace oura::core
