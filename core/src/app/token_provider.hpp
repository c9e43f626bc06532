#pragma once
// The HTTP layer's source of bearer tokens, over the configured token-store plugin.

#include "http/api_client.hpp"

#include <oura_sdk/token_store.hpp>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace oura::core {

class StoreTokenProvider : public TokenProvider {
 public:
  explicit StoreTokenProvider(sdk::TokenStore& store);

  // Throws sdk::LoginNeededError (exit 77) with a sentence saying how to provide a token.
  std::string accessToken() override;

  // Read-only stores cannot refresh: false. Writable stores: re-reads the store (another process
  // may have refreshed) and answers true when it now holds another token. (The refresh grant
  // itself comes with the OAuth2 token stores.)
  bool refreshAfterUnauthorized(const std::string& rejected_token) override;

  // The granted scopes when the store knows them; empty when unknown.
  std::vector<std::string> scopes();

  // True when `scope` is granted, or when the granted scopes are unknown. Accepts Oura's newer
  // "extapi:<scope>" spelling.
  bool allows(const std::string& scope);

 private:
  const sdk::TokenSet& current();
  sdk::TokenStore& store_;
  std::mutex mutex_;
  std::optional<sdk::TokenSet> tokens_;
  bool loaded_ = false;
};

}  // namespace oura::core
