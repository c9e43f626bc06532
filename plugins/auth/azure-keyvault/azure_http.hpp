#pragma once
// HTTP(S) for the azure-keyvault store: endpoint URLs checked at configuration time, one
// request/response exchange over Poco::Net::HTTP(S)ClientSession with strict TLS verification
// (a configured CA file, else the system CAs), and a small bounded backoff.
//
// The core's RetryPolicy (core/src/http/retry_policy.hpp) is not part of the plugin SDK, so the
// store keeps its own bounded loop with the same rules: 429/500/502/503/504 and transport
// errors retried, exponential backoff with full jitter, capped, at least Retry-After.

#include <Poco/Net/Context.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace oura::plugins::azure_keyvault {

/// scheme://host:port of a configured URL (vault_url, authority_host, imds_endpoint).
struct Endpoint {
  std::string key;   ///< the config key it came from (for messages)
  std::string url;   ///< as configured, without a trailing '/'
  bool https = true;
  std::string host;
  std::uint16_t port = 443;
};

/// True for 127.0.0.0/8, ::1 and "localhost".
bool isLoopbackHost(const std::string& host);

/// Parses and checks one configured URL. https:// always; http:// only when
/// `plain_http_anywhere` (the IMDS endpoint, plain HTTP like the real 169.254.169.254) or the
/// host is a loopback address (test servers). No query, fragment or path beyond "/".
/// @throws sdk::ConfigError naming `key`.
Endpoint parseEndpoint(const std::string& key, const std::string& url, bool plain_http_anywhere);

/// One exchange's outcome: a status with the body read completely, or a transport failure.
struct Response {
  int status = 0;                           ///< 0: transport failure (see `error`)
  std::string body;
  std::optional<std::string> retry_after;   ///< the Retry-After header
  std::string www_authenticate;             ///< the WWW-Authenticate header
  std::string error;                        ///< transport failure text (no secrets)
  bool maybe_sent = false;                  ///< transport failure after the request went out
  bool certificate = false;                 ///< TLS verification failed (never retried)
};

/// Strict-TLS HTTP client; one connection per exchange (no keep-alive to go stale).
class HttpClient {
 public:
  /// @param ca_file PEM CA bundle to trust instead of the system CAs ("" = system CAs).
  /// @throws sdk::ConfigError when the TLS context cannot be built (unreadable CA file).
  HttpClient(const std::string& ca_file, std::chrono::seconds timeout);

  /// Sends one request and reads the whole response. Never throws for network trouble.
  Response exchange(const Endpoint& endpoint, const std::string& method,
                    const std::string& path_and_query,
                    const std::vector<std::pair<std::string, std::string>>& headers,
                    const std::string& body = "", const std::string& content_type = "");

 private:
  Poco::Net::Context::Ptr context_;
  std::chrono::seconds timeout_;
};

/// Bounded backoff: which answers are retried and how long to wait.
class Backoff {
 public:
  Backoff(int max_attempts, std::chrono::milliseconds base, std::chrono::milliseconds cap);
  /// 429, 500, 502, 503, 504, or a transport failure that is not a certificate problem.
  static bool retryable(const Response& response);
  int maxAttempts() const { return max_attempts_; }
  /// The wait after failed attempt `attempt` (from 1): at least Retry-After (delta-seconds or
  /// an HTTP date) capped at `cap`; without one, uniform in [0, min(cap, base * 2^(attempt-1))].
  std::chrono::milliseconds wait(int attempt, const Response& response);
  /// Parses Retry-After; nothing when unparseable.
  static std::optional<std::chrono::milliseconds> parseRetryAfter(const std::string& value);

 private:
  int max_attempts_;
  std::chrono::milliseconds base_;
  std::chrono::milliseconds cap_;
  std::mt19937_64 rng_{std::random_device{}()};
};

/// The first ~200 characters of a body for an error message, whitespace folded; "(empty body)"
/// or "(N bytes, not text)".
std::string excerpt(const std::string& body);

}  // namespace oura::plugins::azure_keyvault
