#pragma once
// The retry policy: which failures are retried, and how long to wait before the next attempt
// (exponential backoff with full jitter, capped, honouring Retry-After).

#include <chrono>
#include <mutex>
#include <optional>
#include <random>
#include <string>

namespace oura::core {

struct RetrySettings {
  int max_attempts = 5;                          // attempts per request, the first included
  std::chrono::milliseconds base_delay{500};     // backoff base
  std::chrono::milliseconds max_delay{60000};    // cap of one wait
  std::chrono::milliseconds max_total{600000};   // cap of all waits of one request
};

enum class RetryDecision {
  Retry,        // 429, 500, 502, 503, 504, transport errors (timeout, reset, truncated body)
  Refresh,      // 401: refresh the token once (where the store can), then retry once
  Fail,         // 400, 403, 404, 422, 426 and any other status: never retried
};

class RetryPolicy {
 public:
  explicit RetryPolicy(RetrySettings settings, std::uint64_t seed = std::random_device{}());

  // status 0 means a transport error.
  static RetryDecision classify(int status);

  // The wait before attempt `attempt + 1` (attempt counts from 1): uniform in
  // [0, min(max_delay, base_delay * 2^(attempt-1))], but at least `retry_after` when given
  // (then capped by max_delay only if retry_after is larger than max_total).
  std::chrono::milliseconds backoff(int attempt,
                                    std::optional<std::chrono::milliseconds> retry_after);

  // Parses a Retry-After header: delta-seconds or an HTTP date. Nothing when unparseable.
  static std::optional<std::chrono::milliseconds> parseRetryAfter(
      const std::string& value, std::chrono::system_clock::time_point now =
                                    std::chrono::system_clock::now());

  const RetrySettings& settings() const { return settings_; }

 private:
  RetrySettings settings_;
  std::mutex mutex_;
  std::mt19937_64 rng_;
};

}  // namespace oura::core
