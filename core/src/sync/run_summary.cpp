#include "sync/run_summary.hpp"

#include "cli/exit_codes.hpp"

#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <iomanip>

namespace oura::core {

const char* toString(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::Ok: return "ok";
    case Outcome::Failed: return "FAILED";
    case Outcome::NotAuthorised: return "not authorised";
    case Outcome::UpgradeRequired: return "app update needed";
    case Outcome::LoginNeeded: return "login needed";
    case Outcome::Interrupted: return "interrupted";
  }
  return "unknown";
}

int RunSummary::exitCode() const {
  bool any_failed = false, any_interrupted = false, any_login = false;
  std::size_t unauthorised = 0;
  for (const auto& c : collections) {
    any_failed |= c.outcome == Outcome::Failed;
    any_interrupted |= c.outcome == Outcome::Interrupted;
    any_login |= c.outcome == Outcome::LoginNeeded;
    unauthorised += c.outcome == Outcome::NotAuthorised;
  }
  if (any_login) return kExitLoginNeeded;
  // Not one collection reached the API: it is unreachable, nothing was done.
  if (!collections.empty() &&
      std::all_of(collections.begin(), collections.end(),
                  [](const CollectionSummary& c) { return c.unreachable; })) {
    return kExitUnavailable;
  }
  if (!collections.empty() && unauthorised == collections.size()) return kExitLoginNeeded;
  if (any_interrupted) return kExitInterrupted;
  // The data landed, but the refreshed token is in no store: the command did not succeed.
  if (token_exit != 0) return token_exit;
  if (any_failed) return kExitPartial;
  return kExitOk;
}

void RunSummary::print(std::ostream& out) const {
  std::size_t width = 10;
  for (const auto& c : collections) width = std::max(width, c.collection.size());
  out << std::left << std::setw(static_cast<int>(width)) << "collection" << std::right
      << std::setw(9) << "requests" << std::setw(8) << "retries" << std::setw(7) << "docs"
      << std::setw(9) << "rows" << std::setw(9) << "inserted" << std::setw(8) << "updated"
      << std::setw(8) << "skipped" << std::setw(9) << "warnings" << "  outcome\n";
  for (const auto& c : collections) {
    out << std::left << std::setw(static_cast<int>(width)) << c.collection << std::right
        << std::setw(9) << c.requests << std::setw(8) << c.retries << std::setw(7) << c.documents
        << std::setw(9) << c.rows << std::setw(9) << c.inserted << std::setw(8) << c.updated
        << std::setw(8) << c.skipped << std::setw(9) << c.warnings << "  "
        << toString(c.outcome) << "\n";
  }
  for (const auto& c : collections) {
    if (c.outcome != Outcome::Ok && !c.message.empty()) {
      out << "- " << c.collection << ": " << c.message << "\n";
    }
    if (c.rejected != 0) {
      out << "- " << c.collection << ": " << c.rejected
          << (c.rejected == 1 ? " document was" : " documents were")
          << " rejected and quarantined (the rest landed; see the log for why; PostgreSQL keeps "
             "them in oura.rejected_documents; `reprocess --rejected` tries them again)\n";
    }
    if (c.replaced != 0) {
      out << "- " << c.collection << ": " << c.replaced
          << " NUL character(s) (\\u0000), which PostgreSQL cannot store, were stored as U+FFFD\n";
    }
  }
  if (!token_problem.empty()) out << "- token store: " << token_problem << "\n";
  const int code = exitCode();
  out << "exit " << code
      << (code == token_exit && !token_problem.empty()
              ? (token_exit == kExitInterrupted
                     ? ": the refreshed token could not be saved (see above); run again"
                     : ": the refreshed token could not be saved (see above); a login will be "
                       "needed")
          : code == kExitOk          ? ": every collection synced"
          : code == kExitPartial
              ? (std::all_of(collections.begin(), collections.end(),
                             [](const CollectionSummary& c) { return c.outcome == Outcome::Failed; })
                     ? ": every collection failed (see above)"
                     : ": partial, some collections failed (see above); the rest landed")
          : code == kExitLoginNeeded ? ": login needed"
          : code == kExitInterrupted ? ": interrupted; safe to run again"
          : code == kExitUnavailable ? ": the Oura API could not be reached; nothing was done"
                                     : "")
      << "\n";
}

