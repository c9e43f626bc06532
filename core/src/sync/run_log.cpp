#include "sync/run_log.hpp"

#include "sync/days.hpp"
#include "errors.hpp"

#include <oura_sdk/errors.hpp>

#include <Poco/DateTimeFormatter.h>
#include <Poco/Logger.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

namespace oura::core {

namespace {

constexpr std::size_t kMaxErrorText = 4000;  // characters of RunRecord::error

// "2024-04-08 10:00:01Z"
std::string utcTime(std::int64_t ms) {
  return Poco::DateTimeFormatter::format(Poco::Timestamp(ms * 1000), "%Y-%m-%d %H:%M:%SZ");
}

// "just now", "5 min ago", "3 h ago", "2 d ago" (`now_ms` - `ms`).
std::string ago(std::int64_t ms, std::int64_t now_ms) {
  const std::int64_t seconds = std::max<std::int64_t>(0, (now_ms - ms) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return std::to_string(seconds / 60) + " min ago";
  if (seconds < 2 * 86400) return std::to_string(seconds / 3600) + " h ago";
  return std::to_string(seconds / 86400) + " d ago";
}

// A message on one line (a multi-line error would break the table's layout).
std::string oneLine(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  return text;
}

// The scope each served collection needs, by name.
std::map<std::string, std::string> scopesByCollection(const Runtime& rt) {
  std::map<std::string, std::string> out;
  for (const auto& c : rt.collections) out[c.spec->name] = c.spec->scope;
  return out;
}

void printAccount(const std::string& account, const std::vector<std::string>& enabled,
                  const std::vector<const sdk::CollectionStatus*>& known, std::ostream& out,
                  long today, std::int64_t now_ms, const std::map<std::string, std::string>& scopes) {
  std::map<std::string, const sdk::CollectionStatus*> by_name;
  for (const auto* s : known) by_name[s->collection] = s;
  std::vector<std::pair<std::string, const sdk::CollectionStatus*>> rows;
  std::set<std::string> listed;
  for (const std::string& name : enabled) {
    auto it = by_name.find(name);
    rows.emplace_back(name, it == by_name.end() ? nullptr : it->second);
    listed.insert(name);
  }
  for (const auto* s : known) {
    if (!listed.count(s->collection)) rows.emplace_back(s->collection + " (not enabled)", s);
  }
  std::size_t width = 10;
  for (const auto& [name, s] : rows) width = std::max(width, name.size());
  out << "account " << account << "\n";
  out << "  " << std::left << std::setw(static_cast<int>(width)) << "collection" << "  "
      << std::setw(14) << "synced through" << "  " << std::setw(12) << "behind" << "  "
      << std::setw(34) << "last run (finished)" << "  " << std::setw(16) << "outcome" << "  "
      << "last error" << "\n";
  std::vector<std::string> errors;
  std::vector<std::string> rejected;
  std::vector<std::string> unauthorised;  // "collection (scope)" not authorised in its last run
  std::vector<std::string> holes;         // "  - collection: first..last" of pending backfills
  for (const auto& [name, s] : rows) {
    if (s != nullptr && s->last_run_outcome == "not_authorised") {
      auto scope = scopes.find(s->collection);
      unauthorised.push_back(s->collection + (scope == scopes.end() || scope->second.empty()
                                                  ? std::string()
                                                  : " (scope " + scope->second + ")"));
    }
    std::string synced = "-", behind = "-", last_run = "never", outcome = "-", last_error = "-";
    if (s != nullptr) {
      if (s->synced_through) {
        synced = *s->synced_through;
        try {
          const long days = today - parseDay(*s->synced_through);
          behind = std::to_string(std::max(0L, days)) + " d";
          // More than the default overlap behind: the collection has not been synced lately.
          if (days > 2) behind += " STALE";
        } catch (const std::invalid_argument&) {
          behind = "?";
        }
      }
      if (s->missing) {
        // A backfill that did not land completely: behind, whatever the sync state says.
        behind = "hole";
        holes.push_back("  - " + s->collection + ": " + s->missing->first_day + ".." +
                        s->missing->last_day);
      }
      if (s->last_run_finished_at_ms) {
        last_run = utcTime(*s->last_run_finished_at_ms) + " (" +
                   ago(*s->last_run_finished_at_ms, now_ms) + ")";
        outcome = s->last_run_outcome.empty() ? "-" : s->last_run_outcome;
        if (s->last_run_command == "reprocess") outcome += " (reprocess)";
      }
      if (s->rejected_documents != 0) {
        rejected.push_back("  - " + s->collection + ": " + std::to_string(s->rejected_documents) +
                           " rejected document(s) in quarantine");
      }
      if (s->last_error_at_ms) {
        last_error = utcTime(*s->last_error_at_ms) + " " + s->last_error_outcome;
        errors.push_back("  - " + s->collection + ", " + utcTime(*s->last_error_at_ms) + " (" +
                         ago(*s->last_error_at_ms, now_ms) + "), " + s->last_error_outcome +
                         ": " + oneLine(s->last_error.empty() ? "(no message)" : s->last_error));
      }
    } else {
      synced = "never";
    }
    out << "  " << std::left << std::setw(static_cast<int>(width)) << name << "  "
        << std::setw(14) << synced << "  " << std::setw(12) << behind << "  " << std::setw(34)
        << last_run << "  " << std::setw(16) << outcome << "  " << last_error << "\n";
  }
  if (!holes.empty()) {
    out << "  behind: a backfill did not land completely; these days are still missing (the "
           "next `oura-collector scrape` fetches them first):\n";
    for (const std::string& line : holes) out << line << "\n";
  }
  if (!unauthorised.empty()) {
    std::string list;
    for (const auto& u : unauthorised) list += (list.empty() ? "" : ", ") + u;
    out << "  not authorised in their last run: " << list
        << ": grant the scope with `oura-collector auth login` (oauth.scopes must include it)\n";
  }
  if (!errors.empty()) {
    out << "  last errors:\n";
    for (const std::string& line : errors) out << line << "\n";
  }
  if (!rejected.empty()) {
    out << "  rejected documents (oura.rejected_documents; `oura-collector reprocess --rejected` "
           "tries them again):\n";
    for (const std::string& line : rejected) out << line << "\n";
  }
}

}  // namespace

std::vector<std::string> enabledCollections(const Runtime& rt) {
  std::vector<std::string> out;
  if (rt.manifest.collections.empty()) {
    for (const auto& c : rt.collections) out.push_back(c.spec->name);
    return out;
  }
  std::set<std::string> seen;
  for (const std::string& item : rt.manifest.collections) {
    std::stringstream in(item);
    for (std::string name; std::getline(in, name, ',');) {
      name.erase(0, name.find_first_not_of(" \t"));
      name.erase(name.find_last_not_of(" \t") + 1);
      if (!name.empty() && seen.insert(name).second) out.push_back(name);
    }
  }
  return out;
}

std::optional<std::vector<sdk::CollectionStatus>> readStatus(SinkInstance& sink,
                                                             const std::string& account) {
  try {
    std::lock_guard lock(*sink.mutex);
    return sink.plugin->status(account);
  } catch (const sdk::UnavailableError& e) {
    throw Error(ErrorKind::Unavailable, "sink " + sink.name + ": " + e.what());
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Config, "sink " + sink.name + ": cannot read the status: " + e.what());
  }
}

std::int64_t nowMs() { return Poco::Timestamp().epochMicroseconds() / 1000; }

sdk::RunRecord makeRunRecord(const RunSummary& summary, const std::string& account,
                             const std::string& command, std::int64_t started_at_ms,
                             std::int64_t finished_at_ms, int exit_code,
                             const std::string& outcome) {
  sdk::RunRecord run;
  run.account = account;
  run.command = command;
  run.started_at_ms = started_at_ms;
  run.finished_at_ms = finished_at_ms;
  run.exit_code = exit_code;
  run.outcome = outcome;
  run.program_version = OURA_VERSION;
  for (const CollectionSummary& c : summary.collections) {
    sdk::RunCollectionRecord r;
    r.collection = c.collection;
    r.endpoint = c.endpoint;
    r.first_day = c.first_day;
    r.last_day = c.last_day;
    r.requests = c.requests;
    r.retries = c.retries;
    r.pages = c.pages;
    r.documents = c.documents;
    r.rows = c.rows;
    r.inserted = c.inserted;
    r.updated = c.updated;
    r.skipped = c.skipped;
    r.rejected = c.rejected;
    r.replaced = c.replaced;
    r.warnings = c.warnings;
    r.outcome = outcomeName(c.outcome);
    r.message = c.message;
    if (c.outcome != Outcome::Ok) {
      const std::string line = c.collection + ": " + r.outcome +
                               (c.message.empty() ? std::string() : ": " + oneLine(c.message));
      if (run.error.size() < kMaxErrorText) {
        run.error += (run.error.empty() ? "" : "\n") + line;
        if (run.error.size() > kMaxErrorText) run.error.resize(kMaxErrorText);
      }
    }
    run.collections.push_back(std::move(r));
  }
  return run;
}

void recordRun(Runtime& rt, const RunSummary& summary, const std::string& command, int exit_code,
               const std::string& outcome) noexcept {
  try {
    const sdk::RunRecord run = makeRunRecord(summary, rt.manifest.account, command,
                                             summary.started_at_ms, nowMs(), exit_code, outcome);
    for (SinkInstance& sink : rt.sinks) {
      try {
        std::lock_guard lock(*sink.mutex);
        sink.plugin->recordRun(run);
      } catch (const std::exception& e) {
        Poco::Logger::get("oura." + command)
            .warning("sink " + sink.name + " could not record the run in its run log: " +
                     e.what() + " (the run itself is unaffected)");
      }
    }
  } catch (const std::exception& e) {
    Poco::Logger::get("oura." + command)
        .warning(std::string("the run could not be recorded: ") + e.what());
  }
}

void printStatus(Runtime& rt, const std::string& account, std::ostream& out, long today,
                 std::int64_t now_ms) {
  const std::vector<std::string> enabled = enabledCollections(rt);
  const std::map<std::string, std::string> scopes = scopesByCollection(rt);
  bool any = false;
  for (SinkInstance& sink : rt.sinks) {
    const std::optional<std::vector<sdk::CollectionStatus>> status = readStatus(sink, account);
    if (any) out << "\n";
    any = true;
    out << "sink " << sink.name << " (" << sink.loaded.descriptor->name << ")";
    if (!status) {
      out << ": keeps no sync state or run log\n";
      continue;
    }
    out << "\n";
    // Grouped by account, in the sink's order (sorted by account, then collection).
    std::vector<std::string> accounts;
    std::map<std::string, std::vector<const sdk::CollectionStatus*>> by_account;
    for (const sdk::CollectionStatus& s : *status) {
      if (!account.empty() && s.account != account) continue;
      if (!by_account.count(s.account)) accounts.push_back(s.account);
      by_account[s.account].push_back(&s);
    }
    if (!account.empty()) {
      printAccount(account, enabled, by_account[account], out, today, now_ms, scopes);
    } else if (accounts.empty()) {
      out << "no sync state and no run recorded yet, for any account (run `oura-collector "
             "scrape`)\n";
    } else {
      for (const std::string& a : accounts) {
        printAccount(a, enabled, by_account[a], out, today, now_ms, scopes);
      }
    }
  }
  if (!any) out << "the manifest has no sink\n";
}

}  // namespace oura::core
