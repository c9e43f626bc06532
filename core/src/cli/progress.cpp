#include "cli/progress.hpp"

#include <Poco/Environment.h>

#include <cstdio>
#include <sstream>

#include <unistd.h>

namespace oura::core {

Progress::Progress(std::ostream& out, bool terminal, Poco::Logger& log)
    : out_(out), terminal_(terminal), log_(log) {}

Progress::~Progress() { finish(); }

bool Progress::stderrIsTerminal() {
  return ::isatty(STDERR_FILENO) == 1 && Poco::Environment::get("TERM", "") != "dumb";
}

void Progress::plan(std::uint64_t windows) {
  std::lock_guard lock(mutex_);
  planned_ = windows;
}

std::string Progress::estimate() const {
  if (done_ == 0 || done_ >= planned_) return "";
  const auto elapsed = std::chrono::steady_clock::now() - started_;
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(
      elapsed * static_cast<double>(planned_ - done_) / static_cast<double>(done_));
  const long long s = left.count();
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
  totals_[collection] = {rows, requests};
  draw(collection, window, false);
}

void Progress::draw(const std::string& collection, const std::string& window, bool force) {
  std::uint64_t rows = 0, requests = 0;
  for (const auto& [name, counts] : totals_) {
    rows += counts.first;
    requests += counts.second;
  }
  std::ostringstream line;
  line << "[" << done_ << "/" << planned_ << " windows] done: " << collection
       << (window.empty() ? "" : " " + window) << "; run so far: " << rows << " rows, "
       << requests << " requests" << estimate();
  if (!terminal_) {
    log_.information(line.str());
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  // At most five redraws a second; the last window always shows.
  if (!force && done_ < planned_ && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  out_ << "\r\033[K" << line.str() << std::flush;
  drawn_ = true;
}

void Progress::finish() {
  std::lock_guard lock(mutex_);
  if (terminal_ && drawn_) out_ << "\n" << std::flush;
  drawn_ = false;
}

}  // namespace oura::core
