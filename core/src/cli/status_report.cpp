#include "cli/status_report.hpp"

#include "cli/exit_codes.hpp"
#include "sync/days.hpp"
#include "sync/run_log.hpp"

#include <oura_sdk/errors.hpp>

#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/NumberParser.h>
#include <Poco/Timestamp.h>

#include <map>
#include <set>
#include <stdexcept>

namespace oura::core {

namespace {

std::string isoTime(std::int64_t ms) {
  return Poco::DateTimeFormatter::format(Poco::Timestamp(ms * 1000), "%Y-%m-%dT%H:%M:%S.%iZ");
}

Poco::Dynamic::Var timeOrNull(const std::optional<std::int64_t>& ms) {
  return ms ? Poco::Dynamic::Var(isoTime(*ms)) : Poco::Dynamic::Var();
}

struct Judged {
  bool stale = false;
  bool failed = false;
  std::string problem;
};

Judged judge(const std::string& account, const std::string& collection,
             const sdk::CollectionStatus* s, std::chrono::seconds max_age, std::int64_t now_ms) {
  Judged j;
  std::optional<std::int64_t> success;
  if (s != nullptr && s->synced_through && s->synced_at_ms) success = s->synced_at_ms;
  else if (s != nullptr && s->last_run_outcome == "ok") success = s->last_run_finished_at_ms;
  const std::string who = "account " + account + ", " + collection;
  if (s != nullptr && (s->last_run_outcome == "failed" || s->last_run_outcome == "login_needed")) {
    j.failed = true;
    j.problem = who + ": FAILED: the last run ended " + s->last_run_outcome +
                (s->last_error.empty() ? std::string() : ": " + s->last_error);
  }
  if (!success) {
    j.stale = true;
    if (j.problem.empty()) j.problem = who + ": STALE: never synced";
  } else if (now_ms - *success > max_age.count() * 1000) {
    j.stale = true;
    if (j.problem.empty()) {
      j.problem = who + ": STALE: last synced " + isoTime(*success) + ", more than " +
                  std::to_string(max_age.count()) + " s ago";
    }
  }
  for (char& c : j.problem) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return j;
}

}  // namespace

std::chrono::seconds parseMaxAge(const std::string& text) {
  std::string digits = text;
  long long unit = 86400;
  if (!digits.empty() && std::string("dhms").find(digits.back()) != std::string::npos) {
    const char u = digits.back();
    digits.pop_back();
    unit = u == 'd' ? 86400 : u == 'h' ? 3600 : u == 'm' ? 60 : 1;
  }
  unsigned value = 0;
  if (digits.empty() || !Poco::NumberParser::tryParseUnsigned(digits, value) || value == 0 ||
      value > 36500u * 86400u / unit) {
    throw std::invalid_argument("--max-age takes a positive age: N days, or Nd, Nh, Nm, Ns, not '" +
                                text + "'");
  }
  return std::chrono::seconds(static_cast<long long>(value) * unit);
}

StatusVerdict reportStatus(Runtime& rt, const std::string& account, bool json,
                           std::chrono::seconds max_age, std::ostream& out, long today,
                           std::int64_t now_ms) {
  StatusVerdict verdict;
  const std::vector<std::string> enabled = enabledCollections(rt);
  const std::set<std::string> enabled_set(enabled.begin(), enabled.end());
  Poco::JSON::Array sinks;
  for (SinkInstance& sink : rt.sinks) {
    const std::optional<std::vector<sdk::CollectionStatus>> status = readStatus(sink, account);
    Poco::JSON::Object js(Poco::JSON_PRESERVE_KEY_ORDER);
    js.set("sink", sink.name);
    js.set("plugin", std::string(sink.loaded.descriptor->name));
    js.set("keeps_state", status.has_value());
    Poco::JSON::Array collections;
    if (status) {
      // account -> collection -> status; the enabled collections of every account (of the one
      // asked for, even when the sink knows nothing of it yet).
      std::map<std::string, std::map<std::string, const sdk::CollectionStatus*>> by_account;
      for (const sdk::CollectionStatus& s : *status) {
        if (!account.empty() && s.account != account) continue;
        by_account[s.account][s.collection] = &s;
      }
      if (!account.empty()) by_account[account];
      for (auto& [acct, known] : by_account) {
        std::set<std::string> names(enabled.begin(), enabled.end());
        for (const auto& [name, s] : known) names.insert(name);
        for (const std::string& name : names) {
          auto it = known.find(name);
          const sdk::CollectionStatus* s = it == known.end() ? nullptr : it->second;
          const bool is_enabled = enabled_set.count(name) > 0;
          Judged j;
          if (is_enabled) j = judge(acct, name, s, max_age, now_ms);
          if (!j.problem.empty()) verdict.problems.push_back("sink " + sink.name + ": " + j.problem);
          Poco::JSON::Object c(Poco::JSON_PRESERVE_KEY_ORDER);
          c.set("account", acct);
          c.set("collection", name);
          c.set("enabled", is_enabled);
          if (s && s->synced_through) {
            c.set("synced_through", *s->synced_through);
            try {
              c.set("days_behind", std::max(0L, today - parseDay(*s->synced_through)));
            } catch (const std::invalid_argument&) {
              c.set("days_behind", Poco::Dynamic::Var());
            }
          } else {
            c.set("synced_through", Poco::Dynamic::Var());
            c.set("days_behind", Poco::Dynamic::Var());
          }
          c.set("synced_at", timeOrNull(s ? s->synced_at_ms : std::nullopt));
          if (s && s->last_run_finished_at_ms) {
            Poco::JSON::Object run(Poco::JSON_PRESERVE_KEY_ORDER);
            run.set("started_at", timeOrNull(s->last_run_started_at_ms));
            run.set("finished_at", timeOrNull(s->last_run_finished_at_ms));
            run.set("command", s->last_run_command);
            run.set("outcome", s->last_run_outcome);
            run.set("inserted", s->last_run_inserted);
            run.set("updated", s->last_run_updated);
            c.set("last_run", run);
          } else {
            c.set("last_run", Poco::Dynamic::Var());
          }
          if (s && s->last_error_at_ms) {
            Poco::JSON::Object error(Poco::JSON_PRESERVE_KEY_ORDER);
            error.set("at", isoTime(*s->last_error_at_ms));
            error.set("outcome", s->last_error_outcome);
            error.set("message", s->last_error);
            c.set("last_error", error);
          } else {
            c.set("last_error", Poco::Dynamic::Var());
          }
          c.set("stale", j.stale);
          c.set("failed", j.failed);
          collections.add(c);
        }
      }
    }
    js.set("collections", collections);
    sinks.add(js);
  }
  if (json) {
    Poco::JSON::Object root(Poco::JSON_PRESERVE_KEY_ORDER);
    root.set("checked_at", isoTime(now_ms));
    root.set("max_age_seconds", static_cast<Poco::Int64>(max_age.count()));
    root.set("sinks", sinks);
    Poco::JSON::Array problems;
    for (const std::string& p : verdict.problems) problems.add(p);
    root.set("problems", problems);
    root.set("exit_code", static_cast<int>(verdict.problems.empty() ? kExitOk : kExitPartial));
    root.stringify(out, 2);
    out << "\n";
  } else {
    printStatus(rt, account, out, today, now_ms);
    if (!verdict.problems.empty()) {
      out << "\nproblems (exit 1; --max-age " << max_age.count() << " s):\n";
      for (const std::string& p : verdict.problems) out << "  " << p << "\n";
    }
  }
  return verdict;
}

}  // namespace oura::core
