#pragma once
// Helpers of the token-store tests (defined in token_store_support.cpp; the conformance suite,
// token_store_conformance.hpp, includes this header): loading a store through the plugin loader,
// token sets, another process that holds a store's lock, and the set-up every test of a store
// that uses PostgreSQL repeats (the test server's environment, a database of its own with the
// migrations applied, the connection keys, a query).

#include <functional>
#include <memory>
#include <oura_sdk/sink.hpp>
#include <oura_sdk/token_store.hpp>
#include <string>
#include <vector>

namespace oura::core {
class PluginLoader;
}

namespace oura::test {

/// The plugin loader over $OURA_PLUGIN_DIR (the built plugins), one for the test program.
/// Throws std::runtime_error when the variable is unset.
core::PluginLoader& builtPluginLoader();

/// Loads the token-store plugin `plugin` from $OURA_PLUGIN_DIR through the program's plugin
/// loader, validates `config_toml` (the body of [token_store.config]) against its schema as the
/// core does (defaults, environment overrides, secret references), and creates an instance
/// named "token". Throws sdk::ConfigError like the program would.
std::shared_ptr<sdk::TokenStore> loadTokenStore(const std::string& plugin,
                                                const std::string& config_toml);

/// A TokenSet with every field set (tokens look like the fake's: "fake-at-..." / "fake-rt-...").
sdk::TokenSet fullTokenSet(std::int64_t generation, const std::string& tag);

/// Field-by-field equality with a readable failure.
void expectSameTokens(const sdk::TokenSet& want, const sdk::TokenSet& have);

// --- PostgreSQL ------------------------------------------------------------------------------
// The test command starts a PostgreSQL cluster (`.ci/pg-cluster start DIR && source DIR/env`)
// and passes PGHOST, PGPORT, PGUSER and PGDATABASE; a test that needs it fails without it,
// never skips.

/// The value of environment variable `name`. Throws std::runtime_error saying how to provide
/// it (through ctest, with the test PostgreSQL's env file sourced) when it is unset or empty.
std::string requireEnv(const char* name);

/// `prefix` followed by ten random lower-case letters (a database or role name).
std::string randomName(const std::string& prefix);

/// The connection keys of the postgres plugins for database `db` on the test server, as TOML
/// lines (host, port, user, dbname, sslmode = 'disable'), for [token_store.config] or a lock
/// provider's keys.
std::string testPostgresToml(const std::string& db);

/// Runs `sql` on database `db` of the test server as $PGUSER (or `user`); the rows, as text.
/// Throws std::runtime_error with libpq's message.
std::vector<std::vector<std::string>> testQuery(const std::string& db, const std::string& sql,
                                                const std::string& user = "");

/// The built postgres sink on database `db` of the test server (for migrate and purge, as
/// init-db and purge use it).
std::shared_ptr<sdk::SinkPlugin> postgresSinkOn(const std::string& db);

/// A database of its own on the test server for one test (named `prefix` + random letters),
/// dropped when destroyed (WITH (FORCE)). `migrated`: sql/ applied through the built postgres
/// sink's migrate(), as `init-db` does.
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& prefix = "oura_test_", bool migrated = true);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

/// Another process that holds a store's refresh lock: forked, creates its own instance with the
/// case's factory, takes the lock; `release()` destroys its lock (the process stays alive until
/// destroyed). Destroying it ends the process.
class LockHolderProcess {
 public:
  /// Forks and waits until the child holds the lock. Throws std::runtime_error with the child's
  /// error when it could not take it.
  explicit LockHolderProcess(const std::function<std::shared_ptr<sdk::TokenStore>()>& make);
  ~LockHolderProcess();
  LockHolderProcess(const LockHolderProcess&) = delete;
  LockHolderProcess& operator=(const LockHolderProcess&) = delete;
  int pid() const { return pid_; }
  /// The child destroys its lock and says so; it stays alive. Throws on a child failure.
  void release();

 private:
  int pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
};

}  // namespace oura::test
