// The core's HTTP client for the Oura API and the `{data, next_token}` paginator.
// See api_client.hpp and DESIGN.md "Shared rate limiter and retry policy".
#include "http/api_client.hpp"
#include "http/server_text.hpp"

#include "http/session.hpp"

#include "http/network_watch.hpp"

#include "http/page_parser.hpp"

#include <Poco/Exception.h>
#include <Poco/InflatingStream.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/JSONException.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>
#include <openssl/ssl.h>

#include <optional>
#include <oura_sdk/errors.hpp>
#include <oura_sdk/http.hpp>
#include <set>
#include <sstream>
#include <thread>

namespace oura::core {

namespace {

constexpr std::size_t kExcerptChars = 200;
constexpr std::size_t kShownUrlChars = 300;

Poco::Logger& httpLog() { return Poco::Logger::get("oura.http"); }

// The first ~200 characters of a body for an error message: only when printable text, with
// whitespace folded, and with the token (should a server echo it) blanked out.
std::string excerpt(const std::string& body, const std::string& token) {
  if (body.empty()) return "(empty body)";
  std::string out;
  for (unsigned char c : body.substr(0, kExcerptChars)) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (c < 0x20 || c == 0x7f) {
      // Appended piecewise: GCC 12 at -O3 reports a false -Wrestrict on `"(" + std::string`.
      std::string binary = "(";
      binary += std::to_string(body.size());
      binary += " bytes, not text)";
      return binary;
    }
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out.push_back(static_cast<char>(c));
  }
  // A token of a few characters (a test's "x") would blank every such letter; real tokens are
  // long, and a short one is no secret worth mangling the message for.
  if (token.size() >= 8) {
    for (std::size_t at = out.find(token); at != std::string::npos; at = out.find(token, at)) {
      out.replace(at, token.size(), "***");
    }
  }
  if (body.size() > kExcerptChars) out += "...";
  return out;
}

// One exchange's result: a status with a fully read body, or a transport failure.
struct Exchange {
  int status = 0;  // 0: transport failure
  std::string reason;
  std::string body;
  std::optional<std::string> retry_after;
  std::string www_authenticate;  // the WWW-Authenticate header, when sent
  ServerRateLimit server_limit;  // the X-RateLimit-* headers, when sent
  std::string transport_error;  // set when status == 0
  bool stale = false;           // a reused keep-alive connection was found dropped
  bool fatal = false;           // a transport failure that retrying cannot fix (certificate)
  std::optional<std::string> refused;  // a response over a cap: not retried (it will not shrink)
};

}  // namespace

struct ApiClient::Impl {
  HttpSettings settings;
  RateLimiter& limiter;
  RetryPolicy& policy;
  TokenProvider& tokens;
  bool https = false;
  std::string host;
  Poco::UInt16 port = 0;
  std::string base_path;  // without a trailing '/'
  Poco::Net::Context::Ptr context;
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  std::uint64_t exchanges_on_session = 0;  // completed exchanges on the current connection

  Impl(HttpSettings s, RateLimiter& l, RetryPolicy& p, TokenProvider& t)
      : settings(std::move(s)), limiter(l), policy(p), tokens(t) {
    Poco::URI base;
    try {
      base = Poco::URI(settings.base_url);
    } catch (const Poco::Exception& e) {
      throw sdk::ConfigError("invalid API base URL '" + settings.base_url +
                             "': " + e.displayText());
    }
    const std::string scheme = Poco::toLower(base.getScheme());
    if (scheme != "http" && scheme != "https") {
      throw sdk::ConfigError("the API base URL '" + settings.base_url +
                             "' must start with https:// (or http:// for a loopback test server)");
    }
    host = base.getHost();
    if (host.empty())
      throw sdk::ConfigError("the API base URL '" + settings.base_url + "' has no host");
    if (!base.getQuery().empty() || !base.getFragment().empty()) {
      throw sdk::ConfigError("the API base URL '" + settings.base_url +
                             "' must not carry a query or fragment");
    }
    https = scheme == "https";
    if (!https && !isLoopbackHost(host)) {
      throw sdk::ConfigError("refusing plain http:// for '" + settings.base_url +
                             "': the access token would travel unencrypted; use https:// "
                             "(http:// is only allowed for 127.0.0.1, ::1 and localhost)");
    }
    port = base.getPort();
    base_path = base.getPath();
    while (!base_path.empty() && base_path.back() == '/') base_path.pop_back();
    if (https) {
      try {
        context = makeTlsContext(settings.ca_file);  // VERIFY_STRICT, IGNORE_UNEXPECTED_EOF
      } catch (const Poco::Exception& e) {
        throw sdk::ConfigError(
            "cannot set up TLS for '" + settings.base_url + "'" +
            (settings.ca_file.empty() ? "" : " with CA file " + settings.ca_file) + ": " +
            e.displayText());
      }
    }
  }

