// The OAuth2 client: see oauth_client.hpp and docs/DESIGN.md "OAuth2 and token stores".
#include "auth/oauth_client.hpp"
#include "http/server_text.hpp"

#include "http/retry_policy.hpp"
#include "http/session.hpp"
#include "http/network_watch.hpp"

#include <oura_sdk/errors.hpp>

#include <Poco/Base64Encoder.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/RandomStream.h>
#include <Poco/SHA2Engine.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>
#include <Poco/StringTokenizer.h>
#include <Poco/URI.h>

#include <sstream>
#include <thread>

namespace oura::core {

namespace {

Poco::Logger& oauthLog() { return Poco::Logger::get("oura.oauth"); }

// Connection failures before anything was sent: this many attempts in all.
constexpr int kConnectAttempts = 4;
// 5xx / 429 answers: this many attempts in all.
constexpr int kServerErrorAttempts = 4;
// Backoff between attempts (full jitter), and the cap of all waits of one token request.
const RetrySettings kBackoff{kServerErrorAttempts, std::chrono::milliseconds(500),
                             std::chrono::milliseconds(8000), std::chrono::milliseconds(30000)};

std::string base64Url(const std::string& bytes) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
  encoder << bytes;
  encoder.close();
  return out.str();
}

std::string randomBytes(std::size_t n) {
  Poco::RandomInputStream random;  // the OS CSPRNG (/dev/urandom, getrandom)
  std::string bytes(n, '\0');
  random.read(bytes.data(), static_cast<std::streamsize>(n));
  return bytes;
}

// One [oauth] URL, checked: https://, or http:// to a loopback host (tests).
Poco::URI checkedUrl(const OAuthSettings& s, const std::string& key, const std::string& value) {
  auto bad = [&](const std::string& problem) {
    const std::string where = s.base_url_from_environment
                                  ? "oauth." + key + " (with OURA_OAUTH_BASE_URL)"
                                  : (s.where.empty() ? "" : s.where + ": ") + "oauth." + key;
    return sdk::ConfigError(where + ": " + problem);
  };
  Poco::URI uri;
  try {
    uri = Poco::URI(value);
  } catch (const Poco::Exception& e) {
    throw bad("not a URL '" + value + "': " + e.displayText());
  }
  const std::string scheme = Poco::toLower(uri.getScheme());
  if ((scheme != "http" && scheme != "https") || uri.getHost().empty()) {
    throw bad("must be an https:// URL with a host, got '" + value + "'");
  }
  if (scheme == "http" && !isLoopbackHost(uri.getHost())) {
    throw bad("refusing plain http:// for '" + value +
              "': client secret and tokens would travel unencrypted (http:// is only allowed for "
              "127.0.0.1, ::1 and localhost)");
  }
  return uri;
}

std::string describeError(const std::string& error, const std::string& description) {
  // `error` is the server's too: RFC 6749 allows printable ASCII only; anything else (a CR or
  // LF forging a log line, an ESC sequence) is escaped.
  std::string out = error.empty() ? std::string("no error code") : printable(error, 100);
  // error_description is the server's human text: printable ASCII only, bounded.
  std::string text;
  for (unsigned char c : description.substr(0, 200)) {
    if (c >= 0x20 && c < 0x7f) text.push_back(static_cast<char>(c));
  }
  if (!text.empty()) out += " (" + text + ")";
  return out;
}

}  // namespace

OAuthError::OAuthError(Kind kind, const std::string& message)
    : Error(kind == Kind::LoginNeeded ? ErrorKind::LoginNeeded
                : kind == Kind::Config    ? ErrorKind::Config
                                          : ErrorKind::Unavailable,
                message),
      kind_(kind) {}

std::vector<std::string> splitScopes(const std::string& scope) {
  std::vector<std::string> out;
  Poco::StringTokenizer tokens(scope, " ",
                               Poco::StringTokenizer::TOK_TRIM |
                                   Poco::StringTokenizer::TOK_IGNORE_EMPTY);
  for (const auto& token : tokens) out.push_back(token);
  return out;
}

