#pragma once
/// @file token_store.hpp
/// Token-store plugins: where the OAuth2 tokens of one account live.

#include <oura_sdk/plugin.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace oura::sdk {

/// The OAuth2 tokens of one account. Never log or print any field but `scopes`, `expires_at`
/// and `generation`.
struct TokenSet {
  std::string access_token;
  std::string refresh_token;               ///< empty when the store holds none (env store)
  std::optional<std::int64_t> expires_at;  ///< access token expiry, seconds since the Unix epoch
  std::vector<std::string> scopes;         ///< granted scopes, when known (token response `scope`)
  std::int64_t generation = 0;             ///< incremented on every save (compare-and-set)
};

/// Base class of token stores.
class TokenStore : public Plugin {
 public:
  ~TokenStore() override;

  /// A human description of where tokens live, without secrets,
  /// e.g. "environment variable OURA_ACCESS_TOKEN".
  virtual std::string describe() const = 0;

  /// Reads the current tokens, or nothing when the store holds none.
  /// @throws Error when the store exists but cannot be read.
  virtual std::optional<TokenSet> load() = 0;

  /// False for read-only stores (env): the core then never refreshes, and a 401 means
  /// "provide a new token".
  virtual bool writable() const = 0;

  /// Persists `tokens` durably if the stored generation still equals `expected_generation`;
  /// `tokens.generation` must be `expected_generation + 1`.
  /// @return false when another writer got there first (the caller re-reads).
  /// @throws Error when the store is read-only or the write fails; the stored tokens are then
  ///   unchanged.
  virtual bool save(const TokenSet& tokens, std::int64_t expected_generation);
};

}  // namespace oura::sdk
