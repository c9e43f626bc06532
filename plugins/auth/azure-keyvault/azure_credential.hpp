#pragma once
// Access tokens for Key Vault (the resource https://vault.azure.net): client credentials with a
// client secret, managed identity (IMDS) or workload identity (a federated token file re-read
// on every token request). The token is cached until near its expiry.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "azure_http.hpp"

namespace oura::plugins::azure_keyvault {

enum class CredentialKind { ClientSecret, ManagedIdentity, WorkloadIdentity };

/// What the credential needs (validated by the store's constructor).
struct CredentialSettings {
  CredentialKind kind = CredentialKind::ManagedIdentity;
  std::string resource = "https://vault.azure.net";  ///< audience; scope = resource + "/.default"
  std::string tenant_id;             ///< client_secret, workload_identity
  std::string client_id;             ///< required except for a system-assigned managed identity
  std::string client_secret;         ///< client_secret (never logged)
  std::string federated_token_file;  ///< workload_identity
  Endpoint authority;                ///< client_secret, workload_identity
  Endpoint imds;                     ///< managed_identity
};

/// "client_secret", "managed_identity", "workload_identity".
const char* toString(CredentialKind kind) noexcept;

/// Acquires and caches vault access tokens.
class VaultCredential {
 public:
  /// `sleep` waits between retries (tests record instead).
  VaultCredential(CredentialSettings settings, HttpClient& http, Backoff& backoff,
                  std::function<void(std::chrono::milliseconds)>& sleep);

  /// A valid access token: the cached one while it is valid for more than the margin
  /// (5 minutes), else a new one.
  /// @throws sdk::ConfigError when the identity provider refuses the credential (78);
  ///   sdk::UnavailableError when it cannot be reached after retries (69); sdk::Error else.
  std::string token();
  /// Forgets the cached token (the vault answered 401).
  void invalidate();
  /// Token requests made so far (tests).
  int requests() const { return requests_; }
  /// e.g. "client credentials of client_id X in tenant T".
  std::string describe() const;

 private:
  Response requestOnce();
  std::string where() const;

  CredentialSettings settings_;
  HttpClient& http_;
  Backoff& backoff_;
  std::function<void(std::chrono::milliseconds)>& sleep_;
  std::mutex mutex_;
  std::string cached_;
  std::chrono::steady_clock::time_point cached_until_{};
  int requests_ = 0;
};

}  // namespace oura::plugins::azure_keyvault
