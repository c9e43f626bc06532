#pragma once
// The process-wide rate limiter shared by every plugin and thread that talks to one Oura
// application: a sliding-window log (never more than `requests` requests in any `window`, counted
// from each request's start to `window` after its end, so that the server's count by arrival
// stays within the budget as well as ours by start), a cap on
// requests in flight, and a pause that a 429's Retry-After imposes on everyone. It adapts to what
// the server says: X-RateLimit-Limit tightens the budget, X-RateLimit-Remaining 0 pauses until
// X-RateLimit-Reset (see adapt()). docs/retries.md describes the whole policy.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

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

// What one response's X-RateLimit-* headers say; each part absent when the header is missing or
// not a number.
struct ServerRateLimit {
  std::optional<int> limit;       // X-RateLimit-Limit: requests allowed (per our window, see adapt)
  std::optional<int> remaining;   // X-RateLimit-Remaining: requests left in the server's window
  std::optional<std::chrono::milliseconds> reset;  // X-RateLimit-Reset: wait until it resets
  // X-RateLimit-Window: the length of the server's window (delta-seconds, fractions allowed).
  std::optional<std::chrono::milliseconds> window;
  // The answer was a 429 (set by the caller): its Limit and Reset say the server's budget.
  bool too_many = false;

  bool empty() const { return !limit && !remaining && !reset && !window; }

  // X-RateLimit-Window: seconds (an integer or a decimal fraction, > 0, at most a day), else
  // nothing.
  static std::optional<std::chrono::milliseconds> parseWindow(const std::string& value);

  // Parses the three header values (an empty string: the header was absent). Limit and
  // Remaining are non-negative integers. Reset is delta-seconds, a Unix time in seconds (a value
  // above 10^9: GitHub's convention) or an HTTP date, turned into a wait from `now` (0 when in
  // the past); Reset values above a day are taken as a day.
  static ServerRateLimit parse(const std::string& limit, const std::string& remaining,
                               const std::string& reset,
                               std::chrono::system_clock::time_point now =
                                   std::chrono::system_clock::now());
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // Called with the time of every start the limiter records, under its lock (tests, diagnostics).
  using StartObserver = std::function<void(Clock::time_point)>;

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

  // Blocks until a request may start: a free concurrency slot, fewer than `requests` requests in
  // flight or ended within the last `window`, and no pause in force. The Permit's destruction
  // records the end. Throws StopRequested.
  Permit acquire();

  // Sleeps for `duration` (a retry's backoff), waking within ~100 ms of a stop request.
  // Throws StopRequested.
  void sleepFor(std::chrono::milliseconds duration);

  // Pauses every caller of acquire() until `until` (a 429 with Retry-After).
  void pauseUntil(Clock::time_point until);

  // Lowers the budget for the rest of the process (server-sent X-RateLimit-Limit); never raises:
  // the new budget is min(requests) over max(window). Nonsense (< 1) is ignored. Returns true
  // when the budget changed.
  bool tighten(int requests, std::chrono::milliseconds window);

  // Adapts to a response's X-RateLimit-* headers. Limit with the server's window known
  // (X-RateLimit-Window on any answer; on a 429 without it, the longest Reset a 429 said, which a
  // window is never shorter than): the server's budget is learned, `limit` requests per that
  // window, enforced besides this limiter's own budget (which it does not change). Limit
  // without a window: the budget becomes at most `limit` requests per this limiter's window
  // (taking ours can only be stricter when the server's is shorter, and Remaining/Reset cover a
  // longer one). Remaining 0 with a Reset: every caller pauses until the reset, at most
  // `max_pause` (the retry policy's max_delay: a bogus Reset must not stall the process).
  // Returns true when a budget was tightened or learned.
  bool adapt(const ServerRateLimit& server, std::chrono::milliseconds max_pause);

  // Enforces `requests` per `window` of the server's besides this limiter's budget, replacing a
  // budget learned before (the server knows its own window). Nonsense (< 1) is ignored. Returns
  // true when it changed.
  bool learnServerBudget(int requests, std::chrono::milliseconds window);

  // The budget in force (after any tightening).
  RateLimitSettings settings() const;
  // The server's budget learned from X-RateLimit-Window or a 429 (its `concurrency` unused).
  std::optional<RateLimitSettings> serverBudget() const;

  // A wait for the budget or a pause of at least this long is logged once, with the wall-clock
  // time it ends: "waiting for the rate limit until HH:MM" (a budget that stalls the run).
  static constexpr std::chrono::seconds kReportedWait{30};

  // Observes every recorded start from now on (replaces a previous observer).
  void setStartObserver(StartObserver observer);

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
  // Logs a wait until `until` when it is long and not reported yet (mutex_ held).
  void reportWait(Clock::time_point until, const char* why);
  std::optional<RateLimitSettings> server_;  // learned from the server (learnServerBudget)
  RateLimitSettings configured_;             // settings_ before any tightening
  std::chrono::milliseconds longest_429_reset_{0};
  Clock::time_point reported_until_{};
  std::deque<Clock::time_point> ends_;  // when recent requests ended, oldest first
  int in_flight_ = 0;
  Clock::time_point paused_until_{};
  std::uint64_t started_ = 0;
  StartObserver observer_;
};

}  // namespace oura::core
