#pragma once
#include <memory>
#include <mutex>
#include <oura_sdk/token_store.hpp>
#include <string>

#include "pg_connection.hpp"
#include "pg_settings.hpp"

namespace oura::plugins::postgres {

/// Token store `postgres`: the tokens of one account in a row of oura_auth.tokens (created by
/// `init-db`, migration 002_token_store.sql); the compare-and-set is
/// `UPDATE ... WHERE account = $1 AND generation = $old`, committed before save() returns; the
/// refresh lock is a session advisory lock on a connection of its own. See README.md.
class PostgresTokenStore : public sdk::TokenStore {
 public:
  static sdk::ConfigSchema configSchema();
  /// Validates the configuration; connects to nothing. @throws sdk::ConfigError.
  explicit PostgresTokenStore(const sdk::PluginContext& context);
  ~PostgresTokenStore() override;

  std::string describe() const override;
  /// @throws sdk::UnavailableError (the database cannot be reached: exit 69),
  ///   sdk::ConfigError (no table: "run init-db"; no privilege), sdk::Error.
  std::optional<sdk::TokenSet> load() override;
  bool writable() const override { return true; }
  /// The database answers, is not a read-only standby, the table exists and this role may
  /// SELECT, INSERT, UPDATE and DELETE on it. @throws sdk::UnavailableError, sdk::ConfigError.
  void checkWritable() override;
  /// pg_try_advisory_lock polled until `timeout` on a dedicated connection.
  /// @throws sdk::TokenLockTimeout naming the holding session (its pid, application name,
  ///   which carries the holding process's pid, client address), sdk::UnavailableError.
  std::unique_ptr<sdk::TokenLock> lock(std::chrono::milliseconds timeout) override;
  bool save(const sdk::TokenSet& tokens, std::int64_t expected_generation) override;
  void clear() override;

 private:
  Connection& connection();
  bool writeOnce(const sdk::TokenSet& tokens, std::int64_t expected_generation);
  std::optional<sdk::TokenSet> readRow();
  [[noreturn]] void rethrow(const std::string& what, const PgError& e) const;

  ConnectionSettings settings_;
  std::string account_;
  sdk::Logger logger_;
  std::mutex mutex_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace oura::plugins::postgres
