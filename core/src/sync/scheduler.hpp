#pragma once
// The scheduler of a run's windows (DESIGN.md "Windows in parallel"): every (collection, window)
// is one work item, handed to N workers (the manifest's rate_limit.concurrency) under the one
// shared rate limiter, the collections with the most windows first; a collection's windows may
// land out of order, and its sync state advances only over the contiguous prefix of windows that
// have landed (LandingLedger).

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

namespace oura::core {

// Which windows of one collection have landed (their last batch written, with the rows, in every
// sink), in plan order. A window's last batch carries the sync state only when every window
// before it has landed; it then records the end of the contiguous landed run that it completes
// (windows after a gap that landed earlier are taken in then). A window that failed is a gap for
// good: nothing after it is recorded in this run, and windows not yet started are not started.
// Not thread-safe by itself: CollectionRun holds its landing mutex around prefixIfLanded, the
// write, and landed(), so that two windows' decisions never race.
class LandingLedger {
 public:
  explicit LandingLedger(std::size_t windows);

  std::size_t size() const { return state_.size(); }
  // If window `i` lands now, the index of the last window of the contiguous landed prefix that it
  // completes; nullopt when a window before it has not landed (its batch carries no sync state).
  std::optional<std::size_t> prefixIfLanded(std::size_t i) const;
  void landed(std::size_t i);
  void failed(std::size_t i);
  // Windows landed from the first on, without a gap.
  std::size_t landedPrefix() const;
  // A window failed: the collection's remaining windows are not started.
  bool anyFailed() const { return any_failed_; }
  bool hasLanded(std::size_t i) const { return state_.at(i) == State::Landed; }

 private:
  enum class State { Pending, Landed, Failed };
  std::vector<State> state_;
  bool any_failed_ = false;
};

// One window of one collection.
struct WorkItem {
  std::size_t collection = 0;  // index into the run's selection
  std::size_t window = 0;      // index into that collection's window plan
};

// The order work items are handed out: the collections with the most windows first (a stable
// sort: ties keep the selection's order), each collection's windows in plan order. Starting the
// long series first keeps every slot busy to the end instead of leaving one long collection to
// finish alone.
std::vector<WorkItem> scheduleOrder(const std::vector<std::size_t>& windows_per_collection);

// Runs `items` on `workers` threads (the calling thread is one of them), each item once, in the
// given order of start. `run(worker, item)` must not throw; `worker` (0..workers-1) picks the
// worker's own resources (its HTTP client). Returns when every item has run.
void runWorkItems(const std::vector<WorkItem>& items, std::size_t workers,
                  const std::function<void(std::size_t worker, const WorkItem& item)>& run);

}  // namespace oura::core