// The outcome as a word for machines (the table prints toString's words for people).
const char* outcomeName(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::Ok: return "ok";
    case Outcome::Failed: return "failed";
    case Outcome::NotAuthorised: return "not_authorised";
    case Outcome::UpgradeRequired: return "upgrade_required";
    case Outcome::LoginNeeded: return "login_needed";
    case Outcome::Interrupted: return "interrupted";
  }
  return "unknown";
}

const char* exitName(int code) noexcept {
  switch (code) {
    case kExitOk: return "ok";
    case kExitPartial: return "partial";
    case kExitUsage: return "usage";
    case kExitUnavailable: return "unavailable";
    case kExitInterrupted: return "interrupted";
    case kExitLoginNeeded: return "login_needed";
    case kExitConfig: return "config";
    default: return "internal";
  }
}

namespace {

std::string isoTime(std::int64_t ms) {
  return Poco::DateTimeFormatter::format(Poco::Timestamp(ms * 1000),
                                         "%Y-%m-%dT%H:%M:%S.%iZ");
}

}  // namespace

void RunSummary::writeJson(std::ostream& out, const std::string& command,
                           std::int64_t started_at_ms, std::int64_t finished_at_ms, int exit_code,
                           const std::string& error) const {
  Poco::JSON::Object root(Poco::JSON_PRESERVE_KEY_ORDER);
  root.set("command", command);
  root.set("started_at", isoTime(started_at_ms));
  root.set("finished_at", isoTime(finished_at_ms));
  root.set("exit_code", exit_code);
  root.set("outcome", std::string(exitName(exit_code)));
  if (!error.empty()) root.set("error", error);
  else if (!token_problem.empty()) root.set("error", token_problem);
  else root.set("error", Poco::Dynamic::Var());
  Poco::JSON::Array list;
  CollectionSummary totals;
  for (const CollectionSummary& c : collections) {
    Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
    o.set("collection", c.collection);
    o.set("endpoint", c.endpoint);
    if (c.first_day.empty()) o.set("first_day", Poco::Dynamic::Var());
    else o.set("first_day", c.first_day);
    if (c.last_day.empty()) o.set("last_day", Poco::Dynamic::Var());
    else o.set("last_day", c.last_day);
    o.set("requests", c.requests);
    o.set("retries", c.retries);
    o.set("pages", c.pages);
    o.set("documents", c.documents);
    o.set("rows", c.rows);
    o.set("inserted", c.inserted);
    o.set("updated", c.updated);
    o.set("skipped", c.skipped);
    o.set("warnings", c.warnings);
    o.set("rejected", c.rejected);
    o.set("replaced", c.replaced);
    o.set("outcome", std::string(outcomeName(c.outcome)));
    if (c.message.empty()) o.set("message", Poco::Dynamic::Var());
    else o.set("message", c.message);
    list.add(o);
    totals.requests += c.requests;
    totals.retries += c.retries;
    totals.documents += c.documents;
    totals.rows += c.rows;
    totals.inserted += c.inserted;
    totals.updated += c.updated;
    totals.skipped += c.skipped;
    totals.warnings += c.warnings;
    totals.rejected += c.rejected;
    totals.replaced += c.replaced;
  }
  root.set("collections", list);
  Poco::JSON::Object sum(Poco::JSON_PRESERVE_KEY_ORDER);
  sum.set("requests", totals.requests);
  sum.set("retries", totals.retries);
  sum.set("documents", totals.documents);
  sum.set("rows", totals.rows);
  sum.set("inserted", totals.inserted);
  sum.set("updated", totals.updated);
  sum.set("skipped", totals.skipped);
  sum.set("warnings", totals.warnings);
  sum.set("rejected", totals.rejected);
  sum.set("replaced", totals.replaced);
  root.set("totals", sum);
  root.stringify(out, 2);
  out << "\n";
}

}  // namespace oura::core
