#pragma once
// The output contract (docs/operations.md "Output"): on a terminal a progress line and the summary
// table; elsewhere one log line per finished collection, the table only with --summary or when
// something failed; --quiet: only problems. A closed standard output (`| head`) stops the run
// quietly with exit 0.

#include "sync/run_summary.hpp"

#include <atomic>
#include <ostream>
#include <thread>

namespace oura::core {

// True when standard output is a pipe or socket whose reader has gone (poll reports POLLERR),
// or an earlier write failed with EPIPE.
bool stdoutClosed();

// Watches standard output while a dry run writes rows to it: when its reader goes away, `stop` is
// set (nothing new starts, the run ends as if interrupted) and closed() becomes true.
class StdoutWatch {
 public:
  explicit StdoutWatch(std::atomic<bool>& stop);
  ~StdoutWatch();
  StdoutWatch(const StdoutWatch&) = delete;
  StdoutWatch& operator=(const StdoutWatch&) = delete;
  bool closed() const { return closed_; }

 private:
  std::atomic<bool>& stop_;
  std::atomic<bool> closed_{false};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// How a finished scrape/reprocess reports itself on stderr.
struct SummaryOutput {
  bool terminal = false;  // stderr is a terminal
  bool summary = false;   // --summary
  bool quiet = false;     // --quiet
};

// Prints what the contract asks for: the table (terminal, --summary, or not ok), or with
// --quiet only the problem lines of a run that did not end ok.
void reportRun(const RunSummary& summary, const SummaryOutput& how, std::ostream& err);

}  // namespace oura::core
