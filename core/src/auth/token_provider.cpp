// The token provider and the refresh protocol: see token_provider.hpp.
#include "auth/token_provider.hpp"

#include "auth/scopes.hpp"

#include <oura_sdk/errors.hpp>

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Environment.h>
#include <Poco/Logger.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <thread>
#include <unistd.h>

namespace oura::core {

namespace {

Poco::Logger& authLog() { return Poco::Logger::get("oura.auth"); }

std::int64_t nowSeconds() { return epochSecondsNow(); }

std::string formatTime(std::int64_t epoch_seconds) { return formatEpochSeconds(epoch_seconds); }

// The sentence of a rejected refresh token (`tokens.refresh_rejected_at` set), naming `store`.
std::string rejectedMessage(const sdk::TokenSet& tokens, const std::string& store) {
  std::string message = "the refresh token in " + store + " was rejected at " +
                        formatTime(*tokens.refresh_rejected_at) + " (invalid_grant)";
  if (tokens.refresh_started_at) {
    message += " after the refresh started at " + formatTime(*tokens.refresh_started_at) +
               " was interrupted (it had already been spent)";
  }
  return message +
         "; run `oura-collector auth login` (the stored tokens are kept for diagnosis; "
         "no refresh is tried with them again)";
}

bool sameTokens(const sdk::TokenSet& a, const sdk::TokenSet& b) {
  return a.access_token == b.access_token && a.refresh_token == b.refresh_token;
}

// The first wait between two save attempts, and the longest.
constexpr std::chrono::milliseconds kFirstSaveDelay{250};
constexpr std::chrono::milliseconds kMaxSaveDelay{5000};

}  // namespace

bool validBearerToken(const std::string& token) {
  // RFC 6750 b64token: a token with anything else (a newline above all) would let the store's
  // content, or the token endpoint's answer, inject headers into every request.
  return std::all_of(token.begin(), token.end(), [](unsigned char c) {
    return (c < 0x80 && std::isalnum(c) != 0) || c == '-' || c == '.' || c == '_' || c == '~' ||
           c == '+' || c == '/' || c == '=';
  });
}

bool validRefreshToken(const std::string& token) {
  return !token.empty() && std::all_of(token.begin(), token.end(), [](unsigned char c) {
    return c >= 0x20 && c <= 0x7e;
  });
}

std::chrono::seconds effectiveRefreshMargin(const sdk::TokenSet& tokens,
                                            std::chrono::seconds configured) {
  if (tokens.expires_at && tokens.refreshed_at) {
    const std::int64_t lifetime = std::max<std::int64_t>(0, *tokens.expires_at - *tokens.refreshed_at);
    return std::min(configured, std::chrono::seconds(lifetime / 2));
  }
  return configured;
}

SaveOutcome saveTokens(sdk::TokenStore& store, const sdk::TokenSet& tokens,
                       std::int64_t expected_generation, std::chrono::seconds retry_for,
                       const std::string& what) {
  SaveOutcome out;
  const auto deadline = std::chrono::steady_clock::now() + retry_for;
  std::chrono::milliseconds delay = kFirstSaveDelay;
  for (int attempt = 1;; ++attempt) {
    try {
      if (store.save(tokens, expected_generation)) {
        if (attempt > 1) {
          authLog().information("token store " + store.describe() + ": " + what +
                                " saved at attempt " + std::to_string(attempt));
        }
        out.saved = true;
        return out;
      }
      // The compare-and-set lost. Perhaps an earlier attempt of ours landed and its answer
      // was lost: look. Otherwise another writer got there first: never overwrite it.
      std::optional<sdk::TokenSet> now = store.load();
      if (now && sameTokens(*now, tokens) && now->generation == tokens.generation) {
        out.saved = true;
        return out;
      }
      out.lost = true;
      out.failure = ErrorKind::Interrupted;
      out.problem = "another writer changed the store (it holds " +
                    (now ? "generation " + std::to_string(now->generation)
                         : std::string("no tokens")) +
                    ", not generation " + std::to_string(expected_generation) + ")";
      return out;
    } catch (const sdk::ConfigError& e) {
      out.failure = ErrorKind::Config;
      out.problem = e.what();
    } catch (const std::exception& e) {
      out.failure = ErrorKind::Unavailable;
      out.problem = e.what();
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return out;
    const auto wait = std::min<std::chrono::milliseconds>(
        delay, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) +
                   std::chrono::milliseconds(1));
    authLog().warning("token store " + store.describe() + ": " + what +
                      " could not be saved (attempt " + std::to_string(attempt) +
                      "): " + out.problem + "; trying again in " + std::to_string(wait.count()) +
                      " ms, for at most " + std::to_string(retry_for.count()) +
                      " s in all (oauth.save_retry_seconds; SIGINT/SIGTERM wait for it)");
    std::this_thread::sleep_for(wait);
    delay = std::min(delay * 2, kMaxSaveDelay);
  }
}

std::int64_t epochSecondsNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string formatEpochSeconds(std::int64_t epoch_seconds) {
  return Poco::DateTimeFormatter::format(Poco::Timestamp::fromEpochTime(epoch_seconds),
                                         Poco::DateTimeFormat::ISO8601_FORMAT);
}

std::optional<std::string> loginNeededReason(const std::optional<sdk::TokenSet>& tokens,
                                             const sdk::TokenStore& store, bool can_refresh) {
  // A refresh token alone (a store seeded without an access token) is enough when the provider
  // can refresh: it refreshes first.
  const bool refreshable = tokens && !tokens->refresh_token.empty() && can_refresh;
  if (!tokens || (tokens->access_token.empty() && !refreshable)) {
    return "no access token in " + store.describe() +
           (store.writable() ? ". Log in with `oura-collector auth login` to store one."
                             : ". Provide one: set it to your Oura access token.");
  }
  if (!validBearerToken(tokens->access_token)) {
    return "the access token in " + store.describe() +
           " contains characters a bearer token cannot have (RFC 6750: letters, digits and "
           "-._~+/=); provide it exactly as issued";
  }
  if (tokens->refresh_rejected_at) return rejectedMessage(*tokens, store.describe());
  return std::nullopt;
}

void failpoint(const char* name) {
  static const std::string configured = Poco::Environment::get("OURA_FAILPOINT", "");
  if (!configured.empty() && configured == name) {
    authLog().warning(std::string("OURA_FAILPOINT=") + name + ": killing the process (test hook)");
    ::kill(::getpid(), SIGKILL);
  }
}

StoreTokenProvider::StoreTokenProvider(sdk::TokenStore& store, const OAuthSettings* oauth)
    : store_(store) {
  if (oauth) {
    oauth_ = *oauth;
    if (store_.writable()) client_ = std::make_unique<OAuthClient>(*oauth);
  }
}

StoreTokenProvider::~StoreTokenProvider() = default;

bool StoreTokenProvider::canRefresh() const { return client_ != nullptr; }

void StoreTokenProvider::prepare() {
  if (!canRefresh()) return;
  // A refresh without the client secret would fail after the "refresh started" mark: say so
  // before anything (the manifest defers this error to the commands that send token requests).
  if (!oauth_->client_secret_problem.empty()) {
    throw Error(ErrorKind::Config, oauth_->client_secret_problem);
  }
  try {
    store_.checkWritable();
  } catch (const sdk::UnavailableError& e) {
    throw Error(ErrorKind::Unavailable, "token store " + store_.describe() +
                                          " is unreachable, so no refresh could be saved: " +
                                          e.what());
  } catch (const sdk::ConfigError& e) {
    // The store's own words say what is wrong (a damaged, unsafe or unwritable token file, a
    // missing table...).
    throw Error(ErrorKind::Config, e.what());
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Config, "token store " + store_.describe() +
                                     " cannot be checked for a refresh (a refreshed token must be "
                                     "saved before it is used): " +
                                     e.what());
  }
}

