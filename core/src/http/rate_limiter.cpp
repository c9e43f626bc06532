// The shared rate limiter: a sliding-window log of request ends, a concurrency cap and a
// process-wide pause (429 Retry-After). See rate_limiter.hpp.
#include "http/rate_limiter.hpp"

#include "http/retry_policy.hpp"

#include <Poco/Logger.h>
#include <Poco/NumberParser.h>
#include <Poco/String.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <limits>
#include <stdexcept>
#include <string>

namespace oura::core {

namespace {
constexpr std::chrono::milliseconds kStopCheck{100};
// A Unix time in seconds rather than delta-seconds (2001-09-09; no reset lies 30 years away).
constexpr std::int64_t kEpochThreshold = 1000000000;
constexpr std::int64_t kMaxResetSeconds = 24 * 60 * 60;

// A non-negative decimal integer (surrounding blanks allowed), else nothing; values beyond
// 18 digits are taken as int's maximum.
std::optional<std::int64_t> count(const std::string& value) {
  const std::string text = Poco::trim(value);
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
    return std::nullopt;
  }
  if (text.size() > 18) return std::numeric_limits<int>::max();
  Poco::Int64 n = 0;
  if (!Poco::NumberParser::tryParse64(text, n)) return std::nullopt;
  return n;
}

}  // namespace

ServerRateLimit ServerRateLimit::parse(const std::string& limit, const std::string& remaining,
                                       const std::string& reset,
                                       std::chrono::system_clock::time_point now) {
  ServerRateLimit out;
  constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
  if (auto n = count(limit)) out.limit = static_cast<int>(std::min(*n, kIntMax));
  if (auto n = count(remaining)) out.remaining = static_cast<int>(std::min(*n, kIntMax));
  if (auto n = count(reset); n && *n > kEpochThreshold) {
    const std::int64_t now_s =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    out.reset = std::chrono::milliseconds(std::clamp<std::int64_t>(*n - now_s, 0, kMaxResetSeconds) * 1000);
  } else {
    // delta-seconds or an HTTP date: Retry-After's forms, with its day cap
    out.reset = RetryPolicy::parseRetryAfter(reset, now);
  }
  return out;
}

std::optional<std::chrono::milliseconds> ServerRateLimit::parseWindow(const std::string& value) {
  const std::string text = Poco::trim(value);
  double seconds = 0;
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](unsigned char c) {
        return std::isdigit(c) != 0 || c == '.';
      }) ||
      !Poco::NumberParser::tryParseFloat(text, seconds) || !(seconds > 0)) {
    return std::nullopt;
  }
  seconds = std::min<double>(seconds, kMaxResetSeconds);
  return std::chrono::milliseconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(seconds * 1000)));
}

RateLimiter::RateLimiter(RateLimitSettings settings, const std::atomic<bool>* stop)
    : settings_(settings), stop_(stop), configured_(settings) {
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
      reportWait(paused_until_, "the server asked to wait");
      waitUntil(lock, paused_until_);
      continue;
    }
    if (in_flight_ >= settings_.concurrency) {
      waitUntil(lock, Clock::time_point::max());
      continue;
    }
    // A request occupies the budget from its start until `window` after its end: the server
    // counts it when it arrives, somewhere between the two, so counting requests in flight plus
    // those that ended within the last window keeps every window of the server's arrivals
    // within the budget too (starts alone could not: a request started just inside a window may
    // arrive just inside the next). Forget ends that have left [now - window, now].
    // The same for the server's budget when one was learned: the log keeps the longer window.
    const auto kept = server_ ? std::max(settings_.window, server_->window) : settings_.window;
    while (!ends_.empty() && now - ends_.front() >= kept) ends_.pop_front();
    std::optional<Clock::time_point> free_at;  // when a full budget frees a slot
    for (const RateLimitSettings* budget : {&settings_, server_ ? &*server_ : nullptr}) {
      if (budget == nullptr) continue;
      // The ends inside this budget's window: from the first one after now - window.
      const auto first = std::upper_bound(ends_.begin(), ends_.end(), now - budget->window);
      if (in_flight_ + static_cast<int>(ends_.end() - first) < budget->requests) continue;
      // The oldest end leaves the window at first + window, or a request in flight ends first;
      // tighten() may have shrunk the budget below the log's size, so the wait loops.
      const Clock::time_point at =
          first == ends_.end() ? Clock::time_point::max() : *first + budget->window;
      free_at = free_at ? std::max(*free_at, at) : at;
    }
    if (free_at) {
      if (*free_at != Clock::time_point::max()) reportWait(*free_at, "the request budget is spent");
      waitUntil(lock, *free_at);
      continue;
    }
    if (observer_) observer_(now);
    ++in_flight_;
    ++started_;
    return Permit(this);
  }
}