  void resetSession() {
    if (session) {
      try {
        session->reset();
      } catch (const Poco::Exception&) {
        // closing a broken socket may fail; the session is discarded anyway
      }
    }
    session.reset();
    exchanges_on_session = 0;
  }

  Poco::Net::HTTPClientSession& currentSession() {
    if (!session) {
      if (https) {
        session = std::make_unique<Poco::Net::HTTPSClientSession>(host, port, context);
      } else {
        session = std::make_unique<Poco::Net::HTTPClientSession>(host, port);
      }
      session->setKeepAlive(true);
      const Poco::Timespan connect(
          std::chrono::duration_cast<std::chrono::microseconds>(settings.connect_timeout).count());
      const Poco::Timespan read(
          std::chrono::duration_cast<std::chrono::microseconds>(settings.read_timeout).count());
      session->setTimeout(connect, read, read);
      exchanges_on_session = 0;
    }
    return *session;
  }

  // One request and its fully read response. Never throws for network trouble; throws
  // StopRequested when SIGINT/SIGTERM came while waiting on the network.
  Exchange exchange(const std::string& uri, const std::string& token, RequestStats& stats) {
    RateLimiter::Permit permit = limiter.acquire();
    if (networkStopRequested()) throw StopRequested();
    const bool reused = session && exchanges_on_session > 0;
    ++stats.requests;
    Exchange out;
    NetworkWatch::Fired fired = NetworkWatch::Fired::Nothing;
    bool reset = false;
    {
      Poco::Net::HTTPClientSession& s = currentSession();
      // Shuts the socket down on SIGTERM or when the whole exchange overruns its deadline.
      NetworkWatch watch(s, NetworkWatch::Clock::now() + settings.response_timeout);
      out = exchangeOn(s, uri, token, reused, reset);
      fired = watch.fired();
    }
    if (reset || fired != NetworkWatch::Fired::Nothing) resetSession();
    if (fired == NetworkWatch::Fired::Stop) throw StopRequested();
    if (fired == NetworkWatch::Fired::Deadline) {
      out = transport(std::move(out),
                      "no complete response within " +
                          std::to_string(settings.response_timeout.count()) +
                          " s (api.response_timeout)");
      out.stale = false;
      out.refused.reset();
    }
    return out;
  }

  // Reads `in` to its end into `raw`, one receive at a time; nothing when it fit, else why not.
  std::optional<std::string> readCapped(std::istream& in, std::string& raw) const {
    char buffer[64 * 1024];
    while (in.peek() != std::char_traits<char>::eof()) {  // at most one receive per peek
      const std::streamsize n = in.readsome(buffer, sizeof buffer);
      raw.append(buffer, static_cast<std::size_t>(n));
      if (raw.size() > settings.max_response_bytes) {
        return "the response is larger than " + std::to_string(settings.max_response_bytes) +
               " bytes (api.max_response_bytes); not read further";
      }
    }
    return std::nullopt;
  }

