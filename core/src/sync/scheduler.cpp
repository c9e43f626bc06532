#include "sync/scheduler.hpp"

#include <algorithm>
#include <numeric>
#include <thread>

namespace oura::core {

LandingLedger::LandingLedger(std::size_t windows) : state_(windows, State::Pending) {}

std::optional<std::size_t> LandingLedger::prefixIfLanded(std::size_t i) const {
  if (i >= state_.size() || state_[i] != State::Pending) return std::nullopt;
  for (std::size_t j = 0; j < i; ++j) {
    if (state_[j] != State::Landed) return std::nullopt;
  }
  std::size_t end = i;
  while (end + 1 < state_.size() && state_[end + 1] == State::Landed) ++end;
  return end;
}

void LandingLedger::landed(std::size_t i) { state_.at(i) = State::Landed; }

void LandingLedger::failed(std::size_t i) {
  state_.at(i) = State::Failed;
  any_failed_ = true;
}

std::size_t LandingLedger::landedPrefix() const {
  std::size_t n = 0;
  while (n < state_.size() && state_[n] == State::Landed) ++n;
  return n;
}

std::vector<WorkItem> scheduleOrder(const std::vector<std::size_t>& windows_per_collection) {
  std::vector<std::size_t> order(windows_per_collection.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return windows_per_collection[a] > windows_per_collection[b];
  });
  std::vector<WorkItem> items;
  for (std::size_t c : order) {
    for (std::size_t w = 0; w < windows_per_collection[c]; ++w) items.push_back({c, w});
  }
  return items;
}

void runWorkItems(const std::vector<WorkItem>& items, std::size_t workers,
                  const std::function<void(std::size_t worker, const WorkItem& item)>& run) {
  std::atomic<std::size_t> next{0};
  auto worker = [&](std::size_t index) {
    for (std::size_t n = next++; n < items.size(); n = next++) run(index, items[n]);
  };
  const std::size_t threads = std::max<std::size_t>(1, std::min(workers, items.size()));
  std::vector<std::jthread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker, t);
  worker(0);
}

}  // namespace oura::core
