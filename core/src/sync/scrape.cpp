#include "sync/scrape.hpp"

#include "sync/backfill.hpp"

#include "auth/token_provider.hpp"
#include "cli/exit_codes.hpp"
#include "cli/progress.hpp"
#include "config/api_settings.hpp"
#include "http/api_client.hpp"
#include "sync/collection_run.hpp"
#include "sync/days.hpp"
#include "sync/run_log.hpp"
#include "sync/sink_writer.hpp"
#include "sync/window_plan.hpp"

#include <oura_sdk/errors.hpp>
#include <oura_sdk/http.hpp>

#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>

#include <algorithm>
#include <iostream>
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
    throw ExitError(kExitUsage, "--collections needs at least one collection name; leave it out "
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
      if (from_cli) throw ExitError(kExitUsage, "--collections: " + message);
      throw ExitError(kExitConfig, rt.manifest.file + ": collector.collections: " + message);
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

RunSummary runScrape(Runtime& rt, const ScrapeOptions& options, const std::atomic<bool>& stop) {
  const std::int64_t started_ms = nowMs();  // for the run log
  // Before anything else: a store that may have to save a refreshed token must be writable.
  StoreTokenProvider tokens(*rt.token_store, rt.manifest.oauth ? &*rt.manifest.oauth : nullptr);
  tokens.prepare();
  std::vector<const ServedCollection*> selected = selectCollections(rt, options.collections);

  // Which days.
  DayRange window{};
  try {
    DayNumber until = options.until ? parseDay(*options.until) : today();
    DayNumber since;
    if (options.since) {
      since = parseDay(*options.since);
    } else {
      int days = options.days.value_or(rt.manifest.days);
      if (days < 1) throw ExitError(kExitUsage, "--days must be at least 1");
      since = until - days + 1;
    }
    if (since > until) {
      throw ExitError(kExitUsage, "--since " + formatDay(since) + " is after --until " +
                                      formatDay(until));
    }
    // Oura holds nothing before its first ring (2015) nor after tomorrow; a window far outside
    // is a typo that would cost thousands of requests.
    if (since < parseDay(kEarliestDay)) {
      const std::string what = options.since ? "--since " + formatDay(since)
                               : options.days ? "--days " + std::to_string(*options.days)
                                              : rt.manifest.file + ": collector.days " +
                                                    std::to_string(rt.manifest.days);
      throw ExitError(options.since || options.days ? kExitUsage : kExitConfig,
                      what + " reaches before " + kEarliestDay +
                          "; Oura has no data that old (its first ring shipped in 2015)");
    }
    if (until > today() + 1) {
      throw ExitError(kExitUsage, "--until " + formatDay(until) +
                                      " is in the future; Oura has no data after today");
    }
    window = {since, until};
  } catch (const std::invalid_argument& e) {
    throw ExitError(kExitUsage, e.what());
  }

  // A token before any request: exit 77 with a sentence saying how to provide one. An
  // expiring token is refreshed here, before anything is fetched (69, 75, 77, 78 on failure).
  try {
    tokens.accessToken();
  } catch (const sdk::LoginNeededError& e) {
    throw ExitError(kExitLoginNeeded, e.what());
  }

  std::vector<const sdk::CollectionSpec*> specs;
  for (const auto* c : selected) specs.push_back(c->spec);

  RateLimiter limiter(rt.manifest.rate_limit, &stop);
  RetryPolicy policy(rt.manifest.retry);
  const std::size_t threads = std::max<std::size_t>(
      1, std::min<std::size_t>(selected.size(),
                               static_cast<std::size_t>(std::max(1, rt.manifest.rate_limit.concurrency))));
  // One client per worker (Poco sessions are not thread-safe), made here so that a bad base URL
  // is a configuration error before anything starts.
  std::vector<std::unique_ptr<ApiClient>> clients;
  try {
    for (std::size_t t = 0; t < threads; ++t) {
      clients.push_back(std::make_unique<ApiClient>(rt.manifest.http, limiter, policy, tokens));
    }
  } catch (const sdk::ConfigError& e) {
    throw ExitError(kExitConfig, apiSettingsProblem(rt.manifest, e.what()));
  }

  // Without collector.account, rows are keyed by Oura's own user id (personal_info.id) where
  // the token may read it, so that two people's data never mix; else "default".
  if (!rt.manifest.account_explicit && !stop) {
    rt.manifest.account = accountFromPersonalInfo(*clients[0], tokens);
  }
  openSinks(rt, specs);


  RunSummary summary;
  summary.collections.resize(selected.size());
  std::vector<DayRange> windows(selected.size(), window);
  for (std::size_t i = 0; i < selected.size(); ++i) {
    CollectionSummary& s = summary.collections[i];
    s.collection = selected[i]->spec->name;
    s.endpoint = selected[i]->endpoint->name;
    // Incremental: without --since/--days, start at the synced day minus the overlap; a sink
    // without state for the collection needs the default window. With several sinks, the
    // earliest start serves them all (upserts make the overlap harmless).
    if (!options.since && !options.days && !options.dry_run && !rt.sinks.empty()) {
      std::optional<DayNumber> first;
      for (SinkInstance& sink : rt.sinks) {
        std::lock_guard lock(*sink.mutex);
        std::optional<std::string> synced;
        try {
          synced = sink.plugin->syncedThrough(rt.manifest.account, s.collection);
        } catch (const sdk::RunLockedError& e) {
          throw ExitError(kExitInterrupted, "sink " + sink.name + ": " + e.what());
        } catch (const std::exception& e) {
          throw ExitError(kExitUnavailable, "sink " + sink.name + " cannot read the sync state of " +
                                                s.collection + ": " + e.what());
        }
        DayNumber start = window.first;
        if (synced) {
          try {
            start = std::min(window.last, parseDay(*synced) - options.overlap_days);
          } catch (const std::invalid_argument&) {
            Poco::Logger::get("oura.scrape")
                .warning("sink " + sink.name + ": ignoring an unreadable sync state '" + *synced +
                         "' of " + s.collection);
          }
        }
        first = first ? std::min(*first, start) : start;
      }
      windows[i].first = *first;
    }
    const bool ranged = selected[i]->spec->strategy == sdk::SyncStrategy::DateWindow ||
                        selected[i]->spec->strategy == sdk::SyncStrategy::DateTimeWindow;
    if (ranged) {
      s.first_day = formatDay(windows[i].first);
      s.last_day = formatDay(windows[i].last);
    }
  }

  // A backfill is remembered until it lands; a plain run finishes an earlier one first.
  if (!options.dry_run && !rt.sinks.empty()) {
    resumeAndRememberBackfills(rt, selected, windows, summary.collections,
                               options.since.has_value() || options.days.has_value());
  }

  // A dry run's rows on the same terminal would run into a redrawn line: log lines then.
  const bool redraw = Progress::stderrIsTerminal() && !(options.dry_run && ::isatty(STDOUT_FILENO));
  Progress progress(std::cerr, redraw, Poco::Logger::get("oura.progress"));
  {
    std::uint64_t planned = 0;
    for (std::size_t i = 0; i < selected.size(); ++i) {
      if (tokens.allows(selected[i]->spec->scope)) {
        planned += planWindows(*selected[i]->spec, windows[i]).size();
      }
    }
    progress.plan(planned);
  }
  // The collections with the most windows start first (a longest-first schedule): the windows of
  // one collection run one after another, so a long one started last would finish alone, long
  // after the others (docs/performance.md). The summary keeps the selection's order.
  std::vector<std::size_t> order(selected.size());
  std::vector<std::size_t> window_count(selected.size());
  for (std::size_t i = 0; i < selected.size(); ++i) {
    order[i] = i;
    window_count[i] = planWindows(*selected[i]->spec, windows[i]).size();
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return window_count[a] > window_count[b];
  });
  std::atomic<std::size_t> next{0};
  auto worker = [&](std::size_t worker_index) {
    for (std::size_t n = next++; n < selected.size(); n = next++) {
      const std::size_t i = order[n];
      CollectionSummary& s = summary.collections[i];
      if (stop) {
        s.outcome = Outcome::Interrupted;
        s.message = "not started: stopped by a signal; run again to finish";
        continue;
      }
      runCollection(rt, *selected[i], *clients[worker_index], tokens, stop, s, progress,
                    windows[i]);
      Poco::Logger::get("oura.scrape")
          .information(s.collection + ": " + toString(s.outcome) + ", " +
                       std::to_string(s.documents) + " documents, " + std::to_string(s.rows) +
                       " rows, " + std::to_string(s.requests) + " requests");
    }
  };
  {
    std::vector<std::jthread> pool;
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker, t);
    worker(0);
  }
  progress.finish();
  if (std::optional<ExitError> unsaved = tokens.unsavedRefresh()) {
    summary.token_exit = unsaved->code();
    summary.token_problem = unsaved->what();
  }
  recordRun(rt, summary, "scrape", started_ms);  // the run log, interrupted runs too
  closeSinks(rt, Poco::Logger::get("oura.scrape"));
  return summary;
}

}  // namespace oura::core
