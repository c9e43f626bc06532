// The shared rate limiter: a sliding-window log of request starts, a concurrency cap and a
// process-wide pause (429 Retry-After). See rate_limiter.hpp.
#include "http/rate_limiter.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace oura::core {

namespace {
constexpr std::chrono::milliseconds kStopCheck{100};
}

RateLimiter::RateLimiter(RateLimitSettings settings, const std::atomic<bool>* stop)
    : settings_(settings), stop_(stop) {
  if (settings_.requests < 1) {
    throw std::invalid_argument("rate limit: requests must be at least 1, not " +
                                std::to_string(settings_.requests));
  }
  if (settings_.window.count() <= 0) {
    throw std::invalid_argument("rate limit: window must be positive, not " +
                                std::to_string(settings_.window.count()) + " ms");
  }
  if (settings_.concurrency < 1) {
    throw std::invalid_argument("rate limit: concurrency must be at least 1, not " +
                                std::to_string(settings_.concurrency));
  }
}

RateLimiter::Permit::Permit(Permit&& other) noexcept : owner_(other.owner_) {
  other.owner_ = nullptr;
}

RateLimiter::Permit::~Permit() {
  if (owner_ != nullptr) owner_->release();
}

void RateLimiter::waitUntil(std::unique_lock<std::mutex>& lock, Clock::time_point until) {
  if (stop_ == nullptr) {
    cv_.wait_until(lock, until);
    return;
  }
  if (stop_->load()) throw StopRequested();
  cv_.wait_until(lock, std::min(until, Clock::now() + kStopCheck));
  if (stop_->load()) throw StopRequested();
}

void RateLimiter::sleepFor(std::chrono::milliseconds duration) {
  const Clock::time_point until = Clock::now() + duration;
  std::unique_lock lock(mutex_);
  while (Clock::now() < until) waitUntil(lock, until);
  if (stop_ != nullptr && stop_->load()) throw StopRequested();
}

RateLimiter::Permit RateLimiter::acquire() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stop_ != nullptr && stop_->load()) throw StopRequested();
    const Clock::time_point now = Clock::now();
    if (now < paused_until_) {
      waitUntil(lock, paused_until_);
      continue;
    }
    if (in_flight_ >= settings_.concurrency) {
      waitUntil(lock, Clock::time_point::max());
      continue;
    }
    // Forget starts that have left the window [now - window, now].
    while (!starts_.empty() && now - starts_.front() >= settings_.window) starts_.pop_front();
    if (static_cast<int>(starts_.size()) >= settings_.requests) {
      // The oldest start leaves the window at front + window; tighten() may have shrunk the
      // budget below the log's size, so the wait loops until enough starts have left.
      waitUntil(lock, starts_.front() + settings_.window);
      continue;
    }
    starts_.push_back(now);
    ++in_flight_;
    ++started_;
    return Permit(this);
  }
}

void RateLimiter::release() {
  {
    std::lock_guard lock(mutex_);
    --in_flight_;
  }
  cv_.notify_all();
}

void RateLimiter::pauseUntil(Clock::time_point until) {
  {
    std::lock_guard lock(mutex_);
    paused_until_ = std::max(paused_until_, until);
  }
  cv_.notify_all();
}

void RateLimiter::tighten(int requests, std::chrono::milliseconds window) {
  if (requests < 1 || window.count() <= 0) return;  // nonsense from a server: ignore
  {
    std::lock_guard lock(mutex_);
    // Fewer requests over a longer window satisfies both the old and the new budget.
    settings_.requests = std::min(settings_.requests, requests);
    settings_.window = std::max(settings_.window, window);
  }
  cv_.notify_all();
}

std::uint64_t RateLimiter::started() const {
  std::lock_guard lock(mutex_);
  return started_;
}

}  // namespace oura::core
