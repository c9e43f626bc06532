#pragma once
// The process-wide rate limiter shared by every plugin and thread that talks to one Oura
// application: a sliding-window log (never more than `requests` starts in any `window`), a cap on
// requests in flight, and a pause that a 429's Retry-After imposes on everyone.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>

namespace oura::core {

struct RateLimitSettings {
  int requests = 5000;                        // budget per window
  std::chrono::milliseconds window{300000};   // sliding window length
  int concurrency = 4;                        // requests in flight at once
};

// Thrown by RateLimiter::acquire and RateLimiter::sleepFor once a stop was requested
// (SIGINT/SIGTERM): the request is not started, the caller unwinds.
class StopRequested : public std::runtime_error {
 public:
  StopRequested() : std::runtime_error("stopped by a signal") {}
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // `stop`, when given, is watched while waiting: every wait ends within ~100 ms of it
  // becoming true, with StopRequested.
  explicit RateLimiter(RateLimitSettings settings, const std::atomic<bool>* stop = nullptr);

  // Held for the duration of one request: releases its concurrency slot on destruction.
  class Permit {
   public:
    Permit(Permit&& other) noexcept;
    Permit& operator=(Permit&&) = delete;
    ~Permit();
   private:
    friend class RateLimiter;
    explicit Permit(RateLimiter* owner) : owner_(owner) {}
    RateLimiter* owner_;
  };

  // Blocks until a request may start: a free concurrency slot, fewer than `requests` starts in
  // the last `window`, and no pause in force. Records the start. Throws StopRequested.
  Permit acquire();

  // Sleeps for `duration` (a retry's backoff), waking within ~100 ms of a stop request.
  // Throws StopRequested.
  void sleepFor(std::chrono::milliseconds duration);

  // Pauses every caller of acquire() until `until` (a 429 with Retry-After).
  void pauseUntil(Clock::time_point until);

  // Lowers the budget for the rest of the process (server-sent X-RateLimit-Limit); never raises.
  void tighten(int requests, std::chrono::milliseconds window);

  // Requests started so far.
  std::uint64_t started() const;

 private:
  void release();
  // Waits on cv_ until `until` at the latest, in slices, checking the stop flag.
  void waitUntil(std::unique_lock<std::mutex>& lock, Clock::time_point until);
  RateLimitSettings settings_;
  const std::atomic<bool>* stop_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Clock::time_point> starts_;
  int in_flight_ = 0;
  Clock::time_point paused_until_{};
  std::uint64_t started_ = 0;
};

}  // namespace oura::core
