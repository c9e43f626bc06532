#include "sync/run_summary.hpp"


#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <iomanip>
#include <string>
#include <vector>

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

ErrorKind RunSummary::ending() const {
  bool any_failed = false, any_interrupted = false, any_login = false;
  std::size_t unauthorised = 0;
  for (const auto& c : collections) {
    any_failed |= c.outcome == Outcome::Failed;
    any_interrupted |= c.outcome == Outcome::Interrupted;
    any_login |= c.outcome == Outcome::LoginNeeded;
    unauthorised += c.outcome == Outcome::NotAuthorised;
  }
  if (any_login) return ErrorKind::LoginNeeded;
  // Not one collection reached the API: it is unreachable, nothing was done.
  if (!collections.empty() &&
      std::all_of(collections.begin(), collections.end(),
                  [](const CollectionSummary& c) { return c.unreachable; })) {
    return ErrorKind::Unavailable;
  }
  if (!collections.empty() && unauthorised == collections.size()) return ErrorKind::LoginNeeded;
  if (any_interrupted) return ErrorKind::Interrupted;
  // The data landed, but the refreshed token is in no store: the command did not succeed.
  if (token_failure != ErrorKind::None) return token_failure;
  if (any_failed) return ErrorKind::Partial;
  return ErrorKind::None;
}

std::string grantScopeAdvice(const std::string& scope) {
  if (scope.empty()) return "run `oura-collector auth login` again";
  return "grant the '" + scope + "' scope (run `oura-collector auth login` again and allow it; " +
         "oauth.scopes must include it)";
}

namespace {

// The exit-0 line: every collection synced, or honestly how many were and why not the rest.
std::string okLine(const std::vector<CollectionSummary>& collections) {
  std::size_t ok = 0, upgrade = 0;
  std::vector<std::string> scopes;
  std::vector<std::string> unauthorised;
  for (const auto& c : collections) {
    ok += c.outcome == Outcome::Ok;
    upgrade += c.outcome == Outcome::UpgradeRequired;
    if (c.outcome == Outcome::NotAuthorised) {
      unauthorised.push_back(c.collection);
      if (!c.missing_scope.empty() &&
          std::find(scopes.begin(), scopes.end(), c.missing_scope) == scopes.end()) {
        scopes.push_back(c.missing_scope);
      }
    }
  }
  if (ok == collections.size()) return ": every collection synced";
  std::string line = ": synced " + std::to_string(ok) + " of " +
                     std::to_string(collections.size()) + " collections";
  if (!unauthorised.empty()) {
    std::string names, grant;
    for (const auto& n : unauthorised) names += (names.empty() ? "" : ", ") + n;
    for (const auto& s : scopes) grant += (grant.empty() ? "" : ", ") + s;
    line += "; " + std::to_string(unauthorised.size()) + " not authorised (" + names + ")";
    if (!grant.empty()) line += ": grant scope " + grant + " with `oura-collector auth login`";
  }
  if (upgrade > 0) {
    line += "; " + std::to_string(upgrade) + " need an update of the Oura app (see above)";
  }
  return line;
}

}  // namespace

void RunSummary::print(std::ostream& out, int exit_code) const {
  // Every column as wide as its widest cell (header or value), two spaces apart.
  const std::vector<std::string> headers = {"requests", "retries", "docs",    "rows",
                                            "inserted", "updated", "skipped", "warnings"};
  const auto cells = [](const CollectionSummary& c) {
    return std::vector<std::uint64_t>{c.requests, c.retries,  c.documents, c.rows,
                                      c.inserted, c.updated, c.skipped,   c.warnings};
  };
  std::size_t width = 10;
  std::vector<std::size_t> widths;
  for (const auto& h : headers) widths.push_back(h.size());
  for (const auto& c : collections) {
    width = std::max(width, c.collection.size());
    const auto values = cells(c);
    for (std::size_t i = 0; i < values.size(); ++i) {
      widths[i] = std::max(widths[i], std::to_string(values[i]).size());
    }
  }
  out << std::left << std::setw(static_cast<int>(width)) << "collection" << std::right;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    out << "  " << std::setw(static_cast<int>(widths[i])) << headers[i];
  }
  out << "  outcome\n";
  for (const auto& c : collections) {
    out << std::left << std::setw(static_cast<int>(width)) << c.collection << std::right;
    const auto values = cells(c);
    for (std::size_t i = 0; i < values.size(); ++i) {
      out << "  " << std::setw(static_cast<int>(widths[i])) << values[i];
    }
    out << "  " << toString(c.outcome) << "\n";
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
  const ErrorKind kind = ending();
  out << "exit " << exit_code
      << (kind == token_failure && !token_problem.empty()
              ? (token_failure == ErrorKind::Interrupted
                     ? ": the refreshed token could not be saved (see above); run again"
                     : ": the refreshed token could not be saved (see above); a login will be "
                       "needed")
          : kind == ErrorKind::None    ? okLine(collections)
          : kind == ErrorKind::Partial
              ? (std::all_of(collections.begin(), collections.end(),
                             [](const CollectionSummary& c) { return c.outcome == Outcome::Failed; })
                     ? ": every collection failed (see above)"
                     : ": partial, some collections failed (see above); the rest landed")
          : kind == ErrorKind::LoginNeeded ? ": login needed"
          : kind == ErrorKind::Interrupted ? ": interrupted; safe to run again"
          : kind == ErrorKind::Unavailable
              ? ": the Oura API could not be reached; nothing was done"
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

namespace {

std::string isoTime(std::int64_t ms) {
  return Poco::DateTimeFormatter::format(Poco::Timestamp(ms * 1000),
                                         "%Y-%m-%dT%H:%M:%S.%iZ");
}

}  // namespace

void RunSummary::writeJson(std::ostream& out, const std::string& command,
                           std::int64_t started_at_ms, std::int64_t finished_at_ms, int exit_code,
                           const std::string& outcome, const std::string& error) const {
  Poco::JSON::Object root(Poco::JSON_PRESERVE_KEY_ORDER);
  root.set("command", command);
  root.set("started_at", isoTime(started_at_ms));
  root.set("finished_at", isoTime(finished_at_ms));
  root.set("exit_code", exit_code);
  root.set("outcome", outcome);
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