void RateLimiter::release() {
  {
    std::lock_guard lock(mutex_);
    --in_flight_;
    ends_.push_back(Clock::now());  // under the lock: the log stays in time order
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

bool RateLimiter::tighten(int requests, std::chrono::milliseconds window) {
  if (requests < 1 || window.count() <= 0) return false;  // nonsense from a server: ignore
  bool changed = false;
  {
    std::lock_guard lock(mutex_);
    // Fewer requests over a longer window satisfies both the old and the new budget.
    changed = requests < settings_.requests || window > settings_.window;
    settings_.requests = std::min(settings_.requests, requests);
    settings_.window = std::max(settings_.window, window);
  }
  cv_.notify_all();
  return changed;
}

bool RateLimiter::learnServerBudget(int requests, std::chrono::milliseconds window) {
  if (requests < 1 || window.count() <= 0) return false;
  bool changed = false;
  {
    std::lock_guard lock(mutex_);
    changed = !server_ || server_->requests != requests || server_->window != window;
    server_ = RateLimitSettings{requests, window, settings_.concurrency};
    // A Limit applied to our own window before the server's was known is superseded: the
    // server's budget is enforced as it is, ours as configured.
    settings_.requests = configured_.requests;
    settings_.window = configured_.window;
  }
  cv_.notify_all();
  return changed;
}

bool RateLimiter::adapt(const ServerRateLimit& server, std::chrono::milliseconds max_pause) {
  bool tightened = false;
  std::optional<std::chrono::milliseconds> server_window = server.window;
  if (!server_window && server.too_many && server.reset && server.reset->count() > 0) {
    // A 429's Reset: the server's window is at least that long; the longest seen so far.
    std::lock_guard lock(mutex_);
    longest_429_reset_ = std::max(longest_429_reset_, *server.reset);
    server_window = longest_429_reset_;
  }
  if (!server_window && server.limit) {
    std::lock_guard lock(mutex_);
    if (server_) server_window = server_->window;  // a new Limit for the window learned before
  }
  if (server.limit && server_window) {
    tightened = learnServerBudget(*server.limit, *server_window);
  } else if (server.limit) {
    std::chrono::milliseconds window;
    {
      std::lock_guard lock(mutex_);
      window = settings_.window;
    }
    tightened = tighten(*server.limit, window);
  }
  if (server.remaining && *server.remaining == 0 && server.reset && server.reset->count() > 0) {
    pauseUntil(Clock::now() + std::min(*server.reset, std::max(max_pause, std::chrono::milliseconds(0))));
  }
  return tightened;
}

RateLimitSettings RateLimiter::settings() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

std::optional<RateLimitSettings> RateLimiter::serverBudget() const {
  std::lock_guard lock(mutex_);
  return server_;
}

void RateLimiter::reportWait(Clock::time_point until, const char* why) {
  const Clock::time_point now = Clock::now();
  if (until - now < kReportedWait) return;
  // Once per wait: a later end by less than the reported threshold is the same wait.
  if (until <= reported_until_ + kReportedWait && until + kReportedWait >= reported_until_) return;
  reported_until_ = until;
  const auto wall = std::chrono::system_clock::now() +
                    std::chrono::duration_cast<std::chrono::system_clock::duration>(until - now);
  const std::time_t t = std::chrono::system_clock::to_time_t(wall);
  std::tm local{};
  localtime_r(&t, &local);
  char hhmm[16];
  std::strftime(hhmm, sizeof hhmm, "%H:%M", &local);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(until - now).count();
  std::string budget = std::to_string(settings_.requests) + " requests per " +
                       std::to_string(settings_.window.count() / 1000) + " s";
  if (server_) {
    budget += ", the server's " + std::to_string(server_->requests) + " per " +
              std::to_string(server_->window.count() / 1000) + " s";
  }
  Poco::Logger::get("oura.http").warning(
      std::string("waiting for the rate limit until ") + hhmm + " (" + std::to_string(seconds) +
      " s; " + why + ": " + budget + ")");
}

void RateLimiter::setStartObserver(StartObserver observer) {
  std::lock_guard lock(mutex_);
  observer_ = std::move(observer);
}

std::uint64_t RateLimiter::started() const {
  std::lock_guard lock(mutex_);
  return started_;
}

}  // namespace oura::core