void applyOAuthBaseUrl(OAuthSettings& settings, const std::string& base_url) {
  Poco::URI base;
  try {
    base = Poco::URI(base_url);
  } catch (const Poco::Exception& e) {
    throw sdk::ConfigError("environment variable OURA_OAUTH_BASE_URL: not a URL: " +
                           e.displayText());
  }
  const std::string scheme = Poco::toLower(base.getScheme());
  if ((scheme != "http" && scheme != "https") || base.getHost().empty()) {
    throw sdk::ConfigError("environment variable OURA_OAUTH_BASE_URL: expected "
                           "scheme://host[:port], got '" + base_url + "'");
  }
  for (std::string* url : {&settings.authorize_url, &settings.token_url, &settings.revoke_url,
                           &settings.new_portal_token_url}) {
    if (url->empty()) continue;
    try {
      Poco::URI uri(*url);
      uri.setScheme(base.getScheme());
      uri.setHost(base.getHost());
      uri.setPort(base.getPort());
      *url = uri.toString();
    } catch (const Poco::Exception& e) {
      throw sdk::ConfigError("oauth URL '" + *url + "' with OURA_OAUTH_BASE_URL: " +
                             e.displayText());
    }
  }
  settings.base_url_from_environment = true;
}

TokenResponse parseTokenResponse(const std::string& body) {
  // The server answered 200: it may have acted on the grant (a refresh token spent), so the
  // outcome is unknown, not "nothing was issued".
  auto bad = [](const std::string& problem) {
    return OAuthError(OAuthError::Kind::OutcomeUnknown,
                      "the token endpoint answered 200 but " + problem +
                          "; nothing could be stored (if this was a refresh, the refresh token "
                          "may have been spent: a new login may be needed)");
  };
  Poco::JSON::Object::Ptr object;
  try {
    Poco::JSON::Parser parser;
    Poco::Dynamic::Var parsed = parser.parse(body);
    if (parsed.type() == typeid(Poco::JSON::Object::Ptr)) {
      object = parsed.extract<Poco::JSON::Object::Ptr>();
    }
  } catch (const Poco::Exception&) {
    throw bad("its body is not JSON");
  }
  if (!object) throw bad("its body is not a JSON object");
  TokenResponse out;
  if (!object->has("access_token") || !object->get("access_token").isString()) {
    throw bad("without a string access_token");
  }
  out.access_token = object->getValue<std::string>("access_token");
  if (out.access_token.empty()) throw bad("with an empty access_token");
  if (object->has("refresh_token") && !object->isNull("refresh_token")) {
    // Not a string: the new refresh token is unreadable, and keeping the old one (spent by this
    // very answer) would be wrong.
    if (!object->get("refresh_token").isString()) throw bad("with a refresh_token that is not a string");
    std::string refresh = object->getValue<std::string>("refresh_token");
    if (!refresh.empty()) out.refresh_token = std::move(refresh);
  }
  if (object->has("expires_in") && !object->isNull("expires_in")) {
    const Poco::Dynamic::Var value = object->get("expires_in");
    try {
      // A number (Oura), or a numeric string (some servers).
      const double seconds = value.isString() ? std::stod(value.extract<std::string>())
                                              : value.convert<double>();
      if (seconds >= 0 && seconds < 1e9) out.expires_in = static_cast<std::int64_t>(seconds);
    } catch (const std::exception&) {
      oauthLog().warning("the token response's expires_in is not a number; expiry unknown");
    }
  }
  if (object->has("scope") && object->get("scope").isString()) {
    out.scopes = splitScopes(object->getValue<std::string>("scope"));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

struct OAuthClient::Impl {
  OAuthSettings settings;
  Poco::URI authorize;
  Poco::URI token;
  std::optional<Poco::URI> new_portal_token;  // unset when token_url is explicit
  std::optional<Poco::URI> revoke_uri;
  Poco::Net::Context::Ptr context;  // null when every URL is http:// (loopback tests)
  RetryPolicy backoff{kBackoff};

  explicit Impl(OAuthSettings s) : settings(std::move(s)) {
    authorize = checkedUrl(settings, "authorize_url", settings.authorize_url);
    token = checkedUrl(settings, "token_url", settings.token_url);
    if (!settings.token_url_explicit && !settings.new_portal_token_url.empty() &&
        settings.new_portal_token_url != settings.token_url) {
      new_portal_token = checkedUrl(settings, "token_url", settings.new_portal_token_url);
    }
    if (!settings.revoke_url.empty()) {
      revoke_uri = checkedUrl(settings, "revoke_url", settings.revoke_url);
    }
    const bool any_https = Poco::icompare(token.getScheme(), "https") == 0 ||
                           (new_portal_token &&
                            Poco::icompare(new_portal_token->getScheme(), "https") == 0) ||
                           (revoke_uri && Poco::icompare(revoke_uri->getScheme(), "https") == 0);
    if (any_https) {
      try {
        context = makeTlsContext(settings.ca_file);
      } catch (const Poco::Exception& e) {
        throw sdk::ConfigError((settings.where.empty() ? "" : settings.where + ": ") +
                               "oauth.ca_file: cannot set up TLS" +
                               (settings.ca_file.empty() ? "" : " with " + settings.ca_file) +
                               ": " + e.displayText());
      }
    }
  }

  // One POST's result.
  struct Result {
    enum class Failure { None, BeforeSend, AfterSend, Tls } failure = Failure::None;
    int status = 0;
    std::string body;
    std::optional<std::string> retry_after;
    std::string problem;  // transport failure text (no secrets)
  };

  Result postOnce(const Poco::URI& uri, Poco::Net::HTMLForm& form) {
    Result out;
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    try {
      session = makeSession(uri, context, settings.timeout, settings.timeout);
    } catch (const Poco::Exception& e) {
      out.failure = Result::Failure::BeforeSend;
      out.problem = e.displayText();
      return out;
    }
    // SIGINT/SIGTERM shuts the socket down at once; the exchange then fails and stops here.
    NetworkWatch watch(*session, std::nullopt);
    out = exchangeOn(*session, uri, form);
    watch.throwIfStopped();
    return out;
  }

  // Token responses are small: a larger body is refused rather than read into memory.
  static constexpr std::size_t kMaxTokenResponse = 1 << 20;

  Result exchangeOn(Poco::Net::HTTPClientSession& s, const Poco::URI& uri,
                    Poco::Net::HTMLForm& form) {
    Result out;
    auto* session = &s;
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, uri.getPathEtc(),
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Accept", "application/json");
    request.set("User-Agent", "oura-collector");
    form.prepareSubmit(request);  // application/x-www-form-urlencoded
    try {
      std::ostream& body = session->sendRequest(request);
      form.write(body);
      body.flush();
      if (!body.good()) throw Poco::IOException("the request could not be written");
    } catch (const Poco::Net::CertificateValidationException& e) {
      out.failure = Result::Failure::Tls;
      out.problem = "TLS certificate rejected: " + e.displayText();
      return out;
    } catch (const Poco::Net::SSLException& e) {
      out.failure = e.displayText().find("certificate verify failed") != std::string::npos
                        ? Result::Failure::Tls
                        : Result::Failure::BeforeSend;
      out.problem = "TLS error: " + e.displayText();
      return out;
    } catch (const Poco::Exception& e) {
      out.failure = Result::Failure::BeforeSend;
      out.problem = e.displayText();
      return out;
    }
    try {
      Poco::Net::HTTPResponse response;
      std::istream& in = session->receiveResponse(response);
      char buffer[16 * 1024];
      while (in.peek() != std::char_traits<char>::eof()) {
        out.body.append(buffer, static_cast<std::size_t>(in.readsome(buffer, sizeof buffer)));
        if (out.body.size() > kMaxTokenResponse) {
          throw Poco::IOException("the response is larger than 1 MiB, not a token response");
        }
      }
      if (in.bad()) throw Poco::IOException("the response body could not be read");
      if (response.hasContentLength() &&
          static_cast<std::streamsize>(out.body.size()) < response.getContentLength64()) {
        throw Poco::IOException("the response body was cut short");
      }
      out.status = static_cast<int>(response.getStatus());
      if (response.has("Retry-After")) out.retry_after = response.get("Retry-After");
    } catch (const Poco::Exception& e) {
      out.failure = Result::Failure::AfterSend;
      out.problem = e.displayText();
      out.body.clear();
    }
    return out;
  }

  // POSTs `form` to `uri` with the classification of oauth_client.hpp. `what` names the request
  // ("the refresh grant"), `key` the [oauth] key of the URL.
  std::string post(const Poco::URI& uri, Poco::Net::HTMLForm& form, const std::string& what,
                   const std::string& key) {
    const std::string target = what + " at " + uri.getScheme() + "://" + uri.getAuthority() +
                               uri.getPath();
    const std::string config_hint =
        "; check oauth." + key + " (newer Oura applications use another token URL and "
        "extapi:-prefixed scopes), oauth.client_id and oauth.client_secret";
    int attempts = 0;
    int connect_failures = 0;
    int server_errors = 0;
    bool resent_after_timeout = false;
    std::chrono::milliseconds waited{0};
    for (;;) {
      ++attempts;
      Result r = postOnce(uri, form);
      std::string problem;
      bool retry = false;
      int backoff_attempt = 0;
      switch (r.failure) {
        case Result::Failure::Tls:
          throw OAuthError(OAuthError::Kind::Config,
                           target + ": " + r.problem + " (check oauth.ca_file)");
        case Result::Failure::BeforeSend:
          ++connect_failures;
          problem = "cannot connect: " + r.problem;
          if (connect_failures >= kConnectAttempts) {
            throw OAuthError(OAuthError::Kind::Unavailable,
                             target + ": " + problem + " (" + std::to_string(attempts) +
                                 " attempts); the token endpoint is unreachable, nothing was sent");
          }
          retry = true;
          backoff_attempt = connect_failures;
          break;
        case Result::Failure::AfterSend:
          problem = "no answer after the request was sent: " + r.problem;
          if (resent_after_timeout) {
            throw OAuthError(OAuthError::Kind::OutcomeUnknown,
                             target + ": " + problem +
                                 ", twice; the server may have acted on it (a refresh token may "
                                 "have been spent)");
          }
          // Exactly once more, at once, with the same grant: the server may not have acted.
          resent_after_timeout = true;
          oauthLog().warning(target + ": " + problem + "; sending it once more");
          continue;
        case Result::Failure::None:
          break;
      }
      if (r.failure == Result::Failure::None) {
        if (r.status >= 200 && r.status < 300) return r.body;
        if (r.status >= 500 || r.status == 429) {
          ++server_errors;
          problem = "HTTP " + std::to_string(r.status);
          if (server_errors >= kServerErrorAttempts) {
            throw OAuthError(OAuthError::Kind::Unavailable,
                             target + ": " + problem + " after " + std::to_string(attempts) +
                                 " attempts; try again later");
          }
          retry = true;
          backoff_attempt = server_errors;
        } else {
          // 4xx: the OAuth2 error body (RFC 6749 section 5.2).
          std::string error;
          std::string description;
          try {
            Poco::JSON::Parser parser;
            Poco::Dynamic::Var parsed = parser.parse(r.body);
            if (parsed.type() == typeid(Poco::JSON::Object::Ptr)) {
              auto object = parsed.extract<Poco::JSON::Object::Ptr>();
              if (object->has("error") && object->get("error").isString()) {
                error = object->getValue<std::string>("error");
              }
              if (object->has("error_description") && object->get("error_description").isString()) {
                description = object->getValue<std::string>("error_description");
              }
            }
          } catch (const Poco::Exception&) {
            // not JSON: classified by status below
          }
          const std::string text =
              target + ": HTTP " + std::to_string(r.status) + ", " + describeError(error, description);
          if (error == "invalid_grant") {
            OAuthError e(OAuthError::Kind::LoginNeeded, text);
            e.error = error;
            throw e;
          }
          OAuthError e(OAuthError::Kind::Config, text + config_hint);
          e.error = error;
          throw e;
        }
      }
      if (retry) {
        std::optional<std::chrono::milliseconds> retry_after;
        if (r.retry_after) retry_after = RetryPolicy::parseRetryAfter(*r.retry_after);
        std::chrono::milliseconds delay = backoff.backoff(backoff_attempt, retry_after);
        if (delay > kBackoff.max_delay) delay = kBackoff.max_delay;
        if (waited + delay > kBackoff.max_total) {
          throw OAuthError(OAuthError::Kind::Unavailable,
                           target + ": " + problem + "; giving up after " +
                               std::to_string(attempts) + " attempts");
        }
        oauthLog().warning(target + ": " + problem + "; trying again in " +
                           std::to_string(delay.count()) + " ms");
        // Not interrupted by SIGINT/SIGTERM: a refresh in progress finishes first (the caller
        // acts on the stop request afterwards); the waits are bounded by kBackoff.max_total.
        std::this_thread::sleep_for(delay);
        waited += delay;
      }
    }
  }

  // POSTs to the token endpoint: straight to the new-portal URL when `remembered` names it;
  // else to token_url and, when that answers 400 invalid_request or 401 invalid_client (what the
  // legacy URL says to applications of the new developer portal) and token_url was not set
  // explicitly, to the new-portal URL. Neither error spends a code or a refresh token.
  TokenResponse postWithFallback(Poco::Net::HTMLForm& form, const std::string& what,
                                 const std::string& remembered) {
    if (new_portal_token && remembered == settings.new_portal_token_url) {
      TokenResponse response = parseTokenResponse(post(*new_portal_token, form, what, "token_url"));
      response.token_url = settings.new_portal_token_url;
      return response;
    }
    try {
      return parseTokenResponse(post(token, form, what, "token_url"));
    } catch (const OAuthError& e) {
      if (!new_portal_token || (e.error != "invalid_request" && e.error != "invalid_client")) throw;
      oauthLog().information(what + ": the token URL " + settings.token_url + " answered " +
                             e.error + "; trying the URL of applications made in Oura's new "
                             "developer portal, " + settings.new_portal_token_url);
      try {
        TokenResponse response =
            parseTokenResponse(post(*new_portal_token, form, what, "token_url"));
        response.token_url = settings.new_portal_token_url;
        return response;
      } catch (const OAuthError& second) {
        if (second.kind() != OAuthError::Kind::Config) throw;
        OAuthError both(second.kind(), std::string(e.what()) + "; and then " + second.what());
        both.error = second.error;
        throw both;
      }
    }
  }

  void addClient(Poco::Net::HTMLForm& form) const {
    if (!settings.client_secret_problem.empty()) {
      throw sdk::ConfigError(settings.client_secret_problem);
    }
    form.set("client_id", settings.client_id);
    if (!settings.client_secret.empty()) form.set("client_secret", settings.client_secret);
  }
};

OAuthClient::OAuthClient(OAuthSettings settings)
    : impl_(std::make_unique<Impl>(std::move(settings))) {}

OAuthClient::~OAuthClient() = default;

const OAuthSettings& OAuthClient::settings() const { return impl_->settings; }

AuthorizationRequest OAuthClient::authorizationRequest() const {
  const OAuthSettings& s = impl_->settings;
  AuthorizationRequest out;
  out.state = base64Url(randomBytes(32));
  Poco::URI uri(impl_->authorize);
  uri.addQueryParameter("response_type", "code");
  uri.addQueryParameter("client_id", s.client_id);
  uri.addQueryParameter("redirect_uri", s.redirect_uri);
  std::string scope;
  for (const auto& one : s.scopes) scope += (scope.empty() ? "" : " ") + one;
  uri.addQueryParameter("scope", scope);
  uri.addQueryParameter("state", out.state);
  if (s.pkce) {
    out.code_verifier = base64Url(randomBytes(32));  // 43 characters (RFC 7636 section 4.1)
    Poco::SHA2Engine sha256(Poco::SHA2Engine::SHA_256);
    sha256.update(out.code_verifier);
    const Poco::DigestEngine::Digest& digest = sha256.digest();
    uri.addQueryParameter("code_challenge", base64Url(std::string(digest.begin(), digest.end())));
    uri.addQueryParameter("code_challenge_method", "S256");
  }
  out.url = uri.toString();
  return out;
}

TokenResponse OAuthClient::exchangeCode(const std::string& code, const std::string& code_verifier) {
  Poco::Net::HTMLForm form;
  form.setEncoding(Poco::Net::HTMLForm::ENCODING_URL);
  form.set("grant_type", "authorization_code");
  form.set("code", code);
  form.set("redirect_uri", impl_->settings.redirect_uri);
  if (!code_verifier.empty()) form.set("code_verifier", code_verifier);
  impl_->addClient(form);
  return impl_->postWithFallback(form, "the authorization-code exchange", "");
}

TokenResponse OAuthClient::refresh(const std::string& refresh_token, const std::string& token_url) {
  Poco::Net::HTMLForm form;
  form.setEncoding(Poco::Net::HTMLForm::ENCODING_URL);
  form.set("grant_type", "refresh_token");
  form.set("refresh_token", refresh_token);
  impl_->addClient(form);
  return impl_->postWithFallback(form, "the refresh grant", token_url);
}

void OAuthClient::revoke(const std::string& token, const std::string& hint) {
  if (!impl_->revoke_uri) return;
  Poco::Net::HTMLForm form;
  form.setEncoding(Poco::Net::HTMLForm::ENCODING_URL);
  form.set("token", token);
  form.set("token_type_hint", hint);
  impl_->addClient(form);
  impl_->post(*impl_->revoke_uri, form, "the revocation", "revoke_url");
}

}  // namespace oura::core
