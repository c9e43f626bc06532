#include "cli/progress.hpp"

#include <Poco/Environment.h>
#include <Poco/NumberParser.h>

#include <cstdio>
#include <sstream>

#include <sys/ioctl.h>
#include <unistd.h>

namespace oura::core {

Progress::Progress(std::ostream& out, bool terminal, Poco::Logger& log)
    : out_(out), terminal_(terminal), log_(log) {}

Progress::~Progress() { finish(); }

bool Progress::stderrIsTerminal() {
  return ::isatty(STDERR_FILENO) == 1 && Poco::Environment::get("TERM", "") != "dumb";
}

std::size_t Progress::terminalWidth() {
  struct winsize size {};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  unsigned columns = 0;
  if (Poco::NumberParser::tryParseUnsigned(Poco::Environment::get("COLUMNS", ""), columns) &&
      columns > 0) {
    return columns;
  }
  return 80;
}

void Progress::plan(const std::map<std::string, std::uint64_t>& windows) {
  std::lock_guard lock(mutex_);
  planned_ = 0;
  for (const auto& [name, count] : windows) {
    collections_[name].planned = count;
    planned_ += count;
  }
}

double Progress::secondsLeft(std::chrono::steady_clock::duration elapsed) const {
  std::uint64_t requests_done = 0, windows_seen = 0;
  for (const auto& [name, c] : collections_) {
    requests_done += c.requests;
    windows_seen += c.done;
  }
  if (done_ == 0 || done_ >= planned_ || requests_done == 0) return -1;
  // A collection not started yet is expected to cost the run's average per window.
  const double average = static_cast<double>(requests_done) / static_cast<double>(windows_seen);
  double requests_left = 0;
  for (const auto& [name, c] : collections_) {
    if (c.done >= c.planned) continue;
    const double per_window =
        c.done > 0 ? static_cast<double>(c.requests) / static_cast<double>(c.done) : average;
    requests_left += per_window * static_cast<double>(c.planned - c.done);
  }
  const double seconds = std::chrono::duration<double>(elapsed).count();
  return seconds / static_cast<double>(requests_done) * requests_left;
}

std::string Progress::estimate() const {
  const double left = secondsLeft(std::chrono::steady_clock::now() - started_);
  if (left < 0) return "";
  const long long s = static_cast<long long>(left + 0.5);
  std::ostringstream text;
  text << ", about ";
  if (s >= 3600) text << s / 3600 << "h" << (s % 3600) / 60 << "m";
  else if (s >= 60) text << s / 60 << "m" << s % 60 << "s";
  else text << s << "s";
  text << " left";
  return text.str();
}

void Progress::windowDone(const std::string& collection, const std::string& window,
                          std::uint64_t rows, std::uint64_t requests) {
  std::lock_guard lock(mutex_);
  ++done_;
  if (done_ > planned_) planned_ = done_;  // a plan that missed a window never shows 12/11
  Collection& c = collections_[collection];
  ++c.done;
  if (c.done > c.planned) c.planned = c.done;
  c.rows = rows;
  c.requests = requests;
  draw(collection, window);
}

void Progress::draw(const std::string& collection, const std::string& window) {
  std::uint64_t rows = 0, requests = 0;
  for (const auto& [name, c] : collections_) {
    rows += c.rows;
    requests += c.requests;
  }
  std::ostringstream line;
  line << "[" << done_ << "/" << planned_ << " windows] done: " << collection
       << (window.empty() ? "" : " " + window) << "; run so far: " << rows << " rows, "
       << requests << " requests" << estimate();
  if (!terminal_) {
    if (log_.debug()) {
      Poco::Message message(log_.name(), line.str(), Poco::Message::PRIO_DEBUG);
      message.set("collection", collection);
      if (!window.empty()) message.set("window", window);
      message.set("rows", std::to_string(rows));
      message.set("requests", std::to_string(requests));
      log_.log(message);
    }
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  // At most five redraws a second; the last window always shows.
  if (done_ < planned_ && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  // Cut to one column less than the terminal: a line that fills the last column wraps on some
  // terminals, and a wrapped line cannot be redrawn in place.
  std::string text = line.str();
  const std::size_t width = terminalWidth();
  if (width > 1 && text.size() > width - 1) text.resize(width - 1);
  out_ << "\r\033[K" << text << std::flush;
  drawn_ = true;
}

void Progress::finish() {
  std::lock_guard lock(mutex_);
  if (terminal_ && drawn_) out_ << "\n" << std::flush;
  drawn_ = false;
}

}  // namespace oura::core
