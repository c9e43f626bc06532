#include "sync/scrape.hpp"

#include "sync/backfill.hpp"

#include "auth/token_provider.hpp"
#include "cli/logging.hpp"
#include "errors.hpp"
#include "cli/progress.hpp"
#include "config/api_settings.hpp"
#include "http/api_client.hpp"
#include "sync/collection_run.hpp"
#include "sync/days.hpp"
#include "sync/run_log.hpp"
#include "sync/scheduler.hpp"
#include "sync/sink_writer.hpp"
#include "sync/window_plan.hpp"

#include <oura_sdk/errors.hpp>
#include <oura_sdk/http.hpp>

#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <unistd.h>

namespace oura::core {

std::vector<std::string> splitList(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const std::string& item : items) {
    std::stringstream in(item);
    for (std::string part; std::getline(in, part, ',');) {
      part.erase(0, part.find_first_not_of(" \t"));
      part.erase(part.find_last_not_of(" \t") + 1);
      if (!part.empty()) out.push_back(part);
    }
  }
  return out;
}

static std::string servedList(const Runtime& rt) {
  std::string out;
  for (const auto& c : rt.collections) out += (out.empty() ? "" : ", ") + c.spec->name;
  return out;
}

// The collections a run covers: `requested` (--collections, comma-separated items) or else the
// manifest's list, or else every served collection. Unknown names: exit 64 from the command
// line, 78 from the manifest.
std::vector<const ServedCollection*> selectCollections(const Runtime& rt,
                                                       const std::vector<std::string>& requested) {
  std::vector<const ServedCollection*> selected;
  const bool from_cli = !requested.empty();
  std::vector<std::string> names = splitList(from_cli ? requested : rt.manifest.collections);
  if (from_cli && names.empty()) {
    throw Error(ErrorKind::Usage, "--collections needs at least one collection name; leave it out "
                                "to fetch every enabled collection");
  }
  if (names.empty()) {
    for (const auto& c : rt.collections) selected.push_back(&c);
  }
  std::set<std::string> seen;
  for (const std::string& name : names) {
    const ServedCollection* served = rt.find(name);
    if (served == nullptr) {
      std::string message = "unknown collection '" + name +
                            "': the enabled endpoint plugins serve " + servedList(rt);
      if (from_cli) throw Error(ErrorKind::Usage, "--collections: " + message);
      throw Error(ErrorKind::Config, rt.manifest.file + ": collector.collections: " + message);
    }
    if (seen.insert(name).second) selected.push_back(served);
  }
  return selected;
}

// Oura's user id from /v2/usercollection/personal_info, or "default" (with a warning) when the
// token may not read it or the API does not answer.
static std::string accountFromPersonalInfo(ApiClient& client, StoreTokenProvider& tokens) {
  Poco::Logger& log = Poco::Logger::get("oura.scrape");
  if (!tokens.allows("personal")) {
    log.warning("collector.account is not set and the token lacks the 'personal' scope: rows are "
                "keyed by the account label 'default' (set collector.account to choose one)");
    return "default";
  }
  try {
    RequestStats stats;
    HttpResponse response = client.get("/v2/usercollection/personal_info", {}, stats);
    Poco::JSON::Object::Ptr info =
        Poco::JSON::Parser().parse(response.body).extract<Poco::JSON::Object::Ptr>();
    if (info && info->has("id") && info->get("id").isString()) {
      const std::string id = info->getValue<std::string>("id");
      if (!id.empty()) {
        log.information("collector.account is not set: rows are keyed by Oura's user id " +
                        printable(id));
        return id;
      }
    }
  } catch (const StopRequested&) {
    throw;
  } catch (const std::exception& e) {
    log.warning(std::string("collector.account is not set and Oura's user id could not be read (") +
                e.what() + "): rows are keyed by the account label 'default'");
    return "default";
  }
  log.warning("collector.account is not set and personal_info has no id: rows are keyed by the "
              "account label 'default'");
  return "default";
}