  // Gunzips `raw` into `body`, at most max_decoded_bytes.
  std::optional<std::string> inflateCapped(const std::string& raw, std::string& body) const {
    std::istringstream compressed(raw);
    Poco::InflatingInputStream inflater(compressed, Poco::InflatingStreamBuf::STREAM_GZIP);
    char buffer[64 * 1024];
    for (;;) {
      inflater.read(buffer, sizeof buffer);
      const std::streamsize n = inflater.gcount();
      if (n <= 0) break;
      body.append(buffer, static_cast<std::size_t>(n));
      if (body.size() > settings.max_decoded_bytes) {
        body.clear();
        return "the response decompresses to more than " +
               std::to_string(settings.max_decoded_bytes) +
               " bytes (api.max_decoded_bytes); not read further";
      }
    }
    if (inflater.bad()) throw Poco::IOException("the gzip body could not be decompressed");
    return std::nullopt;
  }

  // The longest JSON string in `body` must fit max_string_bytes (a string is built whole by the
  // parser). Counts raw bytes between unescaped quotes.
  std::optional<std::string> longStringProblem(const std::string& body) const {
    bool in_string = false;
    std::size_t length = 0;
    for (std::size_t i = 0; i < body.size(); ++i) {
      const char c = body[i];
      if (!in_string) {
        if (c == '"') {
          in_string = true;
          length = 0;
        }
        continue;
      }
      if (c == '\\') {
        ++i;
        length += 2;
      } else if (c == '"') {
        in_string = false;
      } else {
        ++length;
      }
      if (length > settings.max_string_bytes) {
        return "the response holds a JSON string longer than " +
               std::to_string(settings.max_string_bytes) + " bytes (api.max_string_bytes)";
      }
    }
    return std::nullopt;
  }

