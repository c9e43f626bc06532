#pragma once
// What every plugin that connects to PostgreSQL shares besides the connection itself
// (pg_connection.hpp): the connection config keys with their OURA_DB_* environment overrides,
// reading and checking them, and session advisory locks (the key of a name, who holds one).

#include <cstdint>
#include <optional>
#include <oura_sdk/config.hpp>
#include <string>

#include "pg_connection.hpp"

namespace oura::plugins::postgres {

/// The connection keys, in this order: host (OURA_DB_HOST), port (OURA_DB_PORT), dbname
/// (OURA_DB_NAME), user (OURA_DB_USER), password (a Secret, OURA_DB_PASSWORD), sslmode,
/// sslrootcert, connect_timeout (seconds), application_name. A plugin appends its own keys.
sdk::ConfigSchema connectionConfigKeys();

/// The settings from a configuration validated against `connectionConfigKeys()` (plus the
/// plugin's own keys). Touches no network.
/// @throws sdk::ConfigError naming the key: empty host/dbname/user, port outside 1..65535,
///   an unknown sslmode, an empty sslrootcert, connect_timeout outside 0..3600.
ConnectionSettings connectionSettingsFrom(const sdk::PluginConfig& config);

/// The key of a session advisory lock for `name`: FNV-1a 64 of the bytes of `name`, as a
/// signed bigint (stable across builds and platforms).
std::int64_t advisoryLockKey(const std::string& name);

/// The session that holds the advisory lock `key` (bigint form) in the current database.
struct LockHolder {
  int pid = 0;                   ///< the server process id of the holding session
  std::string application_name;  ///< its application_name, may be empty
  std::string client_addr;       ///< its client address, empty for a Unix socket
  std::string backend_start;     ///< when it connected ("YYYY-MM-DD HH24:MI:SS TZ")
  /// "PostgreSQL session pid 123, application oura-collector, from 10.0.0.1, connected since
  /// ..." (the parts that are known).
  std::string describe() const;
};

/// Who holds the advisory lock `key`, or nothing when nobody does (released meanwhile).
/// @throws PgError.
std::optional<LockHolder> advisoryLockHolder(Connection& connection, std::int64_t key);

/// A two-part advisory lock key, as taken by pg_try_advisory_lock(int, int): a key space of its
/// own, apart from the bigint keys (so no account name can make it collide with a run lock).
struct AdvisoryKeyPair {
  std::int32_t space = 0;  ///< what the lock is for (one constant per kind of lock)
  std::int32_t id = 0;     ///< which one (e.g. a hash of the account)
};

/// The key of the token-refresh lock of `account`, shared by every token store whose refresh
/// lock is a PostgreSQL advisory lock (the postgres store, the azure-keyvault store's lock
/// provider): space 0x4F415554 ("OAUT"), id = the low 32 bits of FNV-1a 64 of the account.
AdvisoryKeyPair tokenRefreshLockKey(const std::string& account);

/// Who holds the two-part advisory lock `key`, or nothing. @throws PgError.
std::optional<LockHolder> advisoryLockHolder(Connection& connection, AdvisoryKeyPair key);

}  // namespace oura::plugins::postgres
