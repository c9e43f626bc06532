// The core's HTTP client for the Oura API and the `{data, next_token}` paginator.
// See api_client.hpp and DESIGN.md "Shared rate limiter and retry policy".
#include "http/api_client.hpp"
#include "http/server_text.hpp"

#include "http/session.hpp"

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
  ServerRateLimit server_limit;  // the X-RateLimit-* headers, when sent
  std::string transport_error;  // set when status == 0
  bool stale = false;           // a reused keep-alive connection was found dropped
  bool fatal = false;           // a transport failure that retrying cannot fix (certificate)
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

  // One request and its fully read response. Never throws for network trouble.
  Exchange exchange(const std::string& uri, const std::string& token, RequestStats& stats) {
    Exchange out;
    RateLimiter::Permit permit = limiter.acquire();
    const bool reused = session && exchanges_on_session > 0;
    ++stats.requests;
    try {
      Poco::Net::HTTPClientSession& s = currentSession();
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
      std::string raw;
      Poco::StreamCopier::copyToString(in, raw);
      if (in.bad()) throw Poco::IOException("the response stream failed while reading the body");
      ++exchanges_on_session;
      out.status = static_cast<int>(response.getStatus());
      out.reason = response.getReason();
      if (response.has("Retry-After")) out.retry_after = response.get("Retry-After");
      out.server_limit = ServerRateLimit::parse(response.get("X-RateLimit-Limit", ""),
                                                response.get("X-RateLimit-Remaining", ""),
                                                response.get("X-RateLimit-Reset", ""));
      if (response.hasContentLength() &&
          static_cast<std::streamsize>(raw.size()) < response.getContentLength64()) {
        resetSession();
        return transport(std::move(out),
                         "the body was cut short (" + std::to_string(raw.size()) + " of " +
                             std::to_string(response.getContentLength64()) + " bytes)");
      }
      if (out.status == 200 && raw.empty()) {
        resetSession();
        return transport(std::move(out), "status 200 with an empty body (connection cut short)");
      }
      if (Poco::icompare(response.get("Content-Encoding", ""), "gzip") == 0) {
        std::istringstream compressed(raw);
        Poco::InflatingInputStream inflater(compressed, Poco::InflatingStreamBuf::STREAM_GZIP);
        Poco::StreamCopier::copyToString(inflater, out.body);
        if (inflater.bad()) throw Poco::IOException("the gzip body could not be decompressed");
      } else {
        out.body = std::move(raw);
      }
      if (!response.getKeepAlive()) resetSession();
      return out;
    } catch (const Poco::Net::CertificateValidationException& e) {
      resetSession();
      out = transport(std::move(out), "TLS certificate rejected: " + e.displayText());
      out.fatal = true;
      return out;
    } catch (const Poco::Net::SSLException& e) {
      resetSession();
      out = transport(std::move(out), "TLS error: " + e.displayText());
      out.fatal = e.displayText().find("certificate verify failed") != std::string::npos;
      return out;
    } catch (const Poco::Net::NoMessageException& e) {
      resetSession();
      out = transport(std::move(out), "connection closed without a response: " + e.displayText());
      out.stale = reused;
      return out;
    } catch (const Poco::Net::ConnectionResetException& e) {
      resetSession();
      out = transport(std::move(out), "connection reset: " + e.displayText());
      out.stale = reused;
      return out;
    } catch (const Poco::TimeoutException& e) {
      resetSession();
      return transport(std::move(out), "timeout: " + e.displayText());
    } catch (const Poco::Exception& e) {
      resetSession();
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
  const std::string url = d.base_path + buildUri(path, query);
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
    Exchange ex = d.exchange(url, token, stats);
    if (!ex.server_limit.empty()) d.adaptToServer(ex.server_limit, url);
    std::optional<std::string> unusable;  // a 2xx body that `check` refused
    if (ex.status >= 200 && ex.status < 300) {
      if (check) unusable = check(ex.body);
      if (!unusable) return HttpResponse{ex.status, std::move(ex.body), url};
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
      case RetryDecision::Refresh:
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
      const std::string url = ApiClient::buildUri(path, page_query);
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
