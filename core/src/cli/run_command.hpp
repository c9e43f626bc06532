#pragma once
// `oura-collector run --every DURATION`: the long-running mode for compose and plain containers.
// One incremental scrape at once, then one every DURATION plus a random delay of up to the
// jitter (default a tenth of the interval), until SIGTERM/SIGINT. A run that needs a person
// (77 login needed, 78 configuration) or fails in any other way is logged and tried again at the
// next interval, never in a tight loop; the manifest is read again for every run, so a fixed
// ConfigMap or a new login takes effect at the next one. A signal during a run lets the scrape
// finish or roll back the batch in flight (as `scrape` does); a signal during the wait ends the
// wait at once. Either way the command exits 0. `scrape` stays the one-shot for timers and
// CronJobs.

#include <Poco/Logger.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace oura::core {

struct RunEverySchedule {
  std::chrono::seconds every{3600};
  // Each wait is `every` plus a random delay in [0, jitter]; unset: a tenth of `every`.
  std::optional<std::chrono::seconds> jitter;
};

// A duration of the command line: a whole number and a unit, `s`, `m`, `h` or `d`
// ("90s", "30m", "1h", "1d"); a bare number is seconds. Returns nothing for anything else,
// zero included.
std::optional<std::chrono::seconds> parseDuration(const std::string& text);

// Runs `one_run` (one scrape; it returns that run's exit code and never throws) at once, then
// again each `schedule.every` after the previous run started, plus the jitter (or at once when
// the run took longer than that), until `stop` is set. Logs every run's outcome and the time of
// the next one to `log`. Returns 0 (stopped by a signal).
int runEvery(const RunEverySchedule& schedule, const std::function<int()>& one_run,
             const std::atomic<bool>& stop, Poco::Logger& log);

}  // namespace oura::core
