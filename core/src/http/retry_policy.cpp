// The retry policy: classification, exponential backoff with full jitter, Retry-After.
// See retry_policy.hpp.
#include "http/retry_policy.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Exception.h>
#include <Poco/String.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

namespace oura::core {

namespace {

// Retry-After values above this are treated as this (a day): no server means more, and it keeps
// the millisecond arithmetic far from overflow.
constexpr std::int64_t kMaxRetryAfterSeconds = 24 * 60 * 60;

std::chrono::milliseconds clampSeconds(std::int64_t seconds) {
  return std::chrono::milliseconds(std::clamp<std::int64_t>(seconds, 0, kMaxRetryAfterSeconds) *
                                   1000);
}

// An HTTP date (RFC 9110 5.6.7: IMF-fixdate, the obsolete RFC 850 and asctime forms) through
// Poco. Poco 1.11's parser is lenient (garbage parses as year 0), so a parse only counts when
// formatting the result in the canonical form of that format gives the input back.
std::optional<Poco::DateTime> parseHttpDate(const std::string& text) {
  struct Form {
    const std::string& parse;
    const char* canonical;
  };
  static const Form forms[] = {
      {Poco::DateTimeFormat::HTTP_FORMAT, "%w, %d %b %Y %H:%M:%S GMT"},
      {Poco::DateTimeFormat::RFC850_FORMAT, "%W, %d-%b-%y %H:%M:%S GMT"},
      {Poco::DateTimeFormat::ASCTIME_FORMAT, "%w %b %f %H:%M:%S %Y"},
  };
  for (const Form& form : forms) {
    Poco::DateTime parsed;
    int tzd = 0;
    try {
      if (!Poco::DateTimeParser::tryParse(form.parse, text, parsed, tzd)) continue;
    } catch (const Poco::Exception&) {
      continue;
    }
    if (tzd != 0) continue;  // HTTP dates are always GMT
    if (Poco::icompare(Poco::DateTimeFormatter::format(parsed, form.canonical), text) != 0)
      continue;
    return parsed;
  }
  return std::nullopt;
}

}  // namespace

RetryPolicy::RetryPolicy(RetrySettings settings, std::uint64_t seed)
    : settings_(settings), rng_(seed) {
  if (settings_.max_attempts < 1) settings_.max_attempts = 1;
  if (settings_.base_delay.count() < 0) settings_.base_delay = std::chrono::milliseconds(0);
  if (settings_.max_delay.count() < 0) settings_.max_delay = std::chrono::milliseconds(0);
  if (settings_.max_total.count() < 0) settings_.max_total = std::chrono::milliseconds(0);
}

RetryDecision RetryPolicy::classify(int status) {
  switch (status) {
    case 0:  // transport: timeout, reset, truncated body
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return RetryDecision::Retry;
    case 401:
      return RetryDecision::Refresh;
    default:
      return RetryDecision::Fail;
  }
}

std::chrono::milliseconds RetryPolicy::backoff(
    int attempt, std::optional<std::chrono::milliseconds> retry_after) {
  using std::chrono::milliseconds;
  const std::int64_t max_delay = settings_.max_delay.count();
  // cap = min(max_delay, base * 2^(attempt-1)), computed without overflow.
  std::int64_t cap = std::min(settings_.base_delay.count(), max_delay);
  for (int i = 1; i < attempt && cap < max_delay; ++i) {
    cap = cap > max_delay / 2 ? max_delay : cap * 2;
  }
  std::int64_t wait = 0;
  if (cap > 0) {
    std::uniform_int_distribution<std::int64_t> jitter(0, cap);
    std::lock_guard lock(mutex_);
    wait = jitter(rng_);
  }
  if (retry_after) {
    const std::int64_t at_least = std::max<std::int64_t>(retry_after->count(), 0);
    wait = std::max(wait, at_least);
    // A Retry-After longer than all the waiting allowed for one request is capped, so the caller
    // sees a bounded wait (and gives up on max_total itself).
    if (*retry_after > settings_.max_total) wait = std::min(wait, max_delay);
  }
  return milliseconds(wait);
}

std::optional<std::chrono::milliseconds> RetryPolicy::parseRetryAfter(
    const std::string& value, std::chrono::system_clock::time_point now) {
  const std::string text = Poco::trim(value);
  if (text.empty()) return std::nullopt;
  if (std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
    // delta-seconds (RFC 9110 10.2.3); an absurdly long value is capped, not rejected.
    std::int64_t seconds = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec == std::errc::result_out_of_range) return clampSeconds(kMaxRetryAfterSeconds);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return clampSeconds(seconds);
  }
  const std::optional<Poco::DateTime> date = parseHttpDate(text);
  if (!date) return std::nullopt;
  const std::int64_t at_us = date->timestamp().epochMicroseconds();
  const std::int64_t now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  if (at_us <= now_us) return std::chrono::milliseconds(0);  // a date in the past: retry now
  const std::int64_t delta_ms = (at_us - now_us + 999) / 1000;
  return std::min(std::chrono::milliseconds(delta_ms), clampSeconds(kMaxRetryAfterSeconds));
}

}  // namespace oura::core
