#pragma once
// Progress of a run's windows, shared by the scrape's worker threads. On a terminal: one status
// line on stderr, rewritten in place and cut to the terminal's width (it never wraps): windows
// done of planned, the window just finished, rows, requests and an estimate of the time left,
// weighted by the requests still to come (each collection's requests per window so far, times
// its windows left), not by windows. Elsewhere (a timer, a CronJob, a pipe): one debug log line
// per finished window instead (`--log-level debug`); the run logs one line per collection.

#include <Poco/Logger.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <ostream>
#include <string>

namespace oura::core {

class Progress {
 public:
  // `terminal`: draw the status line on `out`; otherwise log to `log` (debug level).
  Progress(std::ostream& out, bool terminal, Poco::Logger& log);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // True when stderr is a terminal that can redraw a line (not TERM=dumb).
  static bool stderrIsTerminal();
  // The width of the terminal on stderr (TIOCGWINSZ), else $COLUMNS, else 80.
  static std::size_t terminalWidth();

  // Planned windows of the whole run, per collection (call before the workers start).
  void plan(const std::map<std::string, std::uint64_t>& windows);

  // One window of `collection` finished: `window` as "first..last" (empty for snapshots);
  // `rows` and `requests` are the collection's totals so far.
  void windowDone(const std::string& collection, const std::string& window, std::uint64_t rows,
                  std::uint64_t requests);

  // Ends the status line (a newline after the last redraw); idempotent.
  void finish();

  // The estimate of the time left in seconds, or -1 before there is a basis (for tests).
  double secondsLeft(std::chrono::steady_clock::duration elapsed) const;

 private:
  struct Collection {
    std::uint64_t planned = 0;
    std::uint64_t done = 0;
    std::uint64_t rows = 0;
    std::uint64_t requests = 0;
  };
  void draw(const std::string& collection, const std::string& window);
  std::string estimate() const;

  std::ostream& out_;
  const bool terminal_;
  Poco::Logger& log_;
  std::mutex mutex_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
  std::uint64_t planned_ = 0;
  std::uint64_t done_ = 0;
  std::map<std::string, Collection> collections_;
  bool drawn_ = false;
};

}  // namespace oura::core
