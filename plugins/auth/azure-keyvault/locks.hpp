#pragma once
// Lock providers for the azure-keyvault store. Key Vault has no conditional write, so the
// cross-process refresh lock lives elsewhere: a PostgreSQL session advisory lock (default; any
// number of hosts that reach one database) or an flock on a file (one host only).

#include <oura_sdk/logger.hpp>
#include <oura_sdk/token_store.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "pg_connection.hpp"

namespace oura::plugins::azure_keyvault {

/// Takes the refresh lock.
class LockProvider {
 public:
  virtual ~LockProvider();
  /// @throws sdk::TokenLockTimeout naming the holder; sdk::UnavailableError when the lock's
  ///   database cannot be reached; sdk::Error when the lock file cannot be opened.
  virtual std::unique_ptr<sdk::TokenLock> acquire(std::chrono::milliseconds timeout) = 0;
  /// e.g. "PostgreSQL advisory lock 123 on db:5432/oura" or "flock on /var/lib/oura/kv.lock".
  virtual std::string describe() const = 0;
};

/// An exclusive flock(2) on `path` (created 0600 when missing); the holder's pid is written into
/// the file and named in the timeout message.
std::unique_ptr<LockProvider> makeFileLock(const std::string& path);

/// A PostgreSQL session advisory lock on `lock_name`'s key (FNV-1a 64), held by a connection of
/// its own until released; the timeout message names the holding session (its application_name
/// carries the holder's process id).
std::unique_ptr<LockProvider> makePostgresLock(postgres::ConnectionSettings settings,
                                               const std::string& lock_name,
                                               const sdk::Logger& logger);

}  // namespace oura::plugins::azure_keyvault
