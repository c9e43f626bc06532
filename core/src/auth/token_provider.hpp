#pragma once
// The HTTP layer's source of bearer tokens, over the configured token-store plugin, and the
// refresh protocol (docs/DESIGN.md "OAuth2 and token stores", SDK token_store.hpp):
//   1. checkWritable() at the start of a command that may refresh (prepare());
//   2. the store's lock (oauth.lock_timeout_seconds; TokenLockTimeout: exit 75);
//   3. re-read under the lock: another process's fresh token is used, no request;
//   4. save the same tokens with refresh_started_at = now (the mark), generation + 1;
//   5. POST the refresh grant (OAuthClient: no generic retry policy);
//   6. save the new pair (mark cleared, refreshed_at = now), generation + 1, before the new
//      access token is used, retried with backoff for oauth.save_retry_seconds while the store
//      fails (saveTokens); release the lock. A pair that could not be saved (or lost the
//      compare-and-set to a writer that ignored the lock) is used from memory by this process
//      only; every command then ends non-zero saying so (unsavedRefresh()).
// The token endpoint's answer is checked before anything is saved (validBearerToken,
// validRefreshToken): an unusable refresh token saves nothing and keeps the mark (it may be
// spent); an unusable access token with a good refresh token saves the refresh token alone (the
// next run refreshes). A 200 that cannot be parsed keeps the mark too (outcome unknown).
// The refresh margin is at most half of the token's lifetime (effectiveRefreshMargin).
// On invalid_grant the old tokens are saved again with refresh_rejected_at = now (compare-and-
// set; the tokens kept for diagnosis), and every later run that finds that mark exits 77 at
// once, without a request, until `auth login` stores a new set.
// Steps 4 to 6 do not look at the stop flag: SIGINT/SIGTERM (which only set it) are acted on by
// the caller after step 6. OURA_FAILPOINT=after-lock|after-mark|after-response|after-save
// SIGKILLs the process at that point (a test hook, docs/operations.md).
// Within the process the refresh is single-flight: callers serialise on one mutex and whoever
// comes second finds the new token. A refresh that failed is not tried again in this process
// (its error is thrown again): no loop of invalid_grant.

#include "auth/oauth_client.hpp"
#include "http/api_client.hpp"

#include <oura_sdk/token_store.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace oura::core {

class StoreTokenProvider : public TokenProvider {
 public:
  // `oauth`: the manifest's [oauth] table; without it (or with a read-only store) nothing is
  // ever refreshed. Throws sdk::ConfigError when the [oauth] URLs are unusable.
  explicit StoreTokenProvider(sdk::TokenStore& store, const OAuthSettings* oauth = nullptr);
  ~StoreTokenProvider() override;

  // Step 1: when this provider may refresh, checks that the store is writable.
  // Throws Error: Unavailable (store unreachable) or Config (not writable) naming the store.
  void prepare();

  // The current access token; refreshes first when it expires within refresh_margin_seconds or
  // a previous refresh was interrupted (a mark found). Throws sdk::LoginNeededError (exit 77)
  // with a sentence saying how to provide a token, Error (Unavailable, Interrupted, Config) when a refresh fails.
  std::string accessToken() override;

  // After a 401: read-only stores cannot refresh (false; "provide a new token"). Writable stores
  // with [oauth]: refresh (single-flight) unless another thread or process already replaced
  // `rejected_token`; true when a new token is available. Without [oauth]: re-reads the store.
  // A 401 is answered by at most one refresh per process (a run): a token that really expired
  // is refreshed once; a second 401 is a scope not granted (or a server that rejects every
  // token), and another refresh would only spend another single-use refresh token.
  bool refreshAfterUnauthorized(const std::string& rejected_token) override;

  // Remembers the access tokens that a request was answered 2xx with (acceptedBefore).
  void accepted(const std::string& token) override;
  bool acceptedBefore(const std::string& token) override;

  // `auth refresh`: a refresh now, whatever the expiry. Returns the new tokens. Throws the
  // Error of unsavedRefresh() when the new pair could not be saved.
  sdk::TokenSet forceRefresh();

