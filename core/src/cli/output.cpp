#include "cli/output.hpp"

#include "cli/exit_codes.hpp"

#include <algorithm>
#include <chrono>

#include <poll.h>
#include <unistd.h>

namespace oura::core {

bool stdoutClosed() {
  struct pollfd p {};
  p.fd = STDOUT_FILENO;
  p.events = 0;  // POLLERR and POLLHUP are always reported
  if (::poll(&p, 1, 0) < 0) return false;
  return (p.revents & POLLERR) != 0;
}

StdoutWatch::StdoutWatch(std::atomic<bool>& stop)
    : stop_(stop), thread_([this] {
        while (!done_) {
          struct pollfd p {};
          p.fd = STDOUT_FILENO;
          p.events = 0;
          const int n = ::poll(&p, 1, 100);
          if (n > 0 && (p.revents & POLLERR) != 0) {
            closed_ = true;
            stop_ = true;
            return;
          }
          // A terminal or a file never reports POLLERR; POLLHUP/POLLNVAL would spin.
          if (n > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }) {}

StdoutWatch::~StdoutWatch() {
  done_ = true;
  if (thread_.joinable()) thread_.join();
}

void reportRun(const RunSummary& summary, const SummaryOutput& how, std::ostream& err) {
  const int code = exitCode(summary.ending());
  // Something to say: a collection that did not end ok (not authorised, an app update needed
  // and failures alike), a token that could not be saved, a non-zero exit.
  const bool problems =
      code != kExitOk || !summary.token_problem.empty() ||
      std::any_of(summary.collections.begin(), summary.collections.end(),
                  [](const CollectionSummary& c) { return c.outcome != Outcome::Ok; });
  if (how.quiet) {
    if (!problems) return;
    for (const CollectionSummary& c : summary.collections) {
      if (c.outcome != Outcome::Ok) {
        err << "oura-collector: " << c.collection << ": " << toString(c.outcome)
            << (c.message.empty() ? "" : ": " + c.message) << "\n";
      }
    }
    if (!summary.token_problem.empty()) {
      err << "oura-collector: token store: " << summary.token_problem << "\n";
    }
    return;
  }
  if (how.terminal || how.summary || problems) summary.print(err, code);
}

}  // namespace oura::core