  Exchange exchangeOn(Poco::Net::HTTPClientSession& s, const std::string& uri,
                      const std::string& token, bool reused, bool& reset) {
    Exchange out;
    reset = true;  // until the exchange completes
    try {
      Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, uri,
                                     Poco::Net::HTTPMessage::HTTP_1_1);
      request.set("Authorization", "Bearer " + token);
      request.set("Accept", "application/json");
      request.set("Accept-Encoding", "gzip");
      request.set("User-Agent", settings.user_agent);
      request.setKeepAlive(true);
      s.sendRequest(request);
      Poco::Net::HTTPResponse response;
      std::istream& in = s.receiveResponse(response);
      out.status = static_cast<int>(response.getStatus());
      out.reason = response.getReason();
      if (response.hasContentLength() &&
          response.getContentLength64() > static_cast<Poco::Int64>(settings.max_response_bytes)) {
        out.refused = "the response announces " + std::to_string(response.getContentLength64()) +
                      " bytes, more than " + std::to_string(settings.max_response_bytes) +
                      " (api.max_response_bytes); not read";
        return out;
      }
      std::string raw;
      if (auto too_large = readCapped(in, raw)) {
        out.refused = *too_large;
        return out;
      }
      if (in.bad()) throw Poco::IOException("the response stream failed while reading the body");
      ++exchanges_on_session;
      if (response.has("Retry-After")) out.retry_after = response.get("Retry-After");
      out.www_authenticate = response.get("WWW-Authenticate", "");
      out.server_limit = ServerRateLimit::parse(response.get("X-RateLimit-Limit", ""),
                                                response.get("X-RateLimit-Remaining", ""),
                                                response.get("X-RateLimit-Reset", ""));
      out.server_limit.window =
          ServerRateLimit::parseWindow(response.get("X-RateLimit-Window", ""));
      out.server_limit.too_many = out.status == 429;
      if (response.hasContentLength() &&
          static_cast<std::streamsize>(raw.size()) < response.getContentLength64()) {
        return transport(std::move(out),
                         "the body was cut short (" + std::to_string(raw.size()) + " of " +
                             std::to_string(response.getContentLength64()) + " bytes)");
      }
      if (out.status == 200 && raw.empty()) {
        return transport(std::move(out), "status 200 with an empty body (connection cut short)");
      }
      if (Poco::icompare(response.get("Content-Encoding", ""), "gzip") == 0) {
        if (auto too_large = inflateCapped(raw, out.body)) {
          out.refused = *too_large;
          return out;
        }
      } else {
        if (raw.size() > settings.max_decoded_bytes) {
          out.refused = "the response is larger than " +
                        std::to_string(settings.max_decoded_bytes) +
                        " bytes (api.max_decoded_bytes)";
          return out;
        }
        out.body = std::move(raw);
      }
      if (auto long_string = longStringProblem(out.body)) {
        out.body.clear();
        out.refused = *long_string;
        reset = !response.getKeepAlive();
        return out;
      }
      reset = !response.getKeepAlive();
      return out;
    } catch (const Poco::Net::CertificateValidationException& e) {
      out = transport(std::move(out), "TLS certificate rejected: " + e.displayText());
      out.fatal = true;
      return out;
    } catch (const Poco::Net::SSLException& e) {
      out = transport(std::move(out), "TLS error: " + e.displayText());
      out.fatal = e.displayText().find("certificate verify failed") != std::string::npos;
      return out;
    } catch (const Poco::Net::NoMessageException& e) {
      out = transport(std::move(out), "connection closed without a response: " + e.displayText());
      out.stale = reused;
      return out;
    } catch (const Poco::Net::ConnectionResetException& e) {
      out = transport(std::move(out), "connection reset: " + e.displayText());
      out.stale = reused;
      return out;
    } catch (const Poco::TimeoutException& e) {
      return transport(std::move(out), "timeout: " + e.displayText());
    } catch (const Poco::Exception& e) {
      return transport(std::move(out), e.displayText());
    }
  }

  static Exchange transport(Exchange out, const std::string& message) {
    out.status = 0;
    out.transport_error = message;
    out.body.clear();
    return out;
  }

  // X-RateLimit-* headers: tighten the shared budget (never loosen), pause everyone while the
  // server says nothing remains. Logged when the budget changes.
  void adaptToServer(const ServerRateLimit& server, const std::string& url) {
    if (limiter.adapt(server, policy.settings().max_delay)) {
      if (const auto learned = limiter.serverBudget()) {
        httpLog().information("GET " + url + ": the server allows " +
                              std::to_string(learned->requests) + " requests per " +
                              std::to_string(learned->window.count()) +
                              " ms (X-RateLimit-Limit with " +
                              (server.window ? "X-RateLimit-Window" : "a 429's X-RateLimit-Reset") +
                              "): enforced from now on, besides the configured budget");
        return;
      }
      const RateLimitSettings now = limiter.settings();
      httpLog().information("GET " + url + ": the server's X-RateLimit-Limit is " +
                            std::to_string(*server.limit) + ": at most " +
                            std::to_string(now.requests) + " requests per " +
                            std::to_string(now.window.count()) + " ms from now on");
    }
    if (server.remaining && *server.remaining == 0 && server.reset && server.reset->count() > 0) {
      httpLog().information("GET " + url + ": X-RateLimit-Remaining is 0; every request waits " +
                            std::to_string(std::min(*server.reset, policy.settings().max_delay).count()) +
                            " ms for the reset");
    }
  }

  std::string problem(const Exchange& ex, const std::string& token) const {
    if (ex.status == 0) return "transport error: " + printable(ex.transport_error, 300);
    std::string text = "HTTP " + std::to_string(ex.status);
    if (!ex.reason.empty()) text += " " + printable(ex.reason, 100);  // the server's words
    return text + ": " + excerpt(ex.body, token);
  }
};

std::string shownUrl(const std::string& url) {
  if (url.size() <= kShownUrlChars) return url;
  return url.substr(0, kShownUrlChars) + "...(" + std::to_string(url.size()) + " characters in all)";
}

bool insufficientScope(const std::string& www_authenticate) {
  return Poco::toLower(www_authenticate).find("insufficient_scope") != std::string::npos;
}

ApiClient::ApiClient(HttpSettings settings, RateLimiter& limiter, RetryPolicy& policy,
                     TokenProvider& tokens)
    : impl_(std::make_unique<Impl>(std::move(settings), limiter, policy, tokens)) {}