const sdk::TokenSet& StoreTokenProvider::current() {
  if (!loaded_) {
    tokens_ = store_.load();
    loaded_ = true;
  }
  if (auto reason = loginNeededReason(tokens_, store_, canRefresh())) {
    throw sdk::LoginNeededError(*reason);
  }
  return *tokens_;
}

bool StoreTokenProvider::needsRefresh(const sdk::TokenSet& tokens) const {
  if (!canRefresh()) return false;
  if (tokens.access_token.empty()) return true;  // only a refresh token is stored
  if (tokens.refresh_started_at) return true;  // interrupted: its outcome must be known now
  if (!tokens.expires_at) return false;
  return *tokens.expires_at - nowSeconds() <=
         effectiveRefreshMargin(tokens, oauth_->refresh_margin).count();
}

std::string StoreTokenProvider::accessToken() {
  std::lock_guard lock(mutex_);
  const sdk::TokenSet& tokens = current();
  if (needsRefresh(tokens)) {
    refreshLocked(Reason::Expiring, tokens.access_token);
  }
  return current().access_token;
}

bool StoreTokenProvider::refreshAfterUnauthorized(const std::string& rejected_token) {
  std::lock_guard lock(mutex_);
  if (tokens_ && tokens_->access_token != rejected_token) return true;  // refreshed meanwhile
  if (!store_.writable()) return false;
  if (unsaved_) return false;  // the stored refresh token is spent; ours is in memory only
  if (!canRefresh()) {
    // No [oauth]: nothing to refresh with; another process may have stored a new token.
    tokens_ = store_.load();
    loaded_ = true;
    return tokens_ && !tokens_->access_token.empty() && tokens_->access_token != rejected_token;
  }
  if (accepted_.count(rejected_token) != 0) return false;  // it works elsewhere: a scope
  if (refreshed_after_401_) {
    Poco::Logger::get("oura.auth").information(
        "a 401 after this run already refreshed once: not refreshing again (a scope not "
        "granted, not an expired token)");
    return false;
  }
  refreshed_after_401_ = true;
  return refreshLocked(Reason::Unauthorized, rejected_token);
}

