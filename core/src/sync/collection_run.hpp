#pragma once
// One collection's run: its window plan, each window fetched through the shared HTTP layer (on
// whichever worker the scheduler gives it), documents kept by their own day, mapped by the
// endpoint plugin, written to every sink; the sync state advanced over the contiguous prefix of
// windows that have landed (scheduler.hpp LandingLedger).

#include "auth/token_provider.hpp"
#include "cli/progress.hpp"
#include "http/api_client.hpp"
#include "plugin_host/runtime.hpp"
#include "sync/batch_emitter.hpp"
#include "sync/days.hpp"
#include "sync/run_summary.hpp"
#include "sync/scheduler.hpp"
#include "sync/window_plan.hpp"

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace oura::core {

class CollectionRun {
 public:
  // `window`: inclusive days; ignored by snapshots, widened to the whole history by full
  // re-fetches. A collection whose scope the token lacks plans no window (NotAuthorised).
  CollectionRun(Runtime& runtime, const ServedCollection& served, StoreTokenProvider& tokens,
                const std::atomic<bool>& stop, CollectionSummary& summary, Progress& progress,
                DayRange window);

  std::size_t windowCount() const { return windows_.size(); }
  // Fetches and writes window `index` with `client` (the worker's own). Thread-safe: several
  // windows of one collection run at once. Never throws: a failure is the collection's outcome
  // (the first one wins), and the windows not yet started are then skipped.
  void runWindow(std::size_t index, ApiClient& client) noexcept;
  // After every window ran: the totals and the logged warning counts.
  void finish();
  // Windows landed from the first on, without a gap (for tests and the log).
  std::size_t landedPrefix() const;

 private:
  struct Window;
  void fetchWindow(Window& w);
  void fetchDocuments(Window& w);
  bool mapDocument(Window& w, PageDocument& doc);
  void land(Window& w);
  void flush(Window& w, bool complete, std::optional<std::string> synced);
  void fail(Window& w, Outcome outcome, const std::string& message, bool unreachable);
  void merge(const Window& w);
  bool inWindow(const Poco::JSON::Object& doc, const DayRange& chunk) const;

  Runtime& rt_;
  const ServedCollection& served_;
  const sdk::CollectionSpec& spec_;
  StoreTokenProvider& tokens_;
  const std::atomic<bool>& stop_;
  CollectionSummary& summary_;
  Progress& progress_;
  Poco::Logger& log_;
  WarningTally tally_;
  std::vector<PlannedWindow> windows_;
  mutable std::mutex mutex_;  // summary_, ledger_; held around a window's last batch
  LandingLedger ledger_;
  bool failed_unreachable_ = false;
};

}  // namespace oura::core
