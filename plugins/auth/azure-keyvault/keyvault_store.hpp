#pragma once
// Token-store plugin `azure-keyvault`: the tokens of one account as one JSON secret value in
// Azure Key Vault (secrets REST API 7.4), with a lock provider for the refresh lock.
// See README.md.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <oura_sdk/token_store.hpp>
#include <string>

#include "azure_credential.hpp"
#include "azure_http.hpp"
#include "locks.hpp"
#include "token_json.hpp"  // plugins/common/tokens: the secret value (TokenForm::Secret)

namespace oura::plugins::azure_keyvault {

using tokens::StoredTokens;

/// Key Vault token store. `load()` is a GET of the latest version; `save()` re-reads the
/// generation (compare-and-set as far as Key Vault allows), PUTs a new version and reads it
/// back; `clear()` deletes the secret (soft delete). One instance is used from one thread at a
/// time (the core's refresh is single-flight).
class KeyVaultTokenStore : public sdk::TokenStore {
 public:
  static sdk::ConfigSchema configSchema();
  explicit KeyVaultTokenStore(const sdk::PluginContext& context);
  ~KeyVaultTokenStore() override;

  std::string describe() const override;
  std::optional<sdk::TokenSet> load() override;
  bool writable() const override { return true; }
  void checkWritable() override;
  std::unique_ptr<sdk::TokenLock> lock(std::chrono::milliseconds timeout) override;
  bool save(const sdk::TokenSet& tokens, std::int64_t expected_generation) override;
  void clear() override;

  /// Tests: replaces the wait between retries (default: sleep_for), to record the waits.
  void setSleepForTesting(std::function<void(std::chrono::milliseconds)> sleep);
  /// Tests: how many access tokens were requested from the identity provider.
  int tokenRequestsForTesting() const { return credential_->requests(); }

 private:
  /// One vault call: bearer token, one re-acquisition on 401, 403 as a configuration error,
  /// bounded backoff on 429/5xx (and on transport errors when `idempotent`).
  Response vault(const std::string& method, const std::string& path,
                 const std::string& body = "", bool idempotent = true);
  /// The latest version's parsed value, or nothing (404 SecretNotFound).
  std::optional<StoredTokens> readCurrent(std::string* raw_value = nullptr);
  std::string secretPath() const;
  std::string where() const;
  [[noreturn]] void fail(const std::string& action, const Response& r) const;
  std::string redact(std::string text) const;

  sdk::Logger log_;
  std::string secret_name_;
  Endpoint vault_;
  bool purge_on_clear_ = false;
  std::function<void(std::chrono::milliseconds)> sleep_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<Backoff> backoff_;
  std::unique_ptr<VaultCredential> credential_;
  std::unique_ptr<LockProvider> lock_;
  std::vector<std::string> secrets_in_flight_;  ///< token strings of the current save (redacted)
};

}  // namespace oura::plugins::azure_keyvault