void StoreTokenProvider::accepted(const std::string& token) {
  std::lock_guard lock(mutex_);
  if (accepted_.size() < 16) accepted_.insert(token);  // a run holds one or two tokens
}

bool StoreTokenProvider::acceptedBefore(const std::string& token) {
  std::lock_guard lock(mutex_);
  return accepted_.count(token) != 0;
}

sdk::TokenSet StoreTokenProvider::forceRefresh() {
  std::lock_guard lock(mutex_);
  if (!canRefresh()) {
    throw Error(ErrorKind::Config,
                    store_.writable()
                        ? "cannot refresh: the manifest has no [oauth] table (client_id, token_url)"
                        : "cannot refresh: token store " + store_.describe() +
                              " is read-only; provide a new token there");
  }
  current();
  refreshLocked(Reason::Forced, "");
  if (unsaved_) throw *unsaved_;
  return *tokens_;
}

std::optional<Error> StoreTokenProvider::unsavedRefresh() {
  std::lock_guard lock(mutex_);
  return unsaved_;
}

bool StoreTokenProvider::refreshLocked(Reason reason, const std::string& rejected_token) {
  if (failed_) {
    if (failed_login_needed_) throw sdk::LoginNeededError(failed_->what());
    throw *failed_;
  }
  // A refreshed pair that could not be saved: the stored refresh token is spent, the new one is
  // held here only. No second refresh (it would send the spent token); the access token in
  // memory is used as long as it lasts.
  if (unsaved_ && reason != Reason::Forced) return false;
  const std::string store = store_.describe();

  // 2. The store's cross-process lock.
  std::unique_ptr<sdk::TokenLock> held;
  try {
    held = store_.lock(oauth_->lock_timeout);
  } catch (const sdk::TokenLockTimeout& e) {
    throw Error(ErrorKind::Interrupted, "token store " + store + ": another process is refreshing "
                                      "and kept the lock for " +
                                          std::to_string(oauth_->lock_timeout.count()) +
                                          " s (oauth.lock_timeout_seconds): " + e.what() +
                                          "; try again");
  } catch (const sdk::UnavailableError& e) {
    throw Error(ErrorKind::Unavailable, "token store " + store + ": cannot take the refresh lock: " +
                                          e.what());
  }
  failpoint("after-lock");

  // 3. Re-read under the lock.
  std::optional<sdk::TokenSet> stored = store_.load();
  if (!stored || (stored->access_token.empty() && stored->refresh_token.empty())) {
    throw sdk::LoginNeededError("no tokens in " + store +
                                " any more. Log in with `oura-collector auth login`.");
  }
  if (stored->refresh_rejected_at) {
    // Another process's refresh was rejected meanwhile (or this one's, marked before): the
    // refresh token is never sent again.
    tokens_ = *stored;
    throw sdk::LoginNeededError(rejectedMessage(*stored, store));
  }
  const bool others = !tokens_ || stored->generation != tokens_->generation ||
                      !sameTokens(*stored, *tokens_);
  if (reason != Reason::Forced && !stored->refresh_started_at) {
    const bool usable = !stored->access_token.empty() &&
                        (reason == Reason::Expiring ? !needsRefresh(*stored)
                                                    : stored->access_token != rejected_token);
    if (usable && (others || reason == Reason::Expiring)) {
      authLog().information("token store " + store + ": another process refreshed the token "
                            "(generation " + std::to_string(stored->generation) + "); using it");
      tokens_ = *stored;
      return true;
    }
  }
  if (stored->refresh_token.empty()) {
    throw sdk::LoginNeededError("the tokens in " + store + " have no refresh token, so the "
                                "expired access token cannot be renewed. Log in again with "
                                "`oura-collector auth login`.");
  }
  const sdk::TokenSet before = *stored;
  const std::optional<std::int64_t> interrupted = before.refresh_started_at;
  if (interrupted) {
    authLog().warning("token store " + store + ": the refresh started at " +
                      formatTime(*interrupted) +
                      " was interrupted before its result was saved; trying the stored refresh "
                      "token");
  }

  // 4. The mark. From here to step 6 the stop flag is not consulted.
  sdk::TokenSet marked = before;
  marked.refresh_started_at = nowSeconds();
  marked.generation = before.generation + 1;
  if (!store_.save(marked, before.generation)) {
    throw Error(ErrorKind::Interrupted, "token store " + store + " changed while its refresh lock "
                                      "was held (generation " +
                                          std::to_string(before.generation) +
                                          " is no longer current); nothing was refreshed; try "
                                          "again");
  }
  failpoint("after-mark");

  // 5. The refresh grant.
  TokenResponse response;
  try {
    response = client_->refresh(before.refresh_token, before.token_url);
  } catch (const OAuthError& e) {
    // The stored tokens stay as they were. The mark is taken back unless the request may have
    // been acted on (no answer twice): then the next run learns the outcome from its refresh.
    // On invalid_grant the tokens are saved once more with the rejection marked, so that no
    // later run sends the spent refresh token again.
    const bool rejected = e.kind() == OAuthError::Kind::LoginNeeded;
    if (e.kind() != OAuthError::Kind::OutcomeUnknown) {
      sdk::TokenSet restored = before;  // an earlier interrupted mark is kept for diagnosis
      restored.generation = marked.generation + 1;
      if (rejected) restored.refresh_rejected_at = nowSeconds();
      const std::string what = rejected ? "the rejection of the refresh token could not be recorded"
                                        : "the refresh mark could not be taken back";
      try {
        if (!store_.save(restored, marked.generation)) {
          authLog().error("token store " + store + ": " + what +
                          " (the store changed under the lock)");
        }
      } catch (const std::exception& save_error) {
        authLog().error("token store " + store + ": " + what + ": " + save_error.what());
      }
    }
    if (e.kind() == OAuthError::Kind::LoginNeeded) {
      std::string message = "the refresh token in " + store + " was rejected (" + e.what() + ")";
      if (interrupted) {
        message += "; the refresh started at " + formatTime(*interrupted) +
                   " was interrupted (the process stopped after sending it, before saving the "
                   "new tokens), so the stored refresh token had already been spent";
      }
      message += "; log in again with `oura-collector auth login` (the stored tokens were kept "
                 "for diagnosis)";
      failed_ = Error(ErrorKind::LoginNeeded, message);
      failed_login_needed_ = true;
      throw sdk::LoginNeededError(message);
    }
    std::string message = e.what();
    if (e.kind() == OAuthError::Kind::OutcomeUnknown) {
      message += ". The refresh mark stays in " + store +
                 "; the next run tries the stored refresh token and says whether it was spent";
    }
    failed_ = Error(e.Error::kind(), message);
    throw *failed_;
  }
  failpoint("after-response");

  // The answer's tokens are checked before anything is saved. A refresh token that cannot be
  // one: nothing is saved and the mark stays (the stored refresh token may have been spent).
  if (response.refresh_token && !validRefreshToken(*response.refresh_token)) {
    failed_ = Error(
        ErrorKind::Unavailable,
        "the token endpoint answered the refresh grant with a refresh token that has characters "
        "a refresh token cannot have (RFC 6749: printable ASCII only); nothing was saved. The "
        "refresh mark stays in " + store + " (the stored refresh token may have been spent): the "
        "next run tries it and says whether a new login is needed");
    throw *failed_;
  }
  // An access token that cannot be sent as a bearer token: the (good) refresh token is saved
  // without it, so that the next run refreshes.
  const bool access_ok = validBearerToken(response.access_token);

  // 6. Persist the new pair before its access token is used.
  sdk::TokenSet fresh;
  if (access_ok) fresh.access_token = response.access_token;
  fresh.refresh_token = response.refresh_token.value_or(before.refresh_token);
  if (response.expires_in && access_ok) fresh.expires_at = nowSeconds() + *response.expires_in;
  fresh.scopes = response.scopes.value_or(before.scopes);
  fresh.generation = marked.generation + 1;
  fresh.refreshed_at = nowSeconds();
  fresh.refresh_started_at.reset();
  fresh.token_url = response.token_url;
  const SaveOutcome outcome =
      saveTokens(store_, fresh, marked.generation, oauth_->save_retry, "the refreshed tokens");
  if (!outcome.saved) {
    // The worst case: Oura has rotated the refresh token and the new one is in this process
    // only. It is not written anywhere else (no secret on disk or in logs outside the store);
    // this run goes on with the new access token, and every command ends non-zero saying so.
    std::string message = "the refreshed tokens could not be saved in token store " + store;
    if (outcome.lost) {
      message += ": " + outcome.problem +
                 " while this process held the refresh lock; that writer's tokens were left in "
                 "place. The refresh token Oura just issued is held only by this process and is "
                 "lost when it ends: run again, and if it says a login is needed, run "
                 "`oura-collector auth login`";
    } else {
      message += " (tried for " + std::to_string(oauth_->save_retry.count()) +
                 " s, oauth.save_retry_seconds): " + outcome.problem +
                 ". The refresh token Oura just issued is held only by this process and is lost "
                 "when it ends, so a login will be needed: run `oura-collector auth login` once "
                 "the store works again";
    }
    authLog().error("REFRESHED TOKENS NOT SAVED: " + message);
    unsaved_ = Error(outcome.failure, message);
  }
  failpoint("after-save");
  held.reset();  // release the lock
  tokens_ = fresh;
  if (!access_ok) {
    std::string message =
        "the token endpoint answered the refresh grant with an access token that has "
        "characters a bearer token cannot have (RFC 6750: letters, digits and -._~+/=), so it "
        "was not used";
    message += unsaved_ ? "; " + std::string(unsaved_->what())
                        : "; the new refresh token was saved in " + store +
                              " without it: the next run refreshes";
    failed_ = Error(unsaved_ ? unsaved_->kind() : ErrorKind::Unavailable, message);
    throw *failed_;
  }
  authLog().information("token store " + store + ": access token refreshed (generation " +
                        std::to_string(fresh.generation) + ")");
  return true;
}

std::vector<std::string> StoreTokenProvider::scopes() {
  std::lock_guard lock(mutex_);
  return current().scopes;
}

bool StoreTokenProvider::allows(const std::string& scope) {
  std::vector<std::string> granted = scopes();
  if (granted.empty() || scope.empty()) return true;
  return scopeGranted(granted, scope);
}

}  // namespace oura::core
