#include "sync/backfill.hpp"

#include "errors.hpp"

#include <oura_sdk/errors.hpp>

#include <Poco/Logger.h>

#include <algorithm>
#include <mutex>
#include <optional>

namespace oura::core {

void resumeAndRememberBackfills(Runtime& rt, const std::vector<const ServedCollection*>& selected,
                                std::vector<DayRange>& windows,
                                std::vector<CollectionSummary>& summaries, bool explicit_range) {
  Poco::Logger& log = Poco::Logger::get("oura.scrape");
  for (std::size_t i = 0; i < selected.size(); ++i) {
    const sdk::CollectionSpec& spec = *selected[i]->spec;
    if (spec.strategy != sdk::SyncStrategy::DateWindow &&
        spec.strategy != sdk::SyncStrategy::DateTimeWindow) {
      continue;  // snapshots and full re-fetches fetch everything every run
    }
    for (SinkInstance& sink : rt.sinks) {
      std::lock_guard lock(*sink.mutex);
      try {
        if (!explicit_range) {
          if (std::optional<sdk::DayWindow> pending =
                  sink.plugin->pendingBackfill(rt.manifest.account, spec.name)) {
            DayNumber first = windows[i].first;
            try {
              first = parseDay(pending->first_day);
            } catch (const std::invalid_argument&) {
              log.warning("sink " + sink.name + ": ignoring an unreadable pending backfill '" +
                          pending->first_day + "' of " + spec.name);
            }
            if (first < windows[i].first) {
              log.information(spec.name + ": an earlier backfill did not land completely; " +
                              "fetching " + pending->first_day + ".." + pending->last_day +
                              " first (sink " + sink.name + ")");
              windows[i].first = first;
            }
          }
          // A first run remembers its window too: failing, it must not shrink to the next
          // run's collector.days.
          if (sink.plugin->syncedThrough(rt.manifest.account, spec.name)) continue;
        }
        sink.plugin->rememberBackfill(rt.manifest.account, spec.name,
                                      {formatDay(windows[i].first), formatDay(windows[i].last)});
      } catch (const sdk::RunLockedError& e) {
        throw Error(ErrorKind::Interrupted, "sink " + sink.name + ": " + e.what());
      } catch (const sdk::UnavailableError& e) {
        throw Error(ErrorKind::Unavailable, "sink " + sink.name + ": " + e.what());
      } catch (const sdk::ConfigError& e) {
        throw Error(ErrorKind::Config, "sink " + sink.name + ": " + e.what());
      } catch (const std::exception& e) {
        throw Error(ErrorKind::Partial, "sink " + sink.name + " cannot record the backfill of " +
                                          spec.name + ": " + e.what());
      }
    }
    summaries[i].first_day = formatDay(windows[i].first);
  }
}

}  // namespace oura::core
