#pragma once
/// @file token_store.hpp
/// Token-store plugins: where the OAuth2 tokens of one account live, and the cross-process lock
/// that makes a refresh happen once.
///
/// The core runs the refresh protocol (DESIGN.md "OAuth2 and token stores"); a store only
/// loads, saves with a compare-and-set on `TokenSet::generation`, locks and clears:
///   1. `checkWritable()` before any refresh: a token that cannot be saved is never rotated.
///   2. `lock(timeout)`: the store's cross-process refresh lock.
///   3. `load()` under the lock: when another process refreshed meanwhile, its tokens are used.
///   4. `save()` of the same tokens with `refresh_started_at` set (the "refresh started" mark).
///   5. the refresh grant (the core's OAuth2 client).
///   6. `save()` of the new pair with the mark cleared, before the new access token is used;
///      then the lock is released by destroying the `TokenLock`.
///   On `invalid_grant` instead: `save()` of the old tokens with `refresh_rejected_at` set (the
///   "refresh token rejected" mark), so that no later run sends that refresh token again.
/// A store never deletes or overwrites tokens on its own, and never logs a token.

#include <oura_sdk/errors.hpp>
#include <oura_sdk/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace oura::sdk {

/// The OAuth2 tokens of one account (RFC 6749 section 5.1 token response, as stored).
/// Never log or print `access_token` or `refresh_token`.
struct TokenSet {
  std::string access_token;
  std::string refresh_token;               ///< empty when the store holds none (env store)
  std::optional<std::int64_t> expires_at;  ///< access token expiry, seconds since the Unix epoch
  std::vector<std::string> scopes;         ///< granted scopes, when known (token response `scope`)
  std::int64_t generation = 0;             ///< incremented on every save (compare-and-set)
  /// When the last refresh (or the login) that produced these tokens finished, seconds since
  /// the Unix epoch.
  std::optional<std::int64_t> refreshed_at;
  /// Set while a refresh is in progress (seconds since the Unix epoch when it started); a value
  /// found by the next process means the refresh was interrupted and the refresh token may
  /// already have been spent.
  std::optional<std::int64_t> refresh_started_at;
  /// Set when the token endpoint rejected `refresh_token` (`invalid_grant`): seconds since the
  /// Unix epoch of the rejection. The tokens are kept for diagnosis, and the core sends that
  /// refresh token never again: a run finding the mark exits 77 ("login needed") without a
  /// request. `auth login` stores a new set without it. A store persists it like the other
  /// fields.
  std::optional<std::int64_t> refresh_rejected_at;
  /// The token endpoint that issued these tokens, when it is not the configured one: the URL
  /// of applications made in Oura's new developer portal, found by `auth login`'s fallback, so
  /// that refreshes go straight there. Empty: the configured oauth.token_url. Stores that can
  /// persist it do (the JSON token formats); others leave it empty and the fallback runs again.
  std::string token_url;
};

/// The store's cross-process refresh lock; released when destroyed.
class TokenLock {
 public:
  TokenLock();
  TokenLock(const TokenLock&) = delete;
  TokenLock& operator=(const TokenLock&) = delete;
  virtual ~TokenLock();
};

/// The lock could not be taken within the timeout. `what()` names the holder when the store can
/// tell (a process id, a database backend); the program exits 75 ("try again").
class TokenLockTimeout : public Error {
 public:
  explicit TokenLockTimeout(const std::string& message);
  ~TokenLockTimeout() override;
};

/// Base class of token stores.
class TokenStore : public Plugin {
 public:
  ~TokenStore() override;

  /// A human description of where tokens live, without secrets,
  /// e.g. "environment variable OURA_ACCESS_TOKEN" or "file /var/lib/oura/tokens.json".
  virtual std::string describe() const = 0;

  /// Reads the current tokens, or nothing when the store holds none.
  /// @throws Error when the store exists but cannot be read (unreadable, malformed, unsafe
  ///   permissions, unreachable); the message names the store and never carries a token.
  virtual std::optional<TokenSet> load() = 0;

  /// False for read-only stores (env): the core then never refreshes, and a 401 means
  /// "provide a new token".
  virtual bool writable() const = 0;

  /// Checks, without changing anything stored, that `save()` can succeed now (the folder is
  /// writable, the table exists and is granted, the vault answers with write permission).
  /// Default: nothing to check.
  /// @throws Error saying why not; the core then refuses to refresh.
  virtual void checkWritable();

  /// Takes the cross-process refresh lock, waiting at most `timeout`.
  /// Default (read-only stores): a lock that guards nothing.
  /// @throws TokenLockTimeout when another holder keeps it longer; Error when it cannot be taken.
  virtual std::unique_ptr<TokenLock> lock(std::chrono::milliseconds timeout);

  /// Persists `tokens` durably if the stored generation still equals `expected_generation`
  /// (0 when the store holds none); `tokens.generation` must be `expected_generation + 1`.
  /// Returns only after the write is durable (fsync, commit, read-after-write).
  /// @return false when another writer got there first (the caller re-reads).
  /// @throws Error when the store is read-only or the write fails; the stored tokens are then
  ///   unchanged or exactly `tokens` (never a mix, never lost).
  virtual bool save(const TokenSet& tokens, std::int64_t expected_generation);

  /// Removes the stored tokens (`auth logout`). Default: throws for read-only stores.
  /// @throws Error when the store is read-only or the removal fails.
  virtual void clear();
};

}  // namespace oura::sdk