  // Set when this process refreshed but could not save the new pair (the store kept failing
  // for oauth.save_retry_seconds: 69, or 78 for a store refusing by configuration) or lost the
  // compare-and-set to another writer (75). Its message says what happened and that a login
  // may be needed; the tokens are used from memory until the process ends.
  std::optional<Error> unsavedRefresh();

  // The granted scopes when the store knows them; empty when unknown.
  std::vector<std::string> scopes();

  // True when `scope` is granted, or when the granted scopes are unknown. Accepts Oura's newer
  // "extapi:<scope>" spelling.
  bool allows(const std::string& scope);

  // True when this provider refreshes (a writable store and an [oauth] table).
  bool canRefresh() const;

 private:
  enum class Reason { Expiring, Unauthorized, Forced };
  const sdk::TokenSet& current();
  bool needsRefresh(const sdk::TokenSet& tokens) const;
  // Runs the protocol (mutex_ held). Returns false when nothing changed (401 with nothing new).
  bool refreshLocked(Reason reason, const std::string& rejected_token);
  sdk::TokenStore& store_;
  std::optional<OAuthSettings> oauth_;
  std::unique_ptr<OAuthClient> client_;
  std::mutex mutex_;
  std::optional<sdk::TokenSet> tokens_;
  bool loaded_ = false;
  std::optional<Error> failed_;        // a refresh failed: thrown again, never retried
  bool failed_login_needed_ = false;       // failed_ is a login-needed error
  std::optional<Error> unsaved_;       // refreshed, but the new pair is in memory only
  bool refreshed_after_401_ = false;       // the one refresh a 401 may cause was spent
  std::set<std::string> accepted_;         // access tokens answered 2xx in this process
};

// RFC 6750 b64token (letters, digits, -._~+/=): the only access tokens ever sent as a bearer
// token (anything else, a CR/LF above all, would inject into the request's headers).
bool validBearerToken(const std::string& token);

// RFC 6749 appendix A.17: a refresh token is VSCHAR (printable ASCII, space included), not empty.
bool validRefreshToken(const std::string& token);

// The margin the provider refreshes with: `configured` (oauth.refresh_margin_seconds), but at
// most half of the token's lifetime when it is known (expires_at - refreshed_at): a margin at or
// above the lifetime would refresh before every request.
std::chrono::seconds effectiveRefreshMargin(const sdk::TokenSet& tokens,
                                            std::chrono::seconds configured);

// Saves `tokens` with the compare-and-set on `expected_generation` (refresh protocol step 6, and
// `auth login`), retrying with backoff while the store throws, for at most `retry_for`. Never
// overwrites another writer's tokens. Messages never carry a token.
struct SaveOutcome {
  bool saved = false;
  bool lost = false;    // another writer got there first: its tokens are left in place
  ErrorKind failure = ErrorKind::None;  // when not saved: Interrupted (lost), Config (the store
                                        // refuses), Unavailable
  std::string problem;  // when not saved: what the store said
};
SaveOutcome saveTokens(sdk::TokenStore& store, const sdk::TokenSet& tokens,
                       std::int64_t expected_generation, std::chrono::seconds retry_for,
                       const std::string& what);

// The OURA_FAILPOINT test hook: SIGKILLs the process when the variable equals `name`.
void failpoint(const char* name);

// Now, in seconds since the Unix epoch (the unit of every TokenSet time).
std::int64_t epochSecondsNow();

// `epoch_seconds` as an ISO 8601 UTC time, for messages and `auth status`.
std::string formatEpochSeconds(std::int64_t epoch_seconds);

// The check of stored tokens before any use, shared by the provider (which throws the sentence
// as sdk::LoginNeededError, exit 77) and `auth status` (which prints it): nothing stored; no
// access token and no refresh token this provider can use (`can_refresh`: a writable store and
// [oauth]); an access token with characters a bearer token cannot have (RFC 6750); a refresh
// token the token endpoint rejected (`refresh_rejected_at`). Returns the sentence that says
// what is wrong and how to get a token, naming the store (never a token), or nothing when the
// tokens can be used.
std::optional<std::string> loginNeededReason(const std::optional<sdk::TokenSet>& tokens,
                                             const sdk::TokenStore& store, bool can_refresh);

}  // namespace oura::core
