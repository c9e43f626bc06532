#include "cli/run_command.hpp"

#include "cli/exit_codes.hpp"
#include "sync/run_summary.hpp"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <charconv>
#include <random>
#include <thread>

namespace oura::core {

std::optional<std::chrono::seconds> parseDuration(const std::string& text) {
  long long value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const auto [rest, error] = std::from_chars(begin, end, value);
  if (error != std::errc{} || rest == begin || value <= 0) return std::nullopt;
  const std::string unit(rest, end);
  long long factor = 0;
  if (unit.empty() || unit == "s") {
    factor = 1;
  } else if (unit == "m") {
    factor = 60;
  } else if (unit == "h") {
    factor = 3600;
  } else if (unit == "d") {
    factor = 86400;
  } else {
    return std::nullopt;
  }
  // At most a year: a larger interval is a typo, and the arithmetic below stays far from overflow.
  if (value > 366LL * 86400 / factor) return std::nullopt;
  return std::chrono::seconds(value * factor);
}

namespace {

using Clock = std::chrono::steady_clock;

std::string wallClockIn(Clock::duration from_now) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(from_now).count();
  return Poco::DateTimeFormatter::format(Poco::Timestamp() + micros,
                                         Poco::DateTimeFormat::ISO8601_FORMAT);
}

// Waits until `deadline` or a signal, whichever comes first. The flag is set by a signal handler,
// which may not notify a condition variable: it is looked at every 100 ms.
void waitUntil(Clock::time_point deadline, const std::atomic<bool>& stop) {
  while (!stop && Clock::now() < deadline) {
    std::this_thread::sleep_for(
        std::min<Clock::duration>(deadline - Clock::now(), std::chrono::milliseconds(100)));
  }
}

}  // namespace

int runEvery(const RunEverySchedule& schedule, const std::function<int()>& one_run,
             const std::atomic<bool>& stop, Poco::Logger& log) {
  const std::chrono::seconds jitter = schedule.jitter.value_or(schedule.every / 10);
  std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<long long> delay_ms(0, jitter.count() * 1000);
  log.information("run: a scrape now, then every " + std::to_string(schedule.every.count()) +
                  " s plus up to " + std::to_string(jitter.count()) +
                  " s of jitter, until SIGTERM or SIGINT");
  for (std::uint64_t run = 1; !stop; ++run) {
    const Clock::time_point started = Clock::now();
    log.information("run " + std::to_string(run) + ": starting a scrape");
    const int code = one_run();
    const auto took =
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count();
    if (code == kExitUsage) {
      // The command line itself is wrong (an unknown --collections name, a bad option): every
      // later run would fail the same way, so the loop ends with 64 at once.
      log.error("run " + std::to_string(run) + " ended with exit 64 (usage): fix the command "
                "line; not running again");
      return kExitUsage;
    }
    if (stop) {
      log.information("run " + std::to_string(run) + " ended with exit " + std::to_string(code) +
                      " (" + exitName(code) + ") after " + std::to_string(took) +
                      " s; stopped by a signal: exiting");
      break;
    }
    Clock::time_point next = started + schedule.every + std::chrono::milliseconds(delay_ms(random));
    const std::string what = "run " + std::to_string(run) + " ended with exit " +
                             std::to_string(code) + " (" + exitName(code) + ") after " +
                             std::to_string(took) + " s";
    if (next < Clock::now()) {
      log.warning(what + "; it took longer than the interval: the next run starts now");
      next = Clock::now();
    }
    const std::string when = "; next run at " + wallClockIn(next - Clock::now());
    switch (code) {
      case kExitOk:
        log.information(what + when);
        break;
      case kExitLoginNeeded:
        log.error(what + ": a login is needed (`oura-collector auth login`)" + when);
        break;
      case kExitConfig:
        log.error(what + ": fix the configuration (`oura-collector check-config`)" + when);
        break;
      default:
        log.warning(what + when);
        break;
    }
    waitUntil(next, stop);
  }
  if (stop) log.information("run: stopped by a signal");
  return kExitOk;
}

}  // namespace oura::core
