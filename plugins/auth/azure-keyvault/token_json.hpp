#pragma once
// The secret's value: one JSON object holding the TokenSet, its generation and the id of the
// save that wrote it (for the read-after-write check). Poco::JSON both ways.

#include <oura_sdk/token_store.hpp>

#include <string>

namespace oura::plugins::azure_keyvault {

/// The stored form of a secret value.
struct StoredTokens {
  sdk::TokenSet tokens;  ///< tokens.generation is the stored generation
  std::string write_id;  ///< random per save
};

/// {"format":"oura-collector-tokens/1","generation":N,"write_id":"...","access_token":...,
///  "refresh_token":...,"expires_at":...,"scopes":[...],"refreshed_at":...,
///  "refresh_started_at":...} (absent optionals are omitted).
std::string toSecretValue(const sdk::TokenSet& tokens, const std::string& write_id);

/// Parses a secret value. @throws sdk::Error "... does not hold oura-collector tokens ..."
/// naming `where` (never the value).
StoredTokens fromSecretValue(const std::string& value, const std::string& where);

}  // namespace oura::plugins::azure_keyvault
