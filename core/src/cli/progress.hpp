#pragma once
// Progress of a run's windows, shared by the scrape's worker threads. On a terminal: one status
// line on stderr, rewritten in place (windows done of planned, the window just finished, rows,
// requests, an estimate of the time left). Elsewhere (a timer, a CronJob, a pipe): one log line
// per finished window instead.

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
  // `terminal`: draw the status line on `out`; otherwise log to `log` (information level).
  Progress(std::ostream& out, bool terminal, Poco::Logger& log);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // True when stderr is a terminal that can redraw a line (not TERM=dumb).
  static bool stderrIsTerminal();

  // Planned windows of the whole run (call before the workers start).
  void plan(std::uint64_t windows);

  // One window of `collection` finished: `window` as "first..last" (empty for snapshots);
  // `rows` and `requests` are the collection's totals so far.
  void windowDone(const std::string& collection, const std::string& window, std::uint64_t rows,
                  std::uint64_t requests);

  // Ends the status line (a newline after the last redraw); idempotent.
  void finish();

 private:
  void draw(const std::string& collection, const std::string& window, bool force);
  std::string estimate() const;

  std::ostream& out_;
  const bool terminal_;
  Poco::Logger& log_;
  std::mutex mutex_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
  std::uint64_t planned_ = 0;
  std::uint64_t done_ = 0;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> totals_;  // rows, requests
  bool drawn_ = false;
};

}  // namespace oura::core