namespace {

// The days a run covers: --since/--days/--until, or the manifest's collector.days through today.
// Throws Error (Usage from the command line, Config from the manifest) for a window that is
// empty, reaches before kEarliestDay or after tomorrow.
DayRange runDays(const Runtime& rt, const ScrapeOptions& options) {
  try {
    const DayNumber until = options.until ? parseDay(*options.until) : today();
    DayNumber since;
    if (options.since) {
      since = parseDay(*options.since);
    } else {
      const int days = options.days.value_or(rt.manifest.days);
      if (days < 1) throw Error(ErrorKind::Usage, "--days must be at least 1");
      since = until - days + 1;
    }
    if (since > until) {
      throw Error(ErrorKind::Usage,
                  "--since " + formatDay(since) + " is after --until " + formatDay(until));
    }
    // Oura holds nothing before its first ring (2015) nor after tomorrow; a window far outside
    // is a typo that would cost thousands of requests.
    if (since < parseDay(kEarliestDay)) {
      const std::string what = options.since ? "--since " + formatDay(since)
                               : options.days ? "--days " + std::to_string(*options.days)
                                              : rt.manifest.file + ": collector.days " +
                                                    std::to_string(rt.manifest.days);
      throw Error(options.since || options.days ? ErrorKind::Usage : ErrorKind::Config,
                  what + " reaches before " + kEarliestDay +
                      "; Oura has no data that old (its first ring shipped in 2015)");
    }
    if (until > today() + 1) {
      throw Error(ErrorKind::Usage, "--until " + formatDay(until) +
                                        " is in the future; Oura has no data after today");
    }
    return {since, until};
  } catch (const std::invalid_argument& e) {
    throw Error(ErrorKind::Usage, e.what());
  }
}

// The first day an incremental run fetches for `collection`: the synced day minus the overlap;
// a sink without state for the collection needs the default window. With several sinks, the
// earliest start serves them all (upserts make the overlap harmless).
DayNumber incrementalStart(Runtime& rt, const std::string& collection, const DayRange& window,
                           int overlap_days) {
  std::optional<DayNumber> first;
  for (SinkInstance& sink : rt.sinks) {
    std::lock_guard lock(*sink.mutex);
    std::optional<std::string> synced;
    try {
      synced = sink.plugin->syncedThrough(rt.manifest.account, collection);
    } catch (const sdk::RunLockedError& e) {
      throw Error(ErrorKind::Interrupted, "sink " + sink.name + ": " + e.what());
    } catch (const std::exception& e) {
      throw Error(ErrorKind::Unavailable, "sink " + sink.name + " cannot read the sync state of " +
                                              collection + ": " + e.what());
    }
    DayNumber start = window.first;
    if (synced) {
      try {
        start = std::min(window.last, parseDay(*synced) - overlap_days);
      } catch (const std::invalid_argument&) {
        Poco::Logger::get("oura.scrape")
            .warning("sink " + sink.name + ": ignoring an unreadable sync state '" + *synced +
                     "' of " + collection);
      }
    }
    first = first ? std::min(*first, start) : start;
  }
  return first.value_or(window.first);
}

// One ApiClient per worker (Poco sessions are not thread-safe), made before anything starts so
// that a bad base URL is a configuration error.
std::vector<std::unique_ptr<ApiClient>> makeClients(const Runtime& rt, std::size_t count,
                                                    RateLimiter& limiter, RetryPolicy& policy,
                                                    StoreTokenProvider& tokens) {
  std::vector<std::unique_ptr<ApiClient>> clients;
  try {
    for (std::size_t t = 0; t < count; ++t) {
      clients.push_back(std::make_unique<ApiClient>(rt.manifest.http, limiter, policy, tokens));
    }
  } catch (const sdk::ConfigError& e) {
    throw Error(ErrorKind::Config, apiSettingsProblem(rt.manifest, e.what()));
  }
  return clients;
}

// The summary's rows, in the selection's order, with each collection's days: the run's window,
// or for an incremental run (no --since/--days, not a dry run) the sinks' sync state minus the
// overlap.
std::vector<DayRange> planDays(Runtime& rt, const ScrapeOptions& options,
                               const std::vector<const ServedCollection*>& selected,
                               const DayRange& window, RunSummary& summary) {
  summary.collections.resize(selected.size());
  std::vector<DayRange> days(selected.size(), window);
  const bool incremental =
      !options.since && !options.days && !options.dry_run && !rt.sinks.empty();
  for (std::size_t i = 0; i < selected.size(); ++i) {
    CollectionSummary& s = summary.collections[i];
    s.collection = selected[i]->spec->name;
    s.endpoint = selected[i]->endpoint->name;
    if (incremental) days[i].first = incrementalStart(rt, s.collection, window, options.overlap_days);
    const sdk::SyncStrategy strategy = selected[i]->spec->strategy;
    if (strategy == sdk::SyncStrategy::DateWindow || strategy == sdk::SyncStrategy::DateTimeWindow) {
      s.first_day = formatDay(days[i].first);
      s.last_day = formatDay(days[i].last);
    }
  }
  return days;
}

// Runs every collection's windows on the workers (scheduler.hpp): all windows of all collections
// are work items, the longest collections first; a stop leaves the collections that had not
// started marked so.
void runCollections(Runtime& rt, const std::vector<const ServedCollection*>& selected,
                    const std::vector<DayRange>& days,
                    std::vector<std::unique_ptr<ApiClient>>& clients, StoreTokenProvider& tokens,
                    const std::atomic<bool>& stop, RunSummary& summary, Progress& progress) {
  std::vector<std::unique_ptr<CollectionRun>> runs;
  std::vector<std::size_t> window_counts;
  std::map<std::string, std::uint64_t> planned;
  for (std::size_t i = 0; i < selected.size(); ++i) {
    runs.push_back(std::make_unique<CollectionRun>(rt, *selected[i], tokens, stop,
                                                   summary.collections[i], progress, days[i]));
    window_counts.push_back(runs.back()->windowCount());
    if (window_counts.back() > 0) planned[selected[i]->spec->name] = window_counts.back();
  }
  progress.plan(planned);
  using Clock = std::chrono::steady_clock;
  std::vector<std::atomic<bool>> started(selected.size());
  // Per collection: when its first window started and its last one ended (nanoseconds since
  // `origin`), for the metrics' duration.
  const Clock::time_point origin = Clock::now();
  std::vector<std::atomic<std::int64_t>> first_start(selected.size());
  std::vector<std::atomic<std::int64_t>> last_end(selected.size());
  const auto since_origin = [&origin] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - origin).count();
  };
  runWorkItems(scheduleOrder(window_counts), clients.size(),
               [&](std::size_t worker, const WorkItem& item) {
                 if (stop) return;
                 if (!started[item.collection].exchange(true)) {
                   first_start[item.collection] = since_origin();
                 }
                 runs[item.collection]->runWindow(item.window, *clients[worker]);
                 last_end[item.collection] = std::max<std::int64_t>(last_end[item.collection],
                                                                    since_origin());
               });
  for (std::size_t i = 0; i < selected.size(); ++i) {
    CollectionSummary& s = summary.collections[i];
    if (window_counts[i] > 0 && !started[i]) {
      s.outcome = Outcome::Interrupted;
      s.message = "not started: stopped by a signal; run again to finish";
    } else if (window_counts[i] > 0 && s.outcome == Outcome::Ok && stop &&
               runs[i]->landedPrefix() < window_counts[i]) {
      s.outcome = Outcome::Interrupted;
      s.message = "stopped by a signal; run again to finish";
    }
    runs[i]->finish();
    if (started[i]) s.duration_seconds = static_cast<double>(last_end[i] - first_start[i]) / 1e9;
    // One line per finished collection: a problem is a warning (shown by --quiet).
    logWith(Poco::Logger::get("oura.scrape"),
            s.outcome == Outcome::Ok ? Poco::Message::PRIO_INFORMATION
                                     : Poco::Message::PRIO_WARNING,
            s.collection + ": " + toString(s.outcome) + ", " + std::to_string(s.documents) +
                " documents, " + std::to_string(s.rows) + " rows, " +
                std::to_string(s.requests) + " requests" +
                (s.warnings ? ", " + std::to_string(s.warnings) + " warnings" : std::string()),
            {{"collection", s.collection},
             {"window", s.first_day.empty() ? "" : s.first_day + ".." + s.last_day},
             {"account", rt.manifest.account},
             {"requests", std::to_string(s.requests)},
             {"retries", std::to_string(s.retries)},
             {"documents", std::to_string(s.documents)},
             {"rows", std::to_string(s.rows)},
             {"inserted", std::to_string(s.inserted)},
             {"updated", std::to_string(s.updated)},
             {"warnings", std::to_string(s.warnings)},
             {"outcome", outcomeName(s.outcome)}});
  }
}

}  // namespace