ApiClient::~ApiClient() = default;

std::string ApiClient::buildUri(const std::string& path, const QueryParams& query) {
  std::string uri;
  Poco::URI::encode(path, "?#", uri);
  static const std::string reserved = "+&=?#/:";
  char separator = path.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [key, value] : query) {
    uri += separator;
    Poco::URI::encode(key, reserved, uri);
    uri += '=';
    Poco::URI::encode(value, reserved, uri);
    separator = '&';
  }
  return uri;
}

HttpResponse ApiClient::get(const std::string& path, const QueryParams& query,
                            RequestStats& stats, const BodyCheck& check) {
  Impl& d = *impl_;
  const std::string request_uri = d.base_path + buildUri(path, query);
  // What messages and logs show: a server's 10 MB next_token must not become a 10 MB log line.
  const std::string url = shownUrl(request_uri);
  const RetrySettings& rs = d.policy.settings();
  int attempts = 0;
  int max_attempts = rs.max_attempts;
  bool refreshed = false;
  bool refresh_worked = false;
  std::chrono::milliseconds waited{0};
  for (;;) {
    const std::string token = d.tokens.accessToken();  // sdk::LoginNeededError when none
    if (attempts > 0) ++stats.retries;
    ++attempts;
    Exchange ex = d.exchange(request_uri, token, stats);
    if (ex.refused) {
      throw sdk::HttpError(ex.status, url, "GET " + url + ": HTTP " + std::to_string(ex.status) +
                                               " but " + *ex.refused);
    }
    if (!ex.server_limit.empty()) d.adaptToServer(ex.server_limit, url);
    if (ex.status == 429) ++stats.rate_limited;
    std::optional<std::string> unusable;  // a 2xx body that `check` refused
    if (ex.status >= 200 && ex.status < 300) {
      if (check) unusable = check(ex.body);
      if (!unusable) {
        d.tokens.accepted(token);
        return HttpResponse{ex.status, std::move(ex.body), url};
      }
    }
    const std::string what = unusable ? "HTTP " + std::to_string(ex.status) + " but " + *unusable +
                                            ": " + excerpt(ex.body, token)
                                      : d.problem(ex, token);
    if (ex.status == 0 && ex.fatal) {
      throw sdk::HttpError(0, url, "GET " + url + ": " + what);
    }
    // A keep-alive connection that the server dropped while idle: reconnect at once.
    if (ex.stale && attempts < max_attempts) {
      httpLog().debug("GET " + url + ": kept-alive connection was dropped; reconnecting");
      continue;
    }
    // An unusable body is a transport error: retried, whatever its status said.
    switch (unusable ? RetryDecision::Retry : RetryPolicy::classify(ex.status)) {
      case RetryDecision::Fail:
        throw sdk::HttpError(ex.status, url, "GET " + url + ": " + what);
      case RetryDecision::Refresh: {
        // A token that works for other collections (or a server that says
        // insufficient_scope) is not expired: its scope for this collection was not granted,
        // and a refresh would only spend the single-use refresh token.
        const bool scope_refused = insufficientScope(ex.www_authenticate);
        // (A token replaced meanwhile by another thread's refresh is retried below instead.)
        if (scope_refused ||
            (d.tokens.acceptedBefore(token) && d.tokens.accessToken() == token)) {
          throw sdk::HttpError(
              ex.status, url,
              "GET " + url + ": " + what +
                  (scope_refused ? " (insufficient_scope: the scope of this collection was not "
                                   "granted)"
                                 : " (the same access token works for other collections: the "
                                   "scope of this collection was not granted)"));
        }
        if (!refreshed) {
          refreshed = true;
          refresh_worked = d.tokens.refreshAfterUnauthorized(token);
          if (refresh_worked) {
            ++max_attempts;  // the retry with the new token is on top of the policy's budget
            httpLog().information("GET " + url + ": 401; retrying once with a refreshed token");
            continue;
          }
        }
        throw sdk::HttpError(
            ex.status, url,
            "GET " + url + ": " + what + " (the access token was rejected" +
                (refresh_worked ? " even after a refresh" : " and could not be refreshed") +
                "; the scope may not be granted, or a new login is needed)");
      }
      case RetryDecision::Retry:
        break;
    }
    if (attempts >= max_attempts) {
      throw sdk::HttpError(
          ex.status, url,
          "GET " + url + ": gave up after " + std::to_string(attempts) + " attempts: " + what);
    }
    std::optional<std::chrono::milliseconds> retry_after;
    if (ex.retry_after) retry_after = RetryPolicy::parseRetryAfter(*ex.retry_after);
    // A 429 without a (readable) Retry-After but with X-RateLimit-Reset waits for the reset.
    if (ex.status == 429 && !retry_after && ex.server_limit.reset) {
      retry_after = ex.server_limit.reset;
    }
    const std::chrono::milliseconds delay = d.policy.backoff(attempts, retry_after);
    if (waited + delay > rs.max_total) {
      throw sdk::HttpError(ex.status, url,
                           "GET " + url + ": gave up after " + std::to_string(attempts) +
                               " attempts (waiting " + std::to_string(delay.count()) +
                               " ms more would exceed the retry budget of " +
                               std::to_string(rs.max_total.count()) + " ms): " + what);
    }
    if (ex.status == 429 && retry_after) {
      // Everyone pauses for the wait this request takes (Retry-After, capped by the policy),
      // not for whatever a server asked: a Retry-After of years must not stall the process.
      d.limiter.pauseUntil(RateLimiter::Clock::now() + delay);
    }
    httpLog().warning("GET " + url + ": " + what + "; retry " + std::to_string(attempts) + " of " +
                      std::to_string(max_attempts - 1) + " in " + std::to_string(delay.count()) +
                      " ms");
    d.limiter.sleepFor(delay);  // StopRequested on SIGINT/SIGTERM
    waited += delay;
  }
}

