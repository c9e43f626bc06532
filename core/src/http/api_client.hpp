#pragma once
// The only way to the Oura API: one ApiClient per thread (Poco sessions are not thread-safe),
// sharing one RateLimiter and one RetryPolicy. Carries the bearer token, gzip, timeouts,
// keep-alive with reset-and-retry, TLS verification (system CAs or a configured CA file).

#include "http/page_parser.hpp"
#include "http/rate_limiter.hpp"
#include "http/retry_policy.hpp"

#include <Poco/JSON/Object.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace Poco::Net {
class HTTPClientSession;
}

namespace oura::core {

struct HttpSettings {
  std::string base_url = "https://api.ouraring.com";  // http:// only for loopback hosts
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds read_timeout{60};
  // The whole exchange (connect, request, every byte of the response) must end within this; a
  // server that drips a byte now and then is cut off ([api] response_timeout).
  std::chrono::seconds response_timeout{300};
  std::size_t max_response_bytes = 32u << 20;  // a page as sent (compressed) ([api])
  std::size_t max_decoded_bytes = 128u << 20;  // a page after gunzip ([api])
  std::size_t max_string_bytes = 8u << 20;     // one JSON string in a page ([api])
  std::string ca_file;       // empty: the system CA bundle
  std::string user_agent = "oura-collector";
};

// Where the bearer token comes from, and what to do on 401.
class TokenProvider {
 public:
  virtual ~TokenProvider() = default;
  // The current access token. Throws sdk::LoginNeededError when there is none.
  virtual std::string accessToken() = 0;
  // Called once after a 401 with the token that was rejected. Returns true when a new token is
  // available (refreshed, possibly by another thread: single-flight), false when the store
  // cannot refresh (the 401 is then final).
  virtual bool refreshAfterUnauthorized(const std::string& rejected_token) = 0;
  // Called after every 2xx with the token the request carried.
  virtual void accepted(const std::string& token) { (void)token; }
  // True when a request with `token` was answered 2xx before in this process: a 401 with it on
  // another collection means a scope not granted, not an expired token (no refresh).
  virtual bool acceptedBefore(const std::string& token) {
    (void)token;
    return false;
  }
};

// True when a WWW-Authenticate header value carries RFC 6750's `error="insufficient_scope"`
// (a 401 or 403 for a scope not granted: never answered by a refresh).
bool insufficientScope(const std::string& www_authenticate);

// Counters of one collection's requests (single-threaded use).
struct RequestStats {
  std::uint64_t requests = 0;  // HTTP requests sent (every attempt counts)
  std::uint64_t retries = 0;   // attempts after the first
  std::uint64_t pages = 0;     // pages walked by the paginator
  std::uint64_t rate_limited = 0;  // 429 Too Many Requests answers
};

using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  std::string body;         // decoded (gunzipped)
  std::string url;          // path and query, no secrets
};

class ApiClient {
 public:
  ApiClient(HttpSettings settings, RateLimiter& limiter, RetryPolicy& policy,
            TokenProvider& tokens);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // Looks at a 2xx body before get() returns it: nothing when the body is usable, else what is
  // wrong with it ("the body is not JSON"). An unusable body is retried like a transport error
  // (a proxy's error page, a body mangled in transit): backoff, the same attempts.
  using BodyCheck = std::function<std::optional<std::string>(const std::string& body)>;

  // GET path?query with the retry policy. Returns the 2xx response, with the body fully read
  // (and accepted by `check`, when given). Throws sdk::HttpError (status, url, message) when a
  // status is not retried or retries are exhausted (a body `check` kept refusing: the last
  // status, the URL, the problem and an excerpt of the body); sdk::LoginNeededError when there
  // is no token. Query values are percent-encoded ("+" as %2B).
  HttpResponse get(const std::string& path, const QueryParams& query, RequestStats& stats,
                   const BodyCheck& check = {});

  // Builds "path?k=v&..." with percent-encoding, as sent.
  static std::string buildUri(const std::string& path, const QueryParams& query);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `url` as messages and logs show it: at most about 300 characters (a hostile next_token can be
// megabytes), with its full length named when cut.
std::string shownUrl(const std::string& url);

// Walks a `{data, next_token}` collection: GET with the query, then with `next_token` added,
// until next_token is null or absent (never stops on a short page). Calls `on_document` for each
// element of `data` in order (page_parser.hpp: its bytes as sent, parsed, or the reason it
// cannot be; a bad element is one bad document, never a bad page). A page that is not JSON is retried as a transport error (see
// ApiClient::BodyCheck). Throws sdk::HttpError naming the URL when a page is still not JSON
// after the retries, lacks a `data` array, repeats a next_token already seen, or more than
// `max_pages` pages come.
void forEachDocument(ApiClient& client, const std::string& path, const QueryParams& query,
                     RequestStats& stats,
                     const std::function<void(PageDocument&)>& on_document,
                     std::size_t max_pages = 10000);

}  // namespace oura::core