RunSummary runScrape(Runtime& rt, const ScrapeOptions& options, const std::atomic<bool>& stop) {
  RunSummary summary;
  summary.started_at_ms = nowMs();  // for the run log
  // Before anything else: a store that may have to save a refreshed token must be writable.
  StoreTokenProvider tokens(*rt.token_store, rt.manifest.oauth ? &*rt.manifest.oauth : nullptr);
  tokens.prepare();
  const std::vector<const ServedCollection*> selected = selectCollections(rt, options.collections);
  const DayRange window = runDays(rt, options);

  // A token before any request: LoginNeeded with a sentence saying how to provide one. An
  // expiring token is refreshed here, before anything is fetched.
  try {
    tokens.accessToken();
  } catch (const sdk::LoginNeededError& e) {
    throw Error(ErrorKind::LoginNeeded, e.what());
  }

  RateLimiter limiter(rt.manifest.rate_limit, &stop);
  RetryPolicy policy(rt.manifest.retry);
  auto clients = makeClients(rt, static_cast<std::size_t>(std::max(1, rt.manifest.rate_limit.concurrency)),
                             limiter, policy, tokens);

  // Without collector.account, rows are keyed by Oura's own user id (personal_info.id) where
  // the token may read it, so that two people's data never mix; else "default".
  if (!rt.manifest.account_explicit && !stop) {
    rt.manifest.account = accountFromPersonalInfo(*clients[0], tokens);
  }
  std::vector<const sdk::CollectionSpec*> specs;
  for (const auto* c : selected) specs.push_back(c->spec);
  openSinks(rt, specs);
  std::vector<DayRange> days = planDays(rt, options, selected, window, summary);

  // A backfill is remembered until it lands; a plain run finishes an earlier one first.
  if (!options.dry_run && !rt.sinks.empty()) {
    resumeAndRememberBackfills(rt, selected, days, summary.collections,
                               options.since.has_value() || options.days.has_value());
  }

  // A dry run's rows on the same terminal would run into a redrawn line: log lines then.
  const bool redraw = Progress::stderrIsTerminal() && !(options.dry_run && ::isatty(STDOUT_FILENO));
  Progress progress(std::cerr, redraw, Poco::Logger::get("oura.progress"));
  runCollections(rt, selected, days, clients, tokens, stop, summary, progress);
  progress.finish();
  if (std::optional<Error> unsaved = tokens.unsavedRefresh()) {
    summary.token_failure = unsaved->kind();
    summary.token_problem = unsaved->what();
  }
  return summary;
}

}  // namespace oura::core
