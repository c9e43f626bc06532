#pragma once
// The OAuth2 client of Oura's authorization server (RFC 6749): the authorization URL with a
// random `state` (and PKCE S256 as an option), the authorization-code exchange, the refresh
// grant and revocation (RFC 7009). Token requests never go through the generic retry policy:
// each failure is classified here (issue 5, refresh protocol step 7):
//   invalid_grant                                     -> login needed (exit 77)
//   invalid_request, invalid_client, unauthorized_client, unsupported_grant_type, invalid_scope,
//   other 4xx                                         -> configuration (exit 78, hint: token_url)
//   no connection (nothing was sent)                  -> retried with backoff, then 69
//   timeout or reset after the request was sent       -> retried exactly once, then 69 (unknown)
//   5xx and 429                                       -> backoff (Retry-After honoured), bounded,
//                                                        then 69
// Secrets (client secret, codes, tokens) never appear in messages or logs.

#include "auth/scopes.hpp"
#include "errors.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace oura::core {

// The manifest's [oauth] table (docs/manifest.md), with OURA_OAUTH_BASE_URL applied.
struct OAuthSettings {
  std::string client_id;
  std::string client_secret;  // resolved from its { env } / { file } reference; may be empty
  // Why the client_secret reference could not be resolved (an unset variable, a missing file),
  // or empty. Reported by the first token request and by check-config, not at load: commands
  // that send none (status, auth status, plugins) work without the secret.
  std::string client_secret_problem;
  std::string authorize_url = "https://cloud.ouraring.com/oauth/authorize";
  std::string token_url = "https://api.ouraring.com/oauth/token";
  // Applications made in Oura's new developer portal get 400 invalid_request (or 401
  // invalid_client) from the legacy token_url; their tokens come from this URL. Tried after the
  // legacy one unless the manifest sets token_url itself (`token_url_explicit`).
  std::string new_portal_token_url = "https://moi.ouraring.com/oauth/v2/ext/oauth-token";
  bool token_url_explicit = false;
  std::string revoke_url = "https://api.ouraring.com/oauth/revoke";  // empty: none
  // Every scope a bundled collection needs, as the live authorization server names them
  // (auth/scopes.hpp): the OpenAPI export's list lacks `stress`, `heart_health` and
  // `ring_configuration` and spells `spo2` as `spo2Daily`.
  std::vector<std::string> scopes = defaultScopes();
  std::string redirect_uri = "http://127.0.0.1:8765/callback";
  bool pkce = false;
  std::chrono::seconds refresh_margin{300};
  std::chrono::seconds lock_timeout{60};
  // How long the save of a refreshed (or logged-in) token set is retried while the store fails
  // (oauth.save_retry_seconds); SIGINT/SIGTERM wait until it ends.
  std::chrono::seconds save_retry{60};
  std::chrono::milliseconds timeout{30000};  // connect and read timeout of one token request
  std::string ca_file;                       // empty: the system CA bundle
  std::string where;                         // "file:line:column" of the [oauth] table
  bool base_url_from_environment = false;    // OURA_OAUTH_BASE_URL replaced the URLs' origins
};

// Replaces scheme://host:port of the authorize, token and revoke URLs with `base_url`'s
// (OURA_OAUTH_BASE_URL). Throws sdk::ConfigError when `base_url` is not an http(s) URL.
void applyOAuthBaseUrl(OAuthSettings& settings, const std::string& base_url);

// A failed token request, classified; `Error::kind()` is LoginNeeded, Config or Unavailable.
class OAuthError : public Error {
 public:
  enum class Kind {
    LoginNeeded,     // invalid_grant: the grant (code or refresh token) is not valid
    Config,          // client credentials, token URL, scopes: the configuration is wrong
    Unavailable,     // the server could not be reached or kept failing; nothing was issued
    OutcomeUnknown,  // the request was sent twice and no answer came: a refresh token may be spent
  };
  OAuthError(Kind kind, const std::string& message);
  Kind kind() const noexcept { return kind_; }
  std::string error;  // the OAuth2 `error` code when the server sent one

 private:
  Kind kind_;
};

// A token response (RFC 6749 section 5.1), parsed with Poco::JSON.
struct TokenResponse {
  std::string access_token;
  std::optional<std::string> refresh_token;  // absent: keep the old one
  std::optional<std::int64_t> expires_in;    // seconds
  std::optional<std::vector<std::string>> scopes;  // `scope`, split at spaces
  // The token endpoint that answered, when it was not oauth.token_url (the new-portal URL).
  std::string token_url;
};

// Parses a token endpoint's 200 body. Throws OAuthError (OutcomeUnknown: the server answered
// 200, so a refresh token sent may have been spent) when it is not a JSON object with a string
// `access_token`, or when `refresh_token` is present but not a string (the message never carries
// the body). The tokens' characters are checked by the caller (token_provider.hpp).
TokenResponse parseTokenResponse(const std::string& body);

// What `auth login` sends the user to, and what it must check and send back.
struct AuthorizationRequest {
  std::string url;            // authorize_url?response_type=code&client_id=...&state=...
  std::string state;          // 256 random bits, base64url
  std::string code_verifier;  // PKCE (RFC 7636), empty when pkce is off
};

class OAuthClient {
 public:
  // Validates the URLs (https://, or http:// to loopback) and sets up TLS with `ca_file`.
  // Throws sdk::ConfigError naming the [oauth] key. Connects to nothing.
  explicit OAuthClient(OAuthSettings settings);
  ~OAuthClient();
  OAuthClient(const OAuthClient&) = delete;
  OAuthClient& operator=(const OAuthClient&) = delete;

  const OAuthSettings& settings() const;

  // A fresh authorization request: state (and PKCE verifier) from a CSPRNG.
  AuthorizationRequest authorizationRequest() const;

  // grant_type=authorization_code. Throws OAuthError.
  TokenResponse exchangeCode(const std::string& code, const std::string& code_verifier);

  // grant_type=refresh_token with `refresh_token`; a timeout after sending is retried exactly
  // once with the same token. `token_url`: the endpoint that issued it (TokenSet::token_url),
  // used instead of oauth.token_url when it is the new-portal URL and token_url was not set
  // explicitly. Throws OAuthError.
  TokenResponse refresh(const std::string& refresh_token, const std::string& token_url = "");

  // RFC 7009 revocation of `token` at revoke_url (token_type_hint `hint`). Throws OAuthError
  // when the server refuses or cannot be reached; does nothing when revoke_url is empty.
  void revoke(const std::string& token, const std::string& hint);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits a space-separated OAuth2 scope string.
std::vector<std::string> splitScopes(const std::string& scope);

}  // namespace oura::core