void forEachDocument(ApiClient& client, const std::string& path, const QueryParams& query,
                     RequestStats& stats,
                     const std::function<void(PageDocument&)>& on_document,
                     std::size_t max_pages) {
  std::set<std::string> seen_tokens;
  std::string cursor;
  for (std::size_t page = 0;; ++page) {
    QueryParams page_query = query;
    if (!cursor.empty()) page_query.emplace_back("next_token", cursor);
    if (page >= max_pages) {
      const std::string url = shownUrl(ApiClient::buildUri(path, page_query));
      throw sdk::HttpError(200, url,
                           "GET " + url + ": more than " + std::to_string(max_pages) +
                               " pages; stopping (is the server repeating itself?)");
    }
    PageShape shape;
    // The page is checked whole before any of its documents is used, so a bad page hands over
    // nothing. One that is not a JSON object at all is retried by get() as a transport error;
    // an object without a `data` array is reported at once (retrying will not change it).
    std::optional<std::string> shape_error;
    auto check = [&](const std::string& body) -> std::optional<std::string> {
      shape_error.reset();
      try {
        shape = checkPage(body);
      } catch (const PageError& e) {
        if (e.notJson()) return std::string(e.what());
        shape_error = e.what();
      }
      return std::nullopt;
    };
    HttpResponse response = client.get(path, page_query, stats, check);
    if (shape_error) {
      throw sdk::HttpError(response.status, response.url,
                           "GET " + response.url + ": " + *shape_error + ": " +
                               excerpt(response.body, ""));
    }
    ++stats.pages;
    forEachPageDocument(response.body, shape, on_document);
    if (!shape.next_token) return;
    const std::string next_token = *shape.next_token;
    if (seen_tokens.count(next_token) != 0) {
      throw sdk::HttpError(response.status, response.url,
                           "GET " + response.url +
                               ": the server repeated a next_token it sent before; stopping "
                               "to avoid an endless loop");
    }
    seen_tokens.insert(next_token);
    cursor = next_token;
  }
}

}  // namespace oura::core
